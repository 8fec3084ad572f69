/**
 * Alerts derived from telemetry events over sliding windows: rate-limit headroom below 20 %, a 429 spike, a
 * burst of other errors, high p99 latency, high tokens per request, a deprecated or retired model in use, and a
 * budget 80 % spent. Each alert fires when its condition is crossed — not on every event — and re-arms only
 * after the condition has cleared (hysteresis) and a cool-down has passed.
 *
 * The window logic is a plain, effect-free {@link detector} (events in, alerts out, time taken from the
 * events' own timestamps); {@link layer} runs it over the `Telemetry` events, logs each alert as a warning and
 * publishes it on a stream.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as ModelLifecycle from "@sluice/core/ModelLifecycle"
import { headroomRatio, Telemetry, type TelemetryEvent } from "@sluice/core/Telemetry"
import { Sketch } from "./internal/sketch.js"
import { Latch, Window } from "./internal/window.js"

/**
 * Rate-limit headroom (remaining / limit from the response headers) fell below the threshold for a
 * (key, model) scope.
 *
 * @since 0.1.0
 * @category models
 */
export interface RateLimitHeadroomLow {
  readonly _tag: "RateLimitHeadroomLow"
  readonly at: number
  readonly message: string
  readonly model: string | undefined
  readonly keyId: string
  readonly bucket: "requests" | "tokens"
  readonly ratio: number
  readonly threshold: number
}

/**
 * The share of attempts answered with 429 over the window crossed the threshold.
 *
 * @since 0.1.0
 * @category models
 */
export interface RateLimitSpike {
  readonly _tag: "RateLimitSpike"
  readonly at: number
  readonly message: string
  readonly share: number
  readonly rateLimited: number
  readonly attempts: number
  readonly windowMs: number
  readonly threshold: number
}

/**
 * At least `count` errors other than 429 within the window.
 *
 * @since 0.1.0
 * @category models
 */
export interface ErrorBurst {
  readonly _tag: "ErrorBurst"
  readonly at: number
  readonly message: string
  readonly count: number
  readonly windowMs: number
  /** Errors in the window by tag. */
  readonly errors: Readonly<Record<string, number>>
}

/**
 * The p99 latency of calls over the window crossed the threshold.
 *
 * @since 0.1.0
 * @category models
 */
export interface LatencyHigh {
  readonly _tag: "LatencyHigh"
  readonly at: number
  readonly message: string
  readonly p99Ms: number
  readonly thresholdMs: number
  readonly samples: number
  readonly windowMs: number
}

/**
 * The average total tokens per call over the window crossed the threshold.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokensPerRequestHigh {
  readonly _tag: "TokensPerRequestHigh"
  readonly at: number
  readonly message: string
  readonly averageTokens: number
  readonly threshold: number
  readonly calls: number
  readonly windowMs: number
}

/**
 * A deprecated or retired model is in use (fires once per model).
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelDeprecated {
  readonly _tag: "ModelDeprecated"
  readonly at: number
  readonly message: string
  readonly model: string
  readonly state: "deprecated" | "retired"
  readonly shutdownDate: string | undefined
  readonly replacement: string | undefined
}

/**
 * Spend observed by telemetry crossed a share of the budget (fires once).
 *
 * @since 0.1.0
 * @category models
 */
export interface BudgetNearlySpent {
  readonly _tag: "BudgetNearlySpent"
  readonly at: number
  readonly message: string
  readonly spentUsd: number
  readonly ceilingUsd: number
  readonly threshold: number
}

/**
 * Every alert.
 *
 * @since 0.1.0
 * @category models
 */
export type Alert =
  | RateLimitHeadroomLow
  | RateLimitSpike
  | ErrorBurst
  | LatencyHigh
  | TokensPerRequestHigh
  | ModelDeprecated
  | BudgetNearlySpent

/**
 * Thresholds and windows. Each rule can be turned off with `false`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Default: below 0.2 of the limit; re-arms at 0.3; at most once a minute per scope and bucket. */
  readonly headroom?: { readonly threshold?: number; readonly rearm?: number; readonly cooldownMs?: number } | false
  /** Default: more than 5 % of at least 20 attempts in 60 s answered 429. */
  readonly rateLimitSpike?:
    | { readonly share?: number; readonly windowMs?: number; readonly minAttempts?: number }
    | false
  /** Default: 5 or more non-429 errors (failed attempts and refused calls) within 10 s. */
  readonly errorBurst?: { readonly count?: number; readonly windowMs?: number } | false
  /** Default: p99 call latency above 30 s over 60 s, from at least 20 calls; evaluated at most once a second. */
  readonly latency?: { readonly p99Ms?: number; readonly windowMs?: number; readonly minSamples?: number } | false
  /** Default: average tokens per call above 16 000 over 60 s, from at least 5 calls. */
  readonly tokensPerRequest?: { readonly max?: number; readonly windowMs?: number; readonly minCalls?: number } | false
  /**
   * Whether a model is deprecated or retired. Default: the `ModelLifecycle` service when provided to the
   * alerts layer, else the built-in lifecycle table. `false` turns the rule off.
   */
  readonly modelStatus?: ((model: string, nowMs: number) => ModelLifecycle.Status) | false
  /** Warn when spend seen by telemetry reaches `threshold` (default 0.8) of `ceilingUsd`. Off unless given. */
  readonly budget?: { readonly ceilingUsd: number; readonly threshold?: number; readonly alreadySpentUsd?: number }
  /** Log each alert with `Effect.logWarning`. Default `true`. */
  readonly log?: boolean
}

const percent = (ratio: number): string => `${(ratio * 100).toFixed(1)} %`

/**
 * The window logic, free of effects: feed it events in time order, it answers the alerts they raise. Time is
 * the events' `at`, so tests can give explicit timestamps.
 *
 * @since 0.1.0
 * @category constructors
 */
export const detector = (options: Options = {}): ((event: TelemetryEvent) => ReadonlyArray<Alert>) => {
  const headroom = options.headroom === false ? undefined : options.headroom
  const headroomThreshold = headroom?.threshold ?? 0.2
  const headroomRearm = headroom?.rearm ?? headroomThreshold + 0.1
  const headroomLatches = new Map<string, Latch>()

  const spike = options.rateLimitSpike === false ? undefined : options.rateLimitSpike
  const spikeShare = spike?.share ?? 0.05
  const spikeWindow = new Window<boolean>(spike?.windowMs ?? 60_000)
  const spikeMin = spike?.minAttempts ?? 20
  const spikeLatch = new Latch(spikeWindow.windowMs)
  let spikeCount = 0

  const burst = options.errorBurst === false ? undefined : options.errorBurst
  const burstCount = burst?.count ?? 5
  const burstWindow = new Window<string>(burst?.windowMs ?? 10_000)
  const burstLatch = new Latch(burstWindow.windowMs)

  const latency = options.latency === false ? undefined : options.latency
  const latencyThreshold = latency?.p99Ms ?? 30_000
  const latencyWindow = new Window<number>(latency?.windowMs ?? 60_000, 20_000)
  // The window's latencies as a sketch: a sample leaving the window leaves the sketch.
  const latencySketch = new Sketch()
  const dropLatency = (value: number) => latencySketch.remove(value)
  const latencyMin = latency?.minSamples ?? 20
  const latencyLatch = new Latch(latencyWindow.windowMs)
  let latencyEvaluatedAt = Number.NEGATIVE_INFINITY

  const tokens = options.tokensPerRequest === false ? undefined : options.tokensPerRequest
  const tokensMax = tokens?.max ?? 16_000
  const tokensWindow = new Window<number>(tokens?.windowMs ?? 60_000)
  const tokensMin = tokens?.minCalls ?? 5
  const tokensLatch = new Latch(tokensWindow.windowMs)
  let tokensSum = 0

  const modelStatus =
    options.modelStatus === false
      ? undefined
      : (options.modelStatus ??
        ((model: string, nowMs: number) => ModelLifecycle.status(ModelLifecycle.table, model, nowMs)))
  const modelsSeen = new Set<string>()

  const budgetThreshold = options.budget?.threshold ?? 0.8
  let spentUsd = options.budget?.alreadySpentUsd ?? 0
  let budgetFired = false

  const onAttempt = (event: Extract<TelemetryEvent, { _tag: "Attempt" }>, out: Array<Alert>) => {
    const now = event.at
    if (options.headroom !== false) {
      for (const bucket of ["requests", "tokens"] as const) {
        const ratio = headroomRatio(event.rateLimit, bucket)
        if (ratio === undefined) continue
        const key = `${event.keyId}\u0000${event.model ?? ""}\u0000${bucket}`
        let latch = headroomLatches.get(key)
        if (latch === undefined) {
          latch = new Latch(headroom?.cooldownMs ?? 60_000)
          headroomLatches.set(key, latch)
        }
        if (latch.step(now, ratio < headroomThreshold, ratio >= headroomRearm)) {
          out.push({
            _tag: "RateLimitHeadroomLow",
            at: now,
            message: `rate-limit headroom of ${event.model ?? "calls"} (key ${event.keyId}) is ${percent(ratio)} of the ${bucket} limit, below ${percent(headroomThreshold)}`,
            model: event.model,
            keyId: event.keyId,
            bucket,
            ratio,
            threshold: headroomThreshold
          })
        }
      }
    }
    if (options.rateLimitSpike !== false) {
      const limited = event.errorTag === "RateLimited"
      const drop = (wasLimited: boolean) => {
        if (wasLimited) spikeCount--
      }
      spikeWindow.prune(now, drop)
      spikeWindow.push(now, limited, drop)
      if (limited) spikeCount++
      const share = spikeCount / spikeWindow.size
      const raised = spikeWindow.size >= spikeMin && share > spikeShare
      if (spikeLatch.step(now, raised, share <= spikeShare)) {
        out.push({
          _tag: "RateLimitSpike",
          at: now,
          message: `${percent(share)} of the last ${spikeWindow.size} attempts were rate limited (429) within ${spikeWindow.windowMs / 1000} s, above ${percent(spikeShare)}`,
          share,
          rateLimited: spikeCount,
          attempts: spikeWindow.size,
          windowMs: spikeWindow.windowMs,
          threshold: spikeShare
        })
      }
    }
    if (event.errorTag !== undefined && event.errorTag !== "RateLimited") onError(now, event.errorTag, out)
    if (event.errorCode === "model_not_found" && event.model !== undefined && modelStatus !== undefined) {
      const key = `retired\u0000${event.model}`
      if (!modelsSeen.has(key)) {
        modelsSeen.add(key)
        modelsSeen.add(event.model)
        out.push({
          _tag: "ModelDeprecated",
          at: now,
          message: `model "${event.model}" was not found by the server (404 model_not_found): it is retired or misspelt`,
          model: event.model,
          state: "retired",
          shutdownDate: undefined,
          replacement: undefined
        })
      }
    }
  }

  const onError = (now: number, tag: string, out: Array<Alert>) => {
    if (options.errorBurst === false) return
    burstWindow.prune(now)
    burstWindow.push(now, tag)
    const raised = burstWindow.size >= burstCount
    if (burstLatch.step(now, raised, !raised)) {
      const errors: Record<string, number> = {}
      for (const value of burstWindow.values()) errors[value] = (errors[value] ?? 0) + 1
      out.push({
        _tag: "ErrorBurst",
        at: now,
        message: `${burstWindow.size} errors within ${burstWindow.windowMs / 1000} s: ${Object.entries(errors)
          .map(([name, count]) => `${name} ×${count}`)
          .join(", ")}`,
        count: burstWindow.size,
        windowMs: burstWindow.windowMs,
        errors
      })
    }
  }

  const onCall = (event: Extract<TelemetryEvent, { _tag: "Call" }>, out: Array<Alert>) => {
    const now = event.at
    if (event.attempts === 0 && event.errorTag !== undefined && event.errorTag !== "RateLimited") {
      // Refused before any attempt (budget, fuse, lifecycle): never seen as an attempt, so count it here.
      onError(now, event.errorTag, out)
    }
    if (modelStatus !== undefined && event.model !== undefined && !modelsSeen.has(event.model)) {
      modelsSeen.add(event.model)
      const status = modelStatus(event.model, now)
      if (status._tag !== "Active") {
        const state = status._tag === "Retired" ? "retired" : "deprecated"
        const shutdown = status.entry.shutdown
        const replacement = status.entry.replacement
        out.push({
          _tag: "ModelDeprecated",
          at: now,
          message: `model "${event.model}" is ${state}${shutdown === undefined ? "" : ` (shutdown ${shutdown})`}${replacement === undefined ? "" : `; use ${replacement}`}`,
          model: event.model,
          state,
          shutdownDate: shutdown,
          replacement
        })
      }
    }
    if (event.outcome === "interrupted" && !event.sent) return
    if (options.latency !== false) {
      latencySketch.add(event.latencyMs)
      latencyWindow.push(now, event.latencyMs, dropLatency)
      if (now - latencyEvaluatedAt >= 1000) {
        latencyEvaluatedAt = now
        latencyWindow.prune(now, dropLatency)
        const samples = latencySketch.total
        const p99 = latencySketch.quantile(0.99) ?? 0
        const raised = samples >= latencyMin && p99 > latencyThreshold
        if (latencyLatch.step(now, raised, p99 <= latencyThreshold * 0.9)) {
          out.push({
            _tag: "LatencyHigh",
            at: now,
            message: `p99 latency is ${Math.round(p99)} ms over the last ${samples} calls (${latencyWindow.windowMs / 1000} s), above ${latencyThreshold} ms`,
            p99Ms: p99,
            thresholdMs: latencyThreshold,
            samples,
            windowMs: latencyWindow.windowMs
          })
        }
      }
    }
    if (options.tokensPerRequest !== false && event.totalTokens !== undefined) {
      const drop = (dropped: number) => {
        tokensSum -= dropped
      }
      tokensWindow.prune(now, drop)
      tokensWindow.push(now, event.totalTokens, drop)
      tokensSum += event.totalTokens
      const average = tokensSum / tokensWindow.size
      const raised = tokensWindow.size >= tokensMin && average > tokensMax
      if (tokensLatch.step(now, raised, average <= tokensMax * 0.9)) {
        out.push({
          _tag: "TokensPerRequestHigh",
          at: now,
          message: `calls used ${Math.round(average)} tokens on average over the last ${tokensWindow.size} calls, above ${tokensMax}`,
          averageTokens: average,
          threshold: tokensMax,
          calls: tokensWindow.size,
          windowMs: tokensWindow.windowMs
        })
      }
    }
    if (options.budget !== undefined && event.costUsd !== undefined) {
      spentUsd += event.costUsd
      const ceiling = options.budget.ceilingUsd
      if (!budgetFired && ceiling > 0 && spentUsd >= ceiling * budgetThreshold) {
        budgetFired = true
        out.push({
          _tag: "BudgetNearlySpent",
          at: now,
          message: `$${spentUsd.toFixed(4)} spent: ${percent(spentUsd / ceiling)} of the $${ceiling} budget`,
          spentUsd,
          ceilingUsd: ceiling,
          threshold: budgetThreshold
        })
      }
    }
  }

  return (event) => {
    const out: Array<Alert> = []
    if (event._tag === "Attempt") onAttempt(event, out)
    else onCall(event, out)
    return out
  }
}

/**
 * The alert stream.
 *
 * @since 0.1.0
 * @category services
 */
export class Alerts extends Context.Service<
  Alerts,
  {
    /** Every alert from the moment the stream runs. */
    readonly alerts: Stream.Stream<Alert>
    /** A subscription that starts now. */
    readonly subscribe: Effect.Effect<PubSub.Subscription<Alert>, never, Scope.Scope>
  }
>()("@sluice/report/Alerts") {}

/**
 * Subscribes to `Telemetry` at once (no event is missed after the layer is built) and runs the detector in
 * a fiber that lives as long as the layer. Uses the `ModelLifecycle` service when present.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Alerts["Service"], never, Telemetry | Scope.Scope> =>
  Effect.gen(function* () {
    const telemetry = yield* Telemetry
    const lifecycle = yield* Effect.serviceOption(ModelLifecycle.ModelLifecycle)
    const modelStatus =
      options.modelStatus === undefined && Option.isSome(lifecycle)
        ? (model: string, nowMs: number) => ModelLifecycle.status(lifecycle.value.entries, model, nowMs)
        : options.modelStatus
    const detect = detector(modelStatus === undefined ? options : { ...options, modelStatus })
    const hub = yield* Effect.acquireRelease(PubSub.sliding<Alert>(1024), PubSub.shutdown)
    const events = yield* telemetry.subscribe
    const log = options.log ?? true
    yield* PubSub.take(events).pipe(
      Effect.flatMap((event) =>
        Effect.forEach(
          detect(event),
          (alert) =>
            Effect.andThen(
              log
                ? Effect.logWarning(`alert ${alert._tag}: ${alert.message}`).pipe(
                    Effect.annotateLogs({ event: "alert", alert: alert._tag })
                  )
                : Effect.void,
              PubSub.publish(hub, alert)
            ),
          { discard: true }
        )
      ),
      Effect.forever,
      Effect.forkScoped
    )
    return Alerts.of({ alerts: Stream.fromPubSub(hub), subscribe: PubSub.subscribe(hub) })
  })

/**
 * Alerts over the `Telemetry` in the context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Alerts, never, Telemetry> =>
  Layer.effect(Alerts, make(options))

/**
 * Every alert from the moment the stream runs.
 *
 * @since 0.1.0
 * @category accessors
 */
export const alerts: Stream.Stream<Alert, never, Alerts> = Stream.unwrap(Effect.map(Alerts, (a) => a.alerts))
