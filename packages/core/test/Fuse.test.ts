/**
 * A terminal failure (a revoked key, a billing 429) blows the circuit breaker's fuse. The call whose own
 * failure blew it fails with that failure — which says what to do — and every later call fails fast with
 * `CircuitOpen` without sending anything.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { expect, it } from "@effect/vitest"
import { CircuitBreaker, Credentials, Gates, OpenAi, OpenAiConfig } from "@sluice/core"
import { Simulator } from "@sluice/simulator"
import { Effect, Layer, Redacted } from "effect"

const key = "sk-fuse-test-0123456789abcdef"

const client = (baseUrl: string, credentials: Layer.Layer<Credentials.Credentials> = Credentials.static(key)) =>
  OpenAi.layer.pipe(
    Layer.provide(OpenAiConfig.layer({ baseUrl, retry: { baseDelayMs: 1 } })),
    Layer.provide(credentials),
    Layer.provide(Gates.defaults)
  )

const ask = Effect.flatMap(OpenAi.OpenAi, (openai) =>
  Effect.flip(
    openai.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], max_tokens: 5 })
  )
)

it.live("a revoked key: AuthenticationFailed for the call that met it, CircuitOpen (nothing sent) after", () =>
  Effect.gen(function* () {
    const sim = yield* Simulator.start({ keys: [key], revoke: [{ key, afterRequests: 0 }] })
    const [first, second] = yield* Effect.provide(Effect.all([ask, ask]), client(sim.url))
    expect(first._tag).toBe("AuthenticationFailed")
    expect(second._tag).toBe("CircuitOpen")
    if (second._tag === "CircuitOpen")
      expect([second.reason, second.closesAtMs]).toEqual(["AuthenticationFailed", undefined])
    // the first call's one 401, no re-attempt after the fuse blew, nothing from the second call
    expect((yield* sim.stats).requests).toBe(1)
  })
)

it.live("a billing 429: QuotaExceeded for the call that met it, CircuitOpen after", () =>
  Effect.gen(function* () {
    const sim = yield* Simulator.start({ quotaUsd: 0 })
    const [first, second] = yield* Effect.provide(Effect.all([ask, ask]), client(sim.url))
    expect(first._tag).toBe("QuotaExceeded")
    expect(second._tag).toBe("CircuitOpen")
    expect((yield* sim.stats).quotaExceeded).toBe(1)
  })
)

it.live("the fuse is per key: after a 401 blew the old key's fuse, a key rotated into the file works", () =>
  Effect.gen(function* () {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sluice-fuse-"))
    const file = Path.join(dir, "key")
    const newKey = "sk-fuse-new-key-9876543210fedcba"
    Fs.writeFileSync(file, `${key}\n`)
    const sim = yield* Simulator.start({ keys: [key, newKey], revoke: [{ key, afterRequests: 0 }] })
    const [before, after] = yield* Effect.provide(
      Effect.gen(function* () {
        const before = yield* ask
        // rotate: write a sibling and rename it over the file (a reader never sees it empty)
        Fs.writeFileSync(`${file}.next`, `${newKey}\n`)
        Fs.renameSync(`${file}.next`, file)
        const openai = yield* OpenAi.OpenAi
        const after = yield* openai.chat.completions.create({
          model: "gpt-4o-mini",
          messages: [{ role: "user", content: "hi" }],
          max_tokens: 5
        })
        return [before, after] as const
      }),
      client(sim.url, Credentials.fromFile(file).pipe(Layer.provide(NodeFileSystem.layer)))
    )
    expect(before._tag).toBe("AuthenticationFailed")
    expect(after.status).toBe(200)
    Fs.rmSync(dir, { recursive: true, force: true })
  })
)

it("keyOfScope: the whole key fingerprint, not the 'sha256' before its colon", () => {
  expect(CircuitBreaker.keyOfScope("sha256:0123456789ab:gpt-4o-mini")).toBe("sha256:0123456789ab")
  expect(CircuitBreaker.keyOfScope("sha256:0123456789ab:ft:gpt-4o-mini:org::x")).toBe("sha256:0123456789ab")
  expect(CircuitBreaker.keyOfScope("team-a:gpt-4o")).toBe("team-a")
})

it.live(
  "calls admitted with the old key that get its 401, refresh to a new key and succeed (the old fuse is not theirs)",
  () =>
    Effect.gen(function* () {
      const newKey = "sk-fuse-refreshed-key-00000000001"
      const sim = yield* Simulator.start({ keys: [key, newKey], revoke: [{ key, afterRequests: 0 }] })
      // A secrets manager: the old key until a refresh fetches the new one.
      let current = key
      const rotating = Layer.succeed(Credentials.Credentials, {
        get: Effect.sync(() => Credentials.apiKey(Redacted.make(current))),
        refresh: Effect.sync(() => {
          current = newKey
        })
      })
      const responses = yield* Effect.provide(
        Effect.flatMap(OpenAi.OpenAi, (openai) =>
          Effect.all(
            Array.from({ length: 4 }, (_, i) =>
              openai.chat.completions.create({
                model: "gpt-4o-mini",
                messages: [{ role: "user", content: `hi ${i}` }],
                max_tokens: 5
              })
            ),
            { concurrency: 4 }
          )
        ),
        client(sim.url, rotating)
      )
      expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200])
      // at least one 401 blew the old key's fuse; every call still finished on the new key
      expect((yield* sim.stats).unauthorized).toBeGreaterThanOrEqual(1)
      expect((yield* sim.stats).successes).toBe(4)
    })
)
