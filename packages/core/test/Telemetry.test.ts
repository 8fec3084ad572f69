import { describe, expect, it } from "@effect/vitest"
import { Simulator } from "@sluice/simulator"
import { Effect, Exit, Fiber, Layer, Logger, Metric, PubSub, Redacted, References, Scope, Stream, Tracer } from "effect"
import { TestClock } from "effect/testing"
import * as Credentials from "../src/Credentials.js"
import { BudgetExceeded, RateLimited, ServerError } from "../src/Errors.js"
import * as Gates from "../src/Gates.js"
import * as OpenAi from "../src/OpenAi.js"
import * as OpenAiConfig from "../src/OpenAiConfig.js"
import * as Pricing from "../src/Pricing.js"
import { RateLimitSnapshot } from "../src/RateLimitHeaders.js"
import * as Telemetry from "../src/Telemetry.js"

const info = (model: string, overrides: Partial<Gates.CallInfo> = {}): Gates.CallInfo => ({
  path: "/chat/completions",
  method: "POST",
  model,
  stream: false,
  keyId: "key-3f2a9c",
  body: { model, messages: [{ role: "user", content: "secret prompt text" }], max_completion_tokens: 100 },
  batch: false,
  ...overrides
})

const snapshot = RateLimitSnapshot.make({
  limitRequests: 500,
  remainingRequests: 80,
  resetRequestsMs: 120,
  limitTokens: 200_000,
  remainingTokens: 150_000,
  resetTokensMs: 1500
})

/** Captures every log line as the JSON a `Logger.json` user would see, at every level. */
const captureLogs = (lines: Array<string>) =>
  Layer.merge(
    Logger.layer([
      Logger.map(Logger.formatJson, (line) => {
        lines.push(line)
      })
    ]),
    Layer.succeed(References.MinimumLogLevel, "All")
  )

/** Records every span the tracer starts, so a test can read their attributes after they end. */
const recordingSpans = <A, E, R>(spans: Array<Tracer.Span>, effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.tracer, (base) =>
    Effect.withTracer(
      effect,
      Tracer.make({
        span: (options) => {
          const span = base.span(options)
          spans.push(span)
          return span
        },
        context: base.context
      })
    )
  )

const telemetryOverNone = (options: Telemetry.Options = {}) =>
  Telemetry.wrap(Layer.merge(Gates.none, Pricing.layer()), options)

/** Drives a call the way the client does: admit, attempts (each taking `latencies[i]` ms), settle. */
const simulateCall = (
  callInfo: Gates.CallInfo,
  attempts: ReadonlyArray<{ readonly latencyMs: number; readonly outcome: Gates.AttemptOutcome }>,
  usage: Gates.Usage | undefined
) =>
  Effect.gen(function* () {
    const gates = yield* Gates.Gates
    const call = yield* gates.admit(callInfo)
    let last: Gates.AttemptOutcome | undefined
    for (const attempt of attempts) {
      const outcome = attempt.outcome
      const send = Effect.andThen(
        TestClock.adjust(attempt.latencyMs),
        outcome._tag === "Response" ? Effect.succeed(outcome) : Effect.fail(outcome.error)
      )
      yield* Effect.exit(Effect.scoped(call.attempt(callInfo.keyId, send)))
      last = outcome
    }
    const error = last?._tag === "Failure" ? last.error : undefined
    yield* call.settle({ usage, sent: true, error })
    return call
  }).pipe(Effect.scoped, Effect.withSpan("OpenAi POST /chat/completions"))

/** Every event published so far, without waiting (`PubSub.takeAll` would wait for one). */
const take = (subscription: PubSub.Subscription<Telemetry.TelemetryEvent>) =>
  PubSub.takeUpTo(subscription, Number.MAX_SAFE_INTEGER)

const counter = (metric: typeof Telemetry.callsTotal, tags: Record<string, string>) => {
  return Effect.map(Metric.value(Metric.withAttributes(metric, tags)), (state) => state.count)
}

describe("Telemetry", () => {
  it.effect("one event per attempt and per call, with latency from the Clock, tokens and cost from Pricing", () =>
    Effect.gen(function* () {
      const telemetry = yield* Telemetry.Telemetry
      const events = yield* telemetry.subscribe
      const throttled = new RateLimited({ message: "slow down", status: 429, requestId: "req_429", retryAfterMs: 250 })
      yield* simulateCall(
        info("gpt-4o-mini"),
        [
          { latencyMs: 40, outcome: { _tag: "Failure", error: throttled } },
          { latencyMs: 900, outcome: { _tag: "Response", status: 200, snapshot } }
        ],
        { promptTokens: 1000, completionTokens: 500, cachedPromptTokens: 0 }
      )
      const [first, second, call] = yield* take(events)
      expect(first).toMatchObject({
        _tag: "Attempt",
        attempt: 1,
        outcome: "error",
        status: 429,
        errorTag: "RateLimited",
        requestId: "req_429",
        retryAfterMs: 250,
        latencyMs: 40,
        model: "gpt-4o-mini",
        endpoint: "/chat/completions"
      })
      expect(second).toMatchObject({
        _tag: "Attempt",
        attempt: 2,
        outcome: "ok",
        status: 200,
        latencyMs: 900,
        rateLimit: { remainingRequests: 80, limitRequests: 500, remainingTokens: 150_000 }
      })
      expect(call).toMatchObject({
        _tag: "Call",
        outcome: "ok",
        attempts: 2,
        latencyMs: 940,
        promptTokens: 1000,
        completionTokens: 500,
        totalTokens: 1500,
        maxOutputTokens: 100
      })
      // gpt-4o-mini: $0.15 / 1M input, $0.60 / 1M output.
      expect(call?._tag === "Call" ? call.costUsd : undefined).toBeCloseTo(0.00045, 10)
    }).pipe(Effect.provide(telemetryOverNone()))
  )

  it.effect("cost is absent, not guessed, for a model without a price; and absent with pricing: false", () =>
    Effect.gen(function* () {
      const usage = { promptTokens: 10, completionTokens: 10, cachedPromptTokens: 0 }
      const ok: Gates.AttemptOutcome = { _tag: "Response", status: 200, snapshot: RateLimitSnapshot.make({}) }
      const priced = yield* Effect.gen(function* () {
        const events = yield* (yield* Telemetry.Telemetry).subscribe
        yield* simulateCall(info("my-finetune"), [{ latencyMs: 5, outcome: ok }], usage)
        return yield* take(events)
      }).pipe(Effect.provide(telemetryOverNone()))
      expect(priced[1]).toMatchObject({ _tag: "Call", promptTokens: 10 })
      expect(priced[1]).not.toHaveProperty("costUsd")
      const unpriced = yield* Effect.gen(function* () {
        const events = yield* (yield* Telemetry.Telemetry).subscribe
        yield* simulateCall(info("gpt-4o-mini"), [{ latencyMs: 5, outcome: ok }], usage)
        return yield* take(events)
      }).pipe(Effect.provide(Telemetry.wrap(Gates.none, { pricing: false })))
      expect(unpriced[1]).not.toHaveProperty("costUsd")
      // Without a Pricing service the built-in table prices it, as the gates do.
      const builtIn = yield* Effect.gen(function* () {
        const events = yield* (yield* Telemetry.Telemetry).subscribe
        yield* simulateCall(info("gpt-4o-mini"), [{ latencyMs: 5, outcome: ok }], usage)
        return yield* take(events)
      }).pipe(Effect.provide(Telemetry.wrap(Gates.none)))
      expect(builtIn[1]).toHaveProperty("costUsd", (10 * 0.15 + 10 * 0.6) / 1e6)
    })
  )

  it.effect("logs: debug per attempt, info per call, warning on errors — with the fields as annotations", () =>
    Effect.gen(function* () {
      const lines: Array<string> = []
      yield* Effect.gen(function* () {
        yield* simulateCall(
          info("gpt-4o", { path: "/chat/completions" }),
          [
            { latencyMs: 30, outcome: { _tag: "Failure", error: new ServerError({ message: "boom", status: 503 }) } },
            { latencyMs: 120, outcome: { _tag: "Response", status: 200, snapshot } }
          ],
          { promptTokens: 20, completionTokens: 5, cachedPromptTokens: 0 }
        )
      }).pipe(Effect.provide(telemetryOverNone()), Effect.provide(captureLogs(lines)))
      const logs = lines.map((line) => JSON.parse(line))
      expect(logs.map((log) => log.level)).toEqual(["WARN", "DEBUG", "INFO"])
      expect(logs[0].message).toBe("POST /chat/completions gpt-4o attempt 1: ServerError 503 in 30 ms")
      expect(logs[0].annotations).toMatchObject({ event: "attempt", errorTag: "ServerError", errorMessage: "boom" })
      expect(logs[2].message).toMatch(
        /^POST \/chat\/completions gpt-4o: ok in 150 ms, 2 attempts, 25 tokens, \$0\.000100$/
      )
      expect(logs[2].annotations).toMatchObject({
        event: "call",
        model: "gpt-4o",
        outcome: "ok",
        attempts: 2,
        latencyMs: 150,
        promptTokens: 20,
        completionTokens: 5
      })
    })
  )

  it.effect("annotates the call span with GenAI attributes", () =>
    Effect.gen(function* () {
      const spans: Array<Tracer.Span> = []
      yield* recordingSpans(
        spans,
        simulateCall(info("gpt-4o-mini"), [{ latencyMs: 10, outcome: { _tag: "Response", status: 200, snapshot } }], {
          promptTokens: 12,
          completionTokens: 7,
          cachedPromptTokens: 0
        })
      ).pipe(Effect.provide(telemetryOverNone()))
      const attributes = Object.fromEntries(spans[0]!.attributes)
      expect(attributes).toMatchObject({
        "gen_ai.operation.name": "chat",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.max_tokens": 100,
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 7,
        "sluice.attempts": 1,
        "sluice.ratelimit.remaining_requests": 80,
        "sluice.ratelimit.remaining_tokens": 150_000,
        "http.response.status_code": 200
      })
      expect(attributes["sluice.cost_usd"]).toBeGreaterThan(0)
    })
  )

  it.effect("metrics: calls, errors by tag, tokens by kind, cost, rate-limit headroom", () =>
    Effect.gen(function* () {
      const model = "gpt-4.1-nano"
      const endpoint = "/chat/completions"
      yield* simulateCall(
        info(model),
        [
          { latencyMs: 5, outcome: { _tag: "Failure", error: new RateLimited({ message: "x", status: 429 }) } },
          { latencyMs: 5, outcome: { _tag: "Response", status: 200, snapshot } }
        ],
        { promptTokens: 300, completionTokens: 40, cachedPromptTokens: 0 }
      ).pipe(Effect.provide(telemetryOverNone()))
      expect(yield* counter(Telemetry.callsTotal, { model, endpoint, outcome: "ok" })).toBe(1)
      expect(yield* counter(Telemetry.requestsTotal, { model, endpoint, outcome: "error" })).toBe(1)
      expect(yield* counter(Telemetry.requestsTotal, { model, endpoint, outcome: "ok" })).toBe(1)
      expect(yield* counter(Telemetry.errorsTotal, { model, endpoint, error: "RateLimited" })).toBe(1)
      expect(yield* counter(Telemetry.tokensTotal, { model, endpoint, kind: "prompt" })).toBe(300)
      expect(yield* counter(Telemetry.tokensTotal, { model, endpoint, kind: "completion" })).toBe(40)
      expect(yield* counter(Telemetry.costUsdTotal, { model, endpoint })).toBeCloseTo((300 * 0.1 + 40 * 0.4) / 1e6, 12)
      const ratio = yield* Metric.value(
        Telemetry.rateLimitRemainingRatio.pipe(
          Metric.withAttributes({ model, key_id: "key-3f2a9c", bucket: "requests" })
        )
      )
      expect(ratio.value).toBeCloseTo(80 / 500)
      const latency = yield* Metric.value(
        Telemetry.latencyMs.pipe(Metric.withAttributes({ model, endpoint, kind: "call" }))
      )
      expect(latency.count).toBe(1)
      expect(latency.sum).toBe(10)
    })
  )

  it.effect("a call refused by a gate (budget) still gives one call event, with the error and sent: false", () =>
    Effect.gen(function* () {
      const refusing = Layer.succeed(Gates.Gates, {
        admit: () =>
          Effect.fail(
            new BudgetExceeded({ scope: "global", unit: "usd", ceiling: 1, spent: 1, reserved: 0, requested: 0.1 })
          )
      })
      const result = yield* Effect.gen(function* () {
        const events = yield* (yield* Telemetry.Telemetry).subscribe
        const error = yield* Effect.flip(Effect.scoped(Effect.flatMap(Gates.Gates, (g) => g.admit(info("gpt-4o")))))
        return { error, events: yield* take(events) }
      }).pipe(Effect.provide(Telemetry.wrap(refusing)))
      expect(result.error._tag).toBe("BudgetExceeded")
      expect(result.events).toHaveLength(1)
      expect(result.events[0]).toMatchObject({
        _tag: "Call",
        outcome: "error",
        errorTag: "BudgetExceeded",
        sent: false,
        attempts: 0
      })
    })
  )

  it.effect("a call interrupted before settlement gives one call event with outcome interrupted", () =>
    Effect.gen(function* () {
      const events = yield* (yield* Telemetry.Telemetry).subscribe
      const gates = yield* Gates.Gates
      const fiber = yield* Effect.forkChild(
        Effect.scoped(
          Effect.gen(function* () {
            const call = yield* gates.admit(info("gpt-4o"))
            yield* call.attempt("key-3f2a9c", Effect.never)
          })
        )
      )
      yield* TestClock.adjust(2000)
      yield* Fiber.interrupt(fiber)
      const all = yield* take(events)
      expect(all).toHaveLength(1)
      expect(all[0]).toMatchObject({ _tag: "Call", outcome: "interrupted", latencyMs: 2000, sent: false })
    }).pipe(Effect.provide(telemetryOverNone()))
  )

  it.effect("streams: recordFirstToken gives ttftMs; recordResponse adds the finish reason and response model", () =>
    Effect.gen(function* () {
      const events = yield* (yield* Telemetry.Telemetry).subscribe
      const gates = yield* Gates.Gates
      const scope = yield* Scope.make()
      const ticket = yield* Scope.provide(gates.admit(info("gpt-4o", { stream: true })), scope)
      const headers = Effect.as(TestClock.adjust(300), { status: 200, snapshot })
      yield* Scope.provide(ticket.attempt("key-3f2a9c", headers), scope)
      yield* TestClock.adjust(150)
      yield* Telemetry.recordFirstToken(ticket)
      yield* TestClock.adjust(1000)
      yield* Telemetry.recordFirstToken(ticket) // only the first counts
      yield* Telemetry.recordResponse(ticket, { finishReason: "length", responseModel: "gpt-4o-2024-08-06" })
      yield* ticket.settle({
        usage: { promptTokens: 5, completionTokens: 50, cachedPromptTokens: 0 },
        sent: true,
        error: undefined
      })
      yield* Scope.close(scope, Exit.void)
      const all = yield* take(events)
      expect(all.map((event) => event._tag)).toEqual(["Attempt", "Call"])
      expect(all[1]).toMatchObject({
        stream: true,
        ttftMs: 450,
        latencyMs: 1450,
        finishReason: "length",
        responseModel: "gpt-4o-2024-08-06"
      })
      // On a call no telemetry decorates the recorders are no-ops (the stream layer can call them blindly).
      yield* Telemetry.recordFirstToken(Gates.passThrough(info("gpt-4o", { stream: true })))
    }).pipe(Effect.provide(telemetryOverNone()))
  )

  it.effect("Telemetry.events streams to any subscriber", () =>
    Effect.gen(function* () {
      const collected = yield* Telemetry.events.pipe(Stream.take(2), Stream.runCollect, Effect.forkChild)
      yield* Effect.yieldNow
      yield* simulateCall(
        info("gpt-4o"),
        [{ latencyMs: 1, outcome: { _tag: "Response", status: 200, snapshot } }],
        undefined
      )
      const events = yield* Fiber.join(collected)
      expect(events.map((event) => event._tag)).toEqual(["Attempt", "Call"])
    }).pipe(Effect.provide(telemetryOverNone()))
  )

  it.live("end to end through the client: the API key never appears in a log line, span attribute or event", () =>
    Effect.gen(function* () {
      const canary = "sk-proj-SLUICECANARY0123456789abcdefXYZ"
      const sim = yield* Simulator.start({ script: [{ request: 1, fault: "500" }] })
      const lines: Array<string> = []
      const spans: Array<Tracer.Span> = []
      const recorded: Array<Telemetry.TelemetryEvent> = []
      const client = OpenAi.layer.pipe(
        Layer.provide(
          OpenAiConfig.layer({ baseUrl: sim.url, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 } })
        ),
        Layer.provide(Credentials.static(Redacted.make(canary))),
        Layer.provideMerge(Telemetry.wrap(Layer.merge(Gates.defaults, Pricing.layer())))
      )
      yield* recordingSpans(
        spans,
        Effect.gen(function* () {
          const events = yield* (yield* Telemetry.Telemetry).subscribe
          const openai = yield* OpenAi.OpenAi
          const chat = {
            model: "gpt-4o-mini",
            messages: [{ role: "user" as const, content: "my api key is not here" }],
            max_completion_tokens: 16
          }
          yield* openai.chat.completions.create(chat)
          yield* Effect.flip(openai.chat.completions.create({ ...chat, model: "text-davinci-003" }))
          yield* openai.embeddings.create({ model: "text-embedding-3-small", input: "hello" })
          recorded.push(...(yield* take(events)))
        }).pipe(Effect.provide(client), Effect.provide(captureLogs(lines)))
      )
      const calls = recorded.filter((event) => event._tag === "Call")
      expect(calls.map((event) => [event.model, event.outcome, event.attempts])).toEqual([
        ["gpt-4o-mini", "ok", 2],
        ["text-davinci-003", "error", 0],
        ["text-embedding-3-small", "ok", 1]
      ])
      expect(calls[0]!.costUsd).toBeGreaterThan(0)
      // The client reports what the response said about itself: finish reason, model, request id.
      expect(calls[0]).toMatchObject({ finishReason: "length", responseModel: "gpt-4o-mini" })
      expect(calls[0]!.requestId).toMatch(/^req_/)
      expect(calls[0]!.keyId).toBe(Credentials.fingerprint(Redacted.make(canary)))
      const chatSpan = spans.find((span) => span.name === "OpenAi POST /chat/completions")!
      expect(Object.fromEntries(chatSpan.attributes)).toMatchObject({
        "gen_ai.operation.name": "chat",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "sluice.attempts": 2
      })
      const emitted = [
        ...lines,
        ...recorded.map((event) => JSON.stringify(event)),
        ...spans.map((span) => JSON.stringify(Object.fromEntries(span.attributes)))
      ].join("\n")
      expect(lines.length).toBeGreaterThanOrEqual(6)
      expect(emitted).not.toContain(canary)
      expect(emitted).not.toContain("SLUICECANARY")
      expect(emitted).not.toContain("my api key is not here")
    })
  )
})
