/**
 * A terminal failure (a revoked key, a billing 429) blows the circuit breaker's fuse. The call whose own
 * failure blew it fails with that failure — which says what to do — and every later call fails fast with
 * `CircuitOpen` without sending anything.
 */
import { expect, it } from "@effect/vitest"
import { Credentials, Gates, OpenAi, OpenAiConfig } from "@sluice/core"
import { Simulator } from "@sluice/simulator"
import { Effect, Layer } from "effect"

const key = "sk-fuse-test-0123456789abcdef"

const client = (baseUrl: string) =>
  OpenAi.layer.pipe(
    Layer.provide(OpenAiConfig.layer({ baseUrl, retry: { baseDelayMs: 1 } })),
    Layer.provide(Credentials.static(key)),
    Layer.provide(Gates.defaults)
  )

const ask = Effect.flatMap(OpenAi.OpenAi, (openai) =>
  Effect.flip(
    openai.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], max_tokens: 5 })
  )
)

it.scopedLive("a revoked key: AuthenticationFailed for the call that met it, CircuitOpen (nothing sent) after", () =>
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

it.scopedLive("a billing 429: QuotaExceeded for the call that met it, CircuitOpen after", () =>
  Effect.gen(function* () {
    const sim = yield* Simulator.start({ quotaUsd: 0 })
    const [first, second] = yield* Effect.provide(Effect.all([ask, ask]), client(sim.url))
    expect(first._tag).toBe("QuotaExceeded")
    expect(second._tag).toBe("CircuitOpen")
    expect((yield* sim.stats).quotaExceeded).toBe(1)
  })
)
