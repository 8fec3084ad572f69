import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, PubSub } from "effect"
import { TestClock } from "effect/testing"
import * as Alerts from "../src/Alerts.js"
import { type RateLimited, ServerError } from "@sluice/core/Errors"
import * as Gates from "@sluice/core/Gates"
import { RateLimitSnapshot } from "@sluice/core/RateLimitHeaders"
import * as Telemetry from "@sluice/core/Telemetry"
import { chatAdmission } from "./support.js"

const attempt = (at: number, fields: Partial<Telemetry.AttemptEvent> = {}): Telemetry.AttemptEvent => ({
  _tag: "Attempt",
  callId: at,
  at,
  model: "gpt-4o-mini",
  endpoint: "/chat/completions",
  method: "POST",
  stream: false,
  keyId: "key-1",
  attempt: 1,
  outcome: "ok",
  status: 200,
  latencyMs: 100,
  gateWaitMs: 0,
  ...fields
})

const call = (at: number, fields: Partial<Telemetry.CallEvent> = {}): Telemetry.CallEvent => ({
  _tag: "Call",
  callId: at,
  at,
  startedAt: at - 100,
  model: "gpt-4o-mini",
  endpoint: "/chat/completions",
  method: "POST",
  stream: false,
  batch: false,
  keyId: "key-1",
  outcome: "ok",
  sent: true,
  attempts: 1,
  latencyMs: 100,
  maxOutputTokens: 100,
  estimatedPromptTokens: 10,
  ...fields
})

const limited = (at: number) =>
  attempt(at, { outcome: "error", status: 429, errorTag: "RateLimited", errorCode: "rate_limit_exceeded" })

const run = (
  detect: (event: Telemetry.TelemetryEvent) => ReadonlyArray<Alerts.Alert>,
  events: ReadonlyArray<Telemetry.TelemetryEvent>
) => events.flatMap((event) => detect(event))

const quiet = {
  headroom: false,
  errorBurst: false,
  latency: false,
  tokensPerRequest: false,
  modelStatus: false
} as const

describe("Alerts.detector", () => {
  it("rate-limit headroom below 20 % fires once on crossing, re-arms above 30 % after the cool-down", () => {
    const detect = Alerts.detector({ ...quiet, rateLimitSpike: false, headroom: {} })
    const at = (t: number, remaining: number) =>
      attempt(t, { rateLimit: { limitRequests: 100, remainingRequests: remaining } })
    const alerts = run(detect, [
      at(0, 50),
      at(1000, 19),
      at(2000, 5),
      at(3000, 25),
      at(4000, 10),
      at(61_000, 40),
      at(62_000, 10)
    ])
    expect(alerts.map((a) => [a._tag, a.at])).toEqual([
      ["RateLimitHeadroomLow", 1000],
      // 25 % is not enough to re-arm; 40 % after 60 s is, and the drop at 62 s fires again.
      ["RateLimitHeadroomLow", 62_000]
    ])
    expect(alerts[0]).toMatchObject({ bucket: "requests", ratio: 0.19, threshold: 0.2, keyId: "key-1" })
  })

  it("429 share above 5 % of at least 20 attempts within 60 s fires once while it lasts", () => {
    const detect = Alerts.detector({ ...quiet })
    const events: Array<Telemetry.TelemetryEvent> = []
    for (let i = 0; i < 19; i++) events.push(attempt(i * 100))
    events.push(limited(1900)) // 1 of 20 = 5 %: not above
    expect(run(detect, events)).toEqual([])
    const spike = run(detect, [limited(2000), limited(2100), limited(2200)])
    expect(spike).toHaveLength(1)
    expect(spike[0]).toMatchObject({ _tag: "RateLimitSpike", rateLimited: 2, attempts: 21, windowMs: 60_000 })
    // 60 s later the window has emptied; a healthy stretch clears it, a new spike fires again.
    const later: Array<Telemetry.TelemetryEvent> = []
    for (let i = 0; i < 30; i++) later.push(attempt(70_000 + i * 10))
    for (let i = 0; i < 5; i++) later.push(limited(71_000 + i))
    expect(run(detect, later).map((a) => a._tag)).toEqual(["RateLimitSpike"])
  })

  it("too few attempts never make a spike: 3 of 3 is not a storm", () => {
    const detect = Alerts.detector({ ...quiet })
    expect(run(detect, [limited(0), limited(1), limited(2)])).toEqual([])
  })

  it("a burst of ≥ 5 non-429 errors in 10 s fires once; 429s and spread-out errors do not", () => {
    const detect = Alerts.detector({ ...quiet, errorBurst: {}, rateLimitSpike: false })
    const failed = (at: number, tag = "ServerError") => attempt(at, { outcome: "error", errorTag: tag, status: 500 })
    // One every 3 s: never 5 within 10 s.
    expect(
      run(
        detect,
        [0, 3000, 6000, 9000, 12_000, 15_000].map((t) => failed(t))
      )
    ).toEqual([])
    expect(run(detect, [limited(16_000), limited(16_001), limited(16_002), limited(16_003), limited(16_004)])).toEqual(
      []
    )
    const burst = run(
      detect,
      [30_000, 30_100, 30_200, 30_300, 30_400, 30_500].map((t, i) => failed(t, i % 2 ? "Timeout" : "ServerError"))
    )
    expect(burst).toHaveLength(1)
    expect(burst[0]).toMatchObject({ _tag: "ErrorBurst", count: 5, errors: { ServerError: 3, Timeout: 2 } })
  })

  it("p99 call latency above the threshold fires, from enough samples, and clears below 90 %", () => {
    const detect = Alerts.detector({ ...quiet, rateLimitSpike: false, latency: { p99Ms: 5000, minSamples: 10 } })
    const slow: Array<Telemetry.TelemetryEvent> = []
    for (let i = 0; i < 9; i++) slow.push(call(i * 1000, { latencyMs: 100 }))
    expect(run(detect, slow)).toEqual([])
    const alerts = run(detect, [call(9000, { latencyMs: 8000 })])
    expect(alerts).toEqual([expect.objectContaining({ _tag: "LatencyHigh", samples: 10, thresholdMs: 5000 })])
    // the p99 of the window's sketch: within 2 % of the slowest call's 8000 ms
    const p99 = alerts[0]?._tag === "LatencyHigh" ? alerts[0].p99Ms : 0
    expect(Math.abs(p99 - 8000)).toBeLessThanOrEqual(8000 * 0.02)
    expect(run(detect, [call(10_000, { latencyMs: 9000 })])).toEqual([])
  })

  it("average tokens per call above the threshold fires once", () => {
    const detect = Alerts.detector({ ...quiet, rateLimitSpike: false, tokensPerRequest: { max: 1000, minCalls: 3 } })
    const alerts = run(detect, [
      call(0, { totalTokens: 500 }),
      call(1, { totalTokens: 1500 }),
      call(2, { totalTokens: 1600 }),
      call(3, { totalTokens: 3000 })
    ])
    expect(alerts).toHaveLength(1)
    expect(alerts[0]).toMatchObject({ _tag: "TokensPerRequestHigh", calls: 3, averageTokens: 3600 / 3 })
  })

  it("a deprecated or retired model fires once per model (built-in lifecycle table)", () => {
    const { modelStatus: _, ...withLifecycle } = quiet
    const detect = Alerts.detector({ ...withLifecycle, rateLimitSpike: false })
    const now = Date.parse("2025-10-01T00:00:00Z")
    const alerts = run(detect, [
      call(now, { model: "gpt-4o-mini" }),
      call(now, { model: "text-davinci-003" }),
      call(now + 1, { model: "text-davinci-003" })
    ])
    expect(alerts).toHaveLength(1)
    expect(alerts[0]).toMatchObject({ _tag: "ModelDeprecated", model: "text-davinci-003", state: "retired" })
    const custom = Alerts.detector({
      ...quiet,
      rateLimitSpike: false,
      modelStatus: (model) =>
        model === "old" ? { _tag: "Deprecated", entry: { replacement: "new" } } : { _tag: "Active" }
    })
    expect(run(custom, [call(0, { model: "old" })])[0]).toMatchObject({ state: "deprecated", replacement: "new" })
  })

  it("budget: fires once when spend seen by telemetry reaches 80 % of the ceiling", () => {
    const detect = Alerts.detector({ ...quiet, rateLimitSpike: false, budget: { ceilingUsd: 10 } })
    const alerts = run(detect, [
      call(0, { costUsd: 5 }),
      call(1, { costUsd: 2.9 }),
      call(2, { costUsd: 0.2 }),
      call(3, { costUsd: 1 })
    ])
    expect(alerts).toHaveLength(1)
    expect(alerts[0]).toMatchObject({ _tag: "BudgetNearlySpent", at: 2, ceilingUsd: 10 })
    expect((alerts[0] as Alerts.BudgetNearlySpent).spentUsd).toBeCloseTo(8.1)
  })
})

describe("Alerts.layer", () => {
  it.effect("derives alerts from the client's calls over TestClock time, logs and publishes them", () =>
    Effect.gen(function* () {
      const alerts = yield* (yield* Alerts.Alerts).subscribe
      const gates = yield* Gates.Gates
      const call = (error: RateLimited | ServerError | undefined, remaining: number) =>
        Effect.scoped(
          Effect.gen(function* () {
            const ticket = yield* gates.admit(chatAdmission("key-1"))
            const snapshot = RateLimitSnapshot.make({ limitRequests: 100, remainingRequests: remaining })
            const send = Effect.andThen(
              TestClock.adjust(50),
              error === undefined ? Effect.succeed({ status: 200, snapshot }) : Effect.fail(error)
            )
            yield* Effect.exit(Effect.scoped(ticket.attempt("key-1", send)))
            yield* ticket.settle({ usage: undefined, sent: true, error })
          })
        )
      for (let i = 0; i < 4; i++) yield* call(new ServerError({ message: "boom", status: 502 }), 90)
      yield* TestClock.adjust(20_000) // the window forgets them
      for (let i = 0; i < 4; i++) yield* call(new ServerError({ message: "boom", status: 502 }), 90)
      yield* call(undefined, 10)
      yield* call(new ServerError({ message: "boom", status: 502 }), 90)
      yield* Effect.yieldNow
      yield* Effect.sleep(0)
      const received = yield* PubSub.takeUpTo(alerts, Number.MAX_SAFE_INTEGER)
      expect(received.map((alert) => alert._tag)).toEqual(["RateLimitHeadroomLow", "ErrorBurst"])
      expect(received[1]).toMatchObject({ count: 5, errors: { ServerError: 5 } })
    }).pipe(
      Effect.provide(
        Alerts.layer({ rateLimitSpike: false }).pipe(Layer.provideMerge(Telemetry.wrap(Gates.none, { logs: false })))
      )
    )
  )
})
