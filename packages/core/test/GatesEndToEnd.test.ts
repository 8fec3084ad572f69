/**
 * The gates end to end against the simulator: issue #4's acceptance — 1,000 requests under a binding limit,
 * without `retry-after`, all succeed and 429s stay under 2 % of the requests sent.
 */
import { describe, expect, it } from "@effect/vitest"
import { Credentials, Gates, OpenAi, OpenAiConfig, Telemetry } from "@sluice/core"
import { Simulator } from "@sluice/simulator"
import { ConfigProvider, Effect, Layer, PubSub, Result } from "effect"

const clientWithGates = (baseUrl: string, gates: Layer.Layer<Gates.Gates>) =>
  OpenAi.layer.pipe(
    Layer.provide(OpenAiConfig.layer({ baseUrl })),
    Layer.provide(Credentials.static("sk-gates-e2e-0123456789")),
    Layer.provide(gates)
  )

const request = (i: number) => ({
  model: "gpt-4o-mini",
  messages: [{ role: "user" as const, content: `Summarise item ${i} in one line.` }],
  max_tokens: 40
})

describe("default gates against the simulator", () => {
  it.live(
    "1,000 requests under a token limit without retry-after: all succeed, 429s < 2 % of requests sent",
    () =>
      Effect.gen(function* () {
        // ~55 tokens a request (prompt estimate + max_tokens) at 180k TPM = 3,000 tokens/s ≈ 55 requests/s:
        // the token bucket binds long before the request bucket (60k RPM).
        const sim = yield* Simulator.start({
          rpm: 60_000,
          tpm: 180_000,
          headers: { rateLimit: true, retryAfter: false, retryAfterMs: false }
        })
        const results = yield* Effect.provide(
          Effect.flatMap(OpenAi.OpenAi, (openai) =>
            Effect.forEach(
              Array.from({ length: 1000 }, (_, i) => i),
              (i) => Effect.result(openai.chat.completions.create(request(i))),
              { concurrency: 64 }
            )
          ),
          clientWithGates(sim.url, Gates.defaults)
        )
        const failures = results.filter(Result.isFailure)
        const stats = yield* sim.stats
        const share429 = stats.rateLimited / stats.requests
        yield* Effect.log(
          `sent ${stats.requests}, 429s ${stats.rateLimited} (${(share429 * 100).toFixed(2)} %), failures ${failures.length}`
        )
        expect(failures.map((f) => f.failure._tag)).toEqual([])
        expect(stats.successes).toBe(1000)
        expect(stats.duplicateSuccesses).toBe(0)
        expect(share429).toBeLessThan(0.02)
      }),
    120_000
  )

  it.live("OpenAi.layerConfig: gates on by default, and a Telemetry-wrapped gates layer stays visible", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ rpm: 600, tpm: 100_000 })
      const env = ConfigProvider.layer(
        ConfigProvider.fromEnv({ env: { OPENAI_API_KEY: "sk-layer-config-0123456789" } })
      )
      const events = yield* Effect.gen(function* () {
        const subscription = yield* (yield* Telemetry.Telemetry).subscribe
        const openai = yield* OpenAi.OpenAi
        yield* openai.chat.completions.create(request(1))
        return yield* PubSub.takeUpTo(subscription, Number.MAX_SAFE_INTEGER)
      }).pipe(
        Effect.provide(OpenAi.layerConfig({ baseUrl: sim.url, gates: Telemetry.wrap(Gates.defaults) })),
        Effect.provide(env)
      )
      const call = [...events].find((event) => event._tag === "Call")
      expect(call).toMatchObject({ model: "gpt-4o-mini", outcome: "ok", attempts: 1 })
      // Gates are on by default: a retired model is refused by the lifecycle gate before sending; with
      // `gates: false` the request goes out and the server answers 404.
      const retired = (gates?: false) =>
        Effect.flatMap(OpenAi.OpenAi, (openai) =>
          Effect.flip(openai.chat.completions.create({ ...request(2), model: "text-davinci-003" }))
        ).pipe(
          Effect.provide(OpenAi.layerConfig(gates === false ? { baseUrl: sim.url, gates } : { baseUrl: sim.url })),
          Effect.provide(env)
        )
      const sentBefore = (yield* sim.stats).requests
      expect((yield* retired())._tag).toBe("ModelRetired")
      expect((yield* sim.stats).requests).toBe(sentBefore)
      expect((yield* retired(false))._tag).toBe("NotFound")
      expect((yield* sim.stats).requests).toBe(sentBefore + 1)
    })
  )
})
