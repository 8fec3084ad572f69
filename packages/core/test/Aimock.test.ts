/**
 * Behaviour against aimock, a fixture-driven OpenAI mock nobody here wrote: chat (text and tool calls),
 * embeddings (it answers floats even when base64 is asked: the union schema takes both), models, and the
 * classification of its injected 429 / insufficient_quota / 500 errors.
 */
import { expect, layer } from "@effect/vitest"
import { OpenAi } from "@sluice/core"
import { Context, Effect, Layer } from "effect"
import { aimock, client, type Spawned } from "./support/servers.js"

class Aimock extends Context.Service<Aimock, Spawned>()("test/Aimock") {}
const AimockLive = Layer.effect(Aimock, aimock)
const Live = Layer.unwrap(Effect.map(Aimock, (s) => client(`${s.url}/v1`, { maxTokensPolicy: "off" }))).pipe(
  Layer.provideMerge(AimockLive)
)

const user = (content: string) => ({ model: "gpt-4o", messages: [{ role: "user" as const, content }] })

layer(Live, { excludeTestServices: true, timeout: 60_000 })("aimock", (it) => {
  it.effect("chat text, with request id, status, latency and attempts", () =>
    Effect.gen(function* () {
      const openai = yield* OpenAi.OpenAi
      const response = yield* openai.chat.completions.create(user("hello"))
      expect(response.body.choices[0]?.message.content).toBe("Hello from aimock")
      expect(response.body.choices[0]?.finish_reason).toBe("stop")
      expect(response.body.usage?.prompt_tokens).toBeTypeOf("number")
      expect(response.requestId).toMatch(/^req-/)
      expect(response.status).toBe(200)
      expect(response.attempts).toBe(1)
      expect(response.latencyMs).toBeGreaterThanOrEqual(0)
    })
  )

  it.effect("chat tool calls", () =>
    Effect.gen(function* () {
      const openai = yield* OpenAi.OpenAi
      const response = yield* openai.chat.completions.create({
        ...user("what is the weather"),
        tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }]
      })
      const call = response.body.choices[0]?.message.tool_calls?.[0]
      expect(call?.function.name).toBe("get_weather")
      expect(JSON.parse(call?.function.arguments ?? "")).toEqual({ city: "Paris" })
      expect(response.body.choices[0]?.finish_reason).toBe("tool_calls")
    })
  )

  it.effect("embeddings (base64 asked, floats answered) and models", () =>
    Effect.gen(function* () {
      const openai = yield* OpenAi.OpenAi
      const response = yield* openai.embeddings.create({
        model: "text-embedding-3-small",
        input: "hello world",
        encoding_format: "base64"
      })
      expect(response.body.data[0]?.embedding).toEqual([0.25, -0.5, 0.125])
      const models = yield* openai.models.list()
      expect(models.body.data.map((m) => m.id)).toContain("gpt-4o")
    })
  )

  it.effect(
    "429 rate_limit_exceeded → RateLimited; insufficient_quota → QuotaExceeded (never retried); 500 → ServerError",
    () =>
      Effect.gen(function* () {
        const openai = yield* OpenAi.OpenAi
        const throttled = yield* Effect.flip(openai.chat.completions.create(user("throttle me")))
        expect(throttled._tag).toBe("RateLimited")
        expect(throttled.retryable).toBe(true)

        const quota = yield* Effect.flip(
          openai.chat.completions.create(user("out of money"), { retry: { maxAttempts: 5, baseDelayMs: 1 } })
        )
        expect(quota._tag).toBe("QuotaExceeded")
        expect(quota.retryable).toBe(false)
        if (quota._tag === "QuotaExceeded") expect(quota.snapshot?.limitRequests).toBe(60)

        const broken = yield* Effect.flip(openai.chat.completions.create(user("break please")))
        expect(broken._tag).toBe("ServerError")
        expect(broken.message).toBe("The server had an error")
      })
  )
})
