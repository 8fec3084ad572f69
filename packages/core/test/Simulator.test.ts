/**
 * Behaviour against @sluice/simulator: error classification from its fault injection, retries and attempt
 * counts, timeouts by phase, the response size cap, credential rotation and the one-refresh-on-401 rule,
 * the streaming transport's abort, and plain-http refusal.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Credentials, OpenAi } from "@sluice/core"
import { Simulator, type Stats } from "@sluice/simulator"
import { Effect, Layer, Stream } from "effect"
import { client, httpServer } from "./support/servers.js"

const chat = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "hi" }], max_completion_tokens: 8 }

const withClient = <A, E>(
  baseUrl: string,
  effect: Effect.Effect<A, E, OpenAi.OpenAi>,
  options: Parameters<typeof client>[1] = {},
  credentials?: Parameters<typeof client>[2]
) => Effect.provide(effect, client(baseUrl, options, credentials))

const openai = OpenAi.OpenAi

/**
 * Polls the simulator's counters until `ready` holds (real time: the server sees a socket close on a later turn of
 * the event loop). The deadline only turns a hang into a failed assertion; nothing depends on how fast it arrives.
 */
const waitForStats = (sim: Simulator.Running, ready: (stats: Stats.Stats) => boolean) =>
  Effect.gen(function* () {
    const deadline = Date.now() + 10_000
    let stats = yield* sim.stats
    while (!ready(stats) && Date.now() < deadline) {
      yield* Effect.sleep("5 millis")
      stats = yield* sim.stats
    }
    return stats
  })

describe("against the simulator", () => {
  it.live("classifies injected faults: 500, 502 HTML, 429, reset, truncated JSON, retired model", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({
        script: [
          { request: 1, fault: "500" },
          { request: 2, fault: "502Html" },
          { request: 3, fault: "429" },
          { request: 4, fault: "reset" },
          { request: 5, fault: "truncatedJson" }
        ]
      })
      const errors = yield* withClient(
        sim.url,
        Effect.gen(function* () {
          const { chat: c } = yield* openai
          const out = []
          for (let i = 0; i < 5; i++) out.push(yield* Effect.flip(c.completions.create(chat)))
          return out
        })
      )
      expect(errors.map((e) => e._tag)).toEqual([
        "ServerError",
        "ServerError",
        "RateLimited",
        "ConnectionFailed",
        "ResponseDecodeFailed"
      ])
      expect(errors[1]!.message).toMatch(/^502 Bad Gateway: /)
      expect(errors[1]!.message).not.toContain("<")
      expect(errors.every((e) => e.retryable)).toBe(true)
      const retired = yield* withClient(
        sim.url,
        Effect.flip(Effect.flatMap(openai, (o) => o.chat.completions.create({ ...chat, model: "text-davinci-003" })))
      )
      expect(retired._tag).toBe("NotFound")
      if (retired._tag === "NotFound") expect(retired.code).toBe("model_not_found")
    })
  )

  it.live("retries a 500 then succeeds, reporting 2 attempts; the simulator saw 2 requests", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ script: [{ request: 1, fault: "500" }] })
      const response = yield* withClient(
        sim.url,
        Effect.flatMap(openai, (o) => o.chat.completions.create(chat)),
        { retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 } }
      )
      expect(response.attempts).toBe(2)
      expect(response.body.choices.length).toBe(1)
      expect((yield* sim.stats).requests).toBe(2)
    })
  )

  it.live("QuotaExceeded once the spend reaches the quota, not retried", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ quotaUsd: 0.000_000_1 })
      const error = yield* withClient(
        sim.url,
        Effect.gen(function* () {
          const o = yield* openai
          yield* o.chat.completions.create(chat)
          return yield* Effect.flip(o.chat.completions.create(chat))
        }),
        { retry: { maxAttempts: 5, baseDelayMs: 1 } }
      )
      expect(error._tag).toBe("QuotaExceeded")
      expect((yield* sim.stats).quotaExceeded).toBe(1)
    })
  )

  it.live("headers timeout on a hung request (the simulator sees the client go away)", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ faults: { rateHang: 1 } })
      const error = yield* withClient(sim.url, Effect.flip(Effect.flatMap(openai, (o) => o.models.list())), {
        headersTimeout: "200 millis"
      })
      expect(error._tag).toBe("Timeout")
      if (error._tag === "Timeout") expect([error.phase, error.afterMs]).toEqual(["headers", 200])
      // Not a fixed 100 ms sleep: after a longer pause of this process, its timer fires before the close is read.
      const stats = yield* waitForStats(sim, (s) => s.clientAborts > 0)
      expect(stats.clientAborts).toBe(1)
    })
  )

  it.live("total timeout when the body never finishes", () =>
    Effect.gen(function* () {
      const server = yield* httpServer((_, res) => {
        res.writeHead(200, { "content-type": "application/json" })
        res.write('{"object":"list",')
      })
      const error = yield* withClient(server.url, Effect.flip(Effect.flatMap(openai, (o) => o.models.list())), {
        totalTimeout: "300 millis"
      })
      expect(error._tag).toBe("Timeout")
      if (error._tag === "Timeout") expect(error.phase).toBe("total")
    })
  )

  it.live("response size cap: fails while reading", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const error = yield* withClient(sim.url, Effect.flip(Effect.flatMap(openai, (o) => o.models.list())), {
        maxResponseBytes: 64
      })
      expect(error._tag).toBe("ResponseDecodeFailed")
      expect(error.message).toMatch(/^response exceeds 64 bytes \(maxResponseBytes\)/)
      expect(error.retryable).toBe(false)
    })
  )

  it.live("plain http to a non-loopback host is refused before sending, naming the URL", () =>
    Effect.gen(function* () {
      const error = yield* withClient(
        "http://api.example.com/v1",
        Effect.flip(Effect.flatMap(openai, (o) => o.models.list()))
      )
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain("http://api.example.com")
      expect(error.message).toContain("allowInsecure: true (CLI: --allow-insecure)")
    })
  )

  it.live("fromFile: a rotated file is picked up by the next attempt; a 401 refreshes exactly once", () =>
    Effect.gen(function* () {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sluice-key-"))
      const file = Path.join(dir, "key")
      const oldKey = "sk-old-aaaaaaaaaaaaaaaa"
      const newKey = "sk-new-bbbbbbbbbbbbbbbb"
      Fs.writeFileSync(file, `${oldKey}\n`)
      const fixedTime = 1_700_000_000
      Fs.utimesSync(file, fixedTime, fixedTime)
      const sim = yield* Simulator.start({ keys: [oldKey, newKey], revoke: [{ key: oldKey, afterRequests: 1 }] })
      const layer = client(sim.url, {}, Credentials.fromFile(file).pipe(Layer.provide(NodeFileSystem.layer)))
      yield* Effect.gen(function* () {
        const o = yield* openai
        expect((yield* o.models.list()).attempts).toBe(1)
        // Revoked now; the file still holds the old key: one 401, one refresh (same key), one more 401.
        const denied = yield* Effect.flip(o.models.list())
        expect(denied._tag).toBe("AuthenticationFailed")
        expect((yield* sim.stats).unauthorized).toBe(2)
        // Rotate the file but keep size and mtime: only the refresh after the 401 can see the new key.
        Fs.writeFileSync(file, `${newKey}\n`)
        Fs.utimesSync(file, fixedTime, fixedTime)
        const rotated = yield* o.models.list()
        expect(rotated.attempts).toBe(2)
        expect((yield* sim.stats).unauthorized).toBe(3)
        // A plain rotation (mtime changes) is picked up without any 401.
        Fs.writeFileSync(file, `${oldKey}x\n`)
        const bad = yield* Effect.flip(o.models.list())
        expect(bad._tag).toBe("AuthenticationFailed")
      }).pipe(Effect.provide(layer))
    })
  )

  it.live("fromFile: a missing file is a typed error naming the path", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const error = yield* withClient(
        sim.url,
        Effect.flip(Effect.flatMap(openai, (o) => o.models.list())),
        {},
        Credentials.fromFile("/nonexistent/sluice/key").pipe(Layer.provide(NodeFileSystem.layer))
      )
      expect(error._tag).toBe("CredentialsUnavailable")
      expect(error.message).toContain("/nonexistent/sluice/key")
      expect((yield* sim.stats).requests).toBe(0)
    })
  )

  it.live("streamBytes: metadata first, SSE bytes with usage; closing the scope early aborts the request", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ latency: { perChunkMs: 20 } })
      yield* withClient(
        sim.url,
        Effect.gen(function* () {
          const o = yield* openai
          const full = yield* Effect.scoped(
            Effect.gen(function* () {
              const response = yield* o.chat.completions.streamBytes({ ...chat, max_completion_tokens: 5 })
              expect(response.status).toBe(200)
              expect(response.attempts).toBe(1)
              const text = yield* response.body.pipe(Stream.decodeText(), Stream.mkString)
              return text
            })
          )
          expect(full).toContain("data: [DONE]")
          expect(full).toContain('"usage"')
          // Read one chunk of a long stream, then leave: the scope closes and the request is aborted.
          yield* Effect.scoped(
            Effect.gen(function* () {
              const response = yield* o.chat.completions.streamBytes({ ...chat, max_completion_tokens: 200 })
              yield* response.body.pipe(Stream.take(1), Stream.runDrain)
            })
          )
        })
      )
      // Until both streams ended either way (completed or aborted), instead of a fixed 200 ms.
      const stats = yield* waitForStats(sim, (s) => s.streamsCompleted + s.streamsAborted >= 2)
      expect(stats.streamsStarted).toBe(2)
      expect(stats.streamsCompleted).toBe(1)
      expect(stats.streamsAborted).toBe(1)
    })
  )

  it.live("streamBytes retries before the body starts (a 500 first)", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ script: [{ request: 1, fault: "500" }] })
      const attempts = yield* withClient(
        sim.url,
        Effect.scoped(
          Effect.flatMap(openai, (o) =>
            Effect.map(o.chat.completions.streamBytes(chat), (response) => response.attempts)
          )
        ),
        { retry: { maxAttempts: 2, baseDelayMs: 1 } }
      )
      expect(attempts).toBe(2)
    })
  )
})

it.effect("layer without gates in context uses Gates.none", () =>
  Effect.gen(function* () {
    const layer = client("http://127.0.0.1:1/v1")
    const built = yield* Effect.scoped(Layer.build(layer))
    expect(built).toBeDefined()
  })
)
