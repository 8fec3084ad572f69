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
import type * as PubSub from "effect/PubSub"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as ModelLifecycle from "@sluice/core/ModelLifecycle"
import type { Telemetry, TelemetryEvent } from "@sluice/core/Telemetry"
import * as Service from "./internal/alerts.js"
import * as internal from "./internal/detector.js"

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

/**
 * The window logic, free of effects: feed it events in time order, it answers the alerts they raise. Time is
 * the events' `at`, so tests can give explicit timestamps.
 *
 * @since 0.1.0
 * @category constructors
 */
export const detector: (options?: Options) => (event: TelemetryEvent) => ReadonlyArray<Alert> = internal.detector

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
  Service.make(options)

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
