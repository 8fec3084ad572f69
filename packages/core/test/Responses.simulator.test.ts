/**
 * `openai.responses` against @sluice/simulator, through the gates exactly as chat: the budget reserves the estimate
 * from the input items and `max_output_tokens` and settles the usage (reasoning tokens billed as output), the
 * limiter refuses what can never fit, the lifecycle refuses a retired model before sending, telemetry reports the
 * call with its status, usage and cost; and the stateful methods (retrieve, delete, cancel, background,
 * previous_response_id, input_tokens).
 */
import { describe, expect, it } from "@effect/vitest"
import {
  Budget,
  Credentials,
  Gates,
  ModelLifecycle,
  OpenAi,
  OpenAiConfig,
  Pricing,
  RateLimiter,
  Responses,
  Telemetry,
  Usage
} from "@sluice/core"
import { Simulator } from "@sluice/simulator"
import { Effect, Layer, PubSub, Tracer } from "effect"

const config = (baseUrl: string, options: OpenAiConfig.Options = {}) =>
  Layer.provide(OpenAiConfig.layer({ baseUrl, retry: { maxAttempts: 1 }, ...options }))

const client = (baseUrl: string, options: OpenAiConfig.Options = {}) =>
  OpenAi.layer.pipe(config(baseUrl, options), Layer.provide(Credentials.staticKey("sk-test")))

const gated = <G>(baseUrl: string, gates: Layer.Layer<Gates.Gates | G>) =>
  OpenAi.layer.pipe(Layer.provideMerge(gates), config(baseUrl), Layer.provide(Credentials.staticKey("sk-test")))

const request = (input: Responses.Request["input"], extra: Partial<Responses.Request> = {}): Responses.Request => ({
  model: "gpt-4.1-mini",
  input,
  max_output_tokens: 300,
  ...extra
})

describe("openai.responses through the gates (simulator)", () => {
  it.live("the budget reserves the worst case and settles the usage, reasoning tokens billed as output", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const gates = Gates.layer().pipe(
        Layer.provideMerge(Layer.orDie(Budget.layer({ ceilingUsd: 1 }))),
        Layer.provideMerge(Pricing.layer())
      )
      yield* Effect.gen(function* () {
        const openai = yield* OpenAi.OpenAi
        const budget = yield* Budget.Budget
        const response = yield* openai.responses.create(
          request([{ role: "user", content: "think about it" }], { reasoning: { effort: "medium" } })
        )
        const usage = response.body.usage!
        expect(usage.output_tokens_details?.reasoning_tokens).toBeGreaterThan(0)
        expect(usage.output_tokens).toBeGreaterThan(usage.output_tokens_details!.reasoning_tokens!)
        const price = Pricing.fromTable().price("gpt-4.1-mini")
        if (price._tag !== "Some") throw new Error("no price")
        const settled = Usage.cost(Usage.fromBody(response.body)!, price.value)
        expect((yield* budget.spent("global")).usd).toBeCloseTo(settled, 12)
        expect((yield* sim.stats).costUsd).toBeCloseTo(settled, 9)
        // nothing stays reserved
        expect((yield* budget.remaining("global")).usd).toBeCloseTo(1 - settled, 12)
      }).pipe(Effect.provide(gated(sim.url, gates)))
    })
  )

  it.live("the budget refuses a request whose max_output_tokens could cross the ceiling: nothing is sent", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const gates = Gates.layer().pipe(Layer.provideMerge(Layer.orDie(Budget.layer({ ceilingUsd: 0.0001 }))))
      const error = yield* Effect.flip(
        Effect.flatMap(OpenAi.OpenAi, (o) => o.responses.create(request("hello", { max_output_tokens: 100_000 })))
      ).pipe(Effect.provide(gated(sim.url, gates)))
      expect(error._tag).toBe("BudgetExceeded")
      expect((yield* sim.stats).requests).toBe(0)
    })
  )

  it.live("the limiter refuses what the token bucket can never hold; the lifecycle refuses a retired model", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const limited = Gates.layer().pipe(Layer.provideMerge(Layer.orDie(RateLimiter.layer({ tokensPerMinute: 1000 }))))
      const tooLarge = yield* Effect.flip(
        Effect.flatMap(OpenAi.OpenAi, (o) => o.responses.create(request("hello", { max_output_tokens: 5000 })))
      ).pipe(Effect.provide(gated(sim.url, limited)))
      expect(tooLarge._tag).toBe("RequestTooLarge")
      const lifecycle = Gates.layer().pipe(Layer.provideMerge(ModelLifecycle.layer()))
      const retired = yield* Effect.flip(
        Effect.flatMap(OpenAi.OpenAi, (o) => o.responses.create({ ...request("hello"), model: "gpt-4-32k" }))
      ).pipe(Effect.provide(gated(sim.url, lifecycle)))
      expect(retired._tag).toBe("ModelRetired")
      expect((yield* sim.stats).requests).toBe(0)
    })
  )

  it.live("telemetry reports the call: endpoint, status as finish reason, usage, cost", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const observed = Telemetry.layer({ logs: false }).pipe(Layer.provide(Gates.layer()))
      const event = yield* Effect.gen(function* () {
        const events = yield* Effect.flatMap(Telemetry.Telemetry, (t) => t.subscribe)
        yield* Effect.flatMap(OpenAi.OpenAi, (o) => o.responses.create(request("hello", { max_output_tokens: 16 })))
        for (;;) {
          const event = yield* PubSub.take(events)
          if (event._tag === "Call") return event
        }
      }).pipe(
        Effect.provide(
          OpenAi.layer.pipe(
            Layer.provideMerge(observed),
            config(sim.url),
            Layer.provide(Credentials.staticKey("sk-test"))
          )
        )
      )
      expect(event).toMatchObject({ endpoint: "/responses", method: "POST", model: "gpt-4.1-mini", outcome: "ok" })
      // 16 output tokens cut the answer: the status is incomplete, the reason is the finish reason
      expect(event.finishReason).toBe("max_output_tokens")
      expect(event.promptTokens).toBeGreaterThan(0)
      expect(event.costUsd).toBeGreaterThan(0)
      expect(event.maxOutputTokens).toBe(16)
    })
  )

  it.live("the call's span carries the GenAI attributes: operation chat, model, usage, finish reason, cost", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const spans: Array<Tracer.Span> = []
      const observed = Telemetry.layer({ logs: false }).pipe(Layer.provide(Gates.layer()))
      const response = yield* Effect.flatMap(Effect.tracer, (base) =>
        Effect.withTracer(
          Effect.flatMap(OpenAi.OpenAi, (o) => o.responses.create(request("trace me"))),
          Tracer.make({
            span: (options) => {
              const span = base.span(options)
              spans.push(span)
              return span
            },
            context: base.context
          })
        )
      ).pipe(
        Effect.provide(
          OpenAi.layer.pipe(
            Layer.provideMerge(observed),
            config(sim.url),
            Layer.provide(Credentials.staticKey("sk-test"))
          )
        )
      )
      const attributes = Object.assign({}, ...spans.map((span) => Object.fromEntries(span.attributes)))
      expect(attributes).toMatchObject({
        "gen_ai.operation.name": "chat",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4.1-mini",
        "gen_ai.request.max_tokens": 300,
        "gen_ai.usage.input_tokens": response.body.usage!.input_tokens,
        "gen_ai.usage.output_tokens": response.body.usage!.output_tokens,
        "gen_ai.response.finish_reasons": ["completed"]
      })
      expect(attributes["sluice.cost_usd"]).toBeGreaterThan(0)
    })
  )

  it.live("maxTokensPolicy require refuses a request without max_output_tokens before sending", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const error = yield* Effect.flip(
        Effect.flatMap(OpenAi.OpenAi, (o) => o.responses.create({ model: "gpt-4.1-mini", input: "hello" }))
      ).pipe(Effect.provide(client(sim.url, { maxTokensPolicy: "require" })))
      expect(error).toMatchObject({ _tag: "InvalidRequest", path: "max_output_tokens" })
      expect((yield* sim.stats).requests).toBe(0)
    })
  )
})

describe("openai.responses, the stateful methods (simulator)", () => {
  it.live("retrieve, previous_response_id, input_tokens, delete", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      yield* Effect.gen(function* () {
        const openai = yield* OpenAi.OpenAi
        const first = yield* openai.responses.create(request("remember the number 7"))
        const again = yield* openai.responses.retrieve(first.body.id)
        expect(Responses.outputText(again.body)).toBe(Responses.outputText(first.body))
        const next = yield* openai.responses.create(request("which number?", { previous_response_id: first.body.id }))
        expect(next.body.usage!.input_tokens).toBeGreaterThan(first.body.usage!.input_tokens)
        const counted = yield* openai.responses.inputTokens({ model: "gpt-4.1-mini", input: "remember the number 7" })
        expect(counted.body.input_tokens).toBe(first.body.usage!.input_tokens)
        const deleted = yield* openai.responses.delete(first.body.id)
        expect(deleted.body).toMatchObject({ id: first.body.id, deleted: true })
        const gone = yield* Effect.flip(openai.responses.retrieve(first.body.id))
        expect(gone._tag).toBe("NotFound")
        const empty = yield* Effect.flip(openai.responses.retrieve(""))
        expect(empty).toMatchObject({ _tag: "InvalidRequest", path: "response_id" })
      }).pipe(Effect.provide(client(sim.url)))
    })
  )

  it.live("background: queued at once, retrieved when done; cancel", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ responses: { backgroundQueueMs: 200 } })
      yield* Effect.gen(function* () {
        const openai = yield* OpenAi.OpenAi
        const queued = yield* openai.responses.create(request("in the background", { background: true }))
        expect(queued.body.status).toBe("queued")
        const cancelled = yield* openai.responses.cancel(queued.body.id)
        expect(cancelled.body.status).toBe("cancelled")
        const later = yield* openai.responses.create(request("finish this one", { background: true }))
        let status = later.body.status
        for (let i = 0; i < 200 && (status === "queued" || status === "in_progress"); i++) {
          yield* Effect.sleep("20 millis")
          status = (yield* openai.responses.retrieve(later.body.id)).body.status
        }
        expect(status).toBe("completed")
      }).pipe(Effect.provide(client(sim.url)))
    })
  )
})
