/**
 * Telemetry for every call: one event per attempt and one per call, emitted through Effect's own facilities —
 * log lines (`Effect.log*` with annotations; pick `Logger.consoleJson` or `Logger.consoleStructured`), `Metric`s, and
 * OpenTelemetry GenAI attributes on the client's call span — and published on a `PubSub` that `Alerts`,
 * `RunReport.recorder` or your own code can subscribe to.
 *
 * Telemetry is a decorator of the gates' `Call` (docs/call-flow.md): `Telemetry.layer()` needs a `Gates` and
 * provides a wrapped one, so it is provided *over* the gates layer (`Telemetry.wrap(gatesLayer)`); every `Call` the
 * inner gates admit comes back decorated. From the call it sees the path, model, stream flag and key fingerprint
 * (`keyId`), each attempt's status, rate-limit headers or typed error, and the usage and cost the call settled
 * with. It never sees the API key, and it never sees message content: the `Call` does not carry it, so nothing
 * here can log a prompt or a completion. The bodies live in `internal/telemetry/` (`decorate`, `events`,
 * `metrics`).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Metric from "effect/Metric"
import type * as PubSub from "effect/PubSub"
import * as Stream from "effect/Stream"
import type * as Scope from "effect/Scope"
import * as Gates from "./Gates.js"
import * as decorate from "./internal/telemetry/decorate.js"
import * as internalEvents from "./internal/telemetry/events.js"
import * as metrics from "./internal/telemetry/metrics.js"
import type { Pricing } from "./Pricing.js"

/**
 * What the rate-limit headers of a response said (absent headers stay absent).
 *
 * @since 0.1.0
 * @category models
 */
export interface RateLimitHeadroom {
  readonly limitRequests?: number | undefined
  readonly remainingRequests?: number | undefined
  readonly resetRequestsMs?: number | undefined
  readonly limitTokens?: number | undefined
  readonly remainingTokens?: number | undefined
  readonly resetTokensMs?: number | undefined
}

/**
 * One attempt (one HTTP request, or a refusal by a gate before it) ended.
 *
 * @since 0.1.0
 * @category models
 */
export interface AttemptEvent {
  readonly _tag: "Attempt"
  /** Sequence number of the call within this telemetry layer; every event of a call shares it. */
  readonly callId: number
  /** Epoch ms (from `Clock`) when the attempt ended. */
  readonly at: number
  readonly model?: string | undefined
  /** The API path with identifiers replaced: `/chat/completions`, `/files/{id}/content`. */
  readonly endpoint: string
  readonly method: string
  readonly stream: boolean
  /** The key's non-secret fingerprint. */
  readonly keyId: string
  /** 1 for the first attempt. */
  readonly attempt: number
  readonly outcome: "ok" | "error"
  readonly status?: number | undefined
  /** The `_tag` of the typed error: `RateLimited`, `ServerError`, `Timeout` … */
  readonly errorTag?: string | undefined
  /** The server's `error.code`: `rate_limit_exceeded`, `model_not_found` … */
  readonly errorCode?: string | undefined
  readonly retryable?: boolean | undefined
  readonly requestId?: string | undefined
  /** From the end of gate admission to the end of the attempt (for streams: to the response headers). */
  readonly latencyMs: number
  /** Time spent waiting in the gates (rate limiter, concurrency) before sending. */
  readonly gateWaitMs: number
  readonly rateLimit?: RateLimitHeadroom | undefined
  readonly retryAfterMs?: number | undefined
}

/**
 * A call ended: successfully, with an error (after its retries), or interrupted.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallEvent {
  readonly _tag: "Call"
  readonly callId: number
  /** Epoch ms when the call ended. */
  readonly at: number
  /** Epoch ms when the call was admitted. */
  readonly startedAt: number
  readonly model?: string | undefined
  readonly endpoint: string
  readonly method: string
  readonly stream: boolean
  readonly batch: boolean
  readonly keyId: string
  readonly outcome: "ok" | "error" | "interrupted"
  /** Whether any attempt reached the server (it may be billed). */
  readonly sent: boolean
  readonly attempts: number
  readonly errorTag?: string | undefined
  readonly errorCode?: string | undefined
  readonly requestId?: string | undefined
  /** From admission to settlement (for streams: to the end of the stream). */
  readonly latencyMs: number
  /** Time to the first token, for streams whose reader called `Telemetry.recordFirstToken`. */
  readonly ttftMs?: number | undefined
  readonly promptTokens?: number | undefined
  readonly completionTokens?: number | undefined
  readonly cachedPromptTokens?: number | undefined
  readonly totalTokens?: number | undefined
  /** USD, from the `Pricing` service; absent when no price is known (never guessed). */
  readonly costUsd?: number | undefined
  /** `stop`, `length`, `content_filter`, `tool_calls`, when the client or stream reported it. */
  readonly finishReason?: string | undefined
  /** The model the server says answered (`gpt-4o-2024-08-06`), when reported. */
  readonly responseModel?: string | undefined
  readonly maxOutputTokens: number
  readonly estimatedPromptTokens: number
}

/**
 * Every telemetry event.
 *
 * @since 0.1.0
 * @category models
 */
export type TelemetryEvent = AttemptEvent | CallEvent

/**
 * What the client or stream layer learned from a response body, for the call's event and span.
 *
 * @since 0.1.0
 * @category models
 */
export type ResponseDetails = Gates.ResponseDetails

/**
 * The telemetry hub: the event stream and the recorders the client and stream layer may call.
 *
 * @since 0.1.0
 * @category services
 */
export class Telemetry extends Context.Service<
  Telemetry,
  {
    /** Every event from the moment the stream is run. */
    readonly events: Stream.Stream<TelemetryEvent>
    /** A subscription that starts now (use it to be sure no event is missed between setup and the first call). */
    readonly subscribe: Effect.Effect<PubSub.Subscription<TelemetryEvent>, never, Scope.Scope>
    /** Marks the first token of a streaming call (for `ttftMs` and `sluice_ttft_ms`). Only the first mark counts. */
    readonly recordFirstToken: (call: Gates.Call) => Effect.Effect<void>
    /** Adds what the response body said (finish reason, response model, request id) to the call's event. */
    readonly recordResponse: (call: Gates.Call, details: ResponseDetails) => Effect.Effect<void>
  }
>()("@sluice/core/Telemetry") {}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Emit log lines (debug per attempt, info per call, warning on errors). Default `true`. */
  readonly logs?: boolean
  /** Update the `sluice_*` metrics. Default `true`. */
  readonly metrics?: boolean
  /** Annotate the client's call span with GenAI attributes. Default `true`. */
  readonly spans?: boolean
  /**
   * Events kept per subscriber that has not read them yet. A slow subscriber loses its oldest events rather
   * than slowing the calls down. Default 16384.
   */
  readonly bufferSize?: number
  /**
   * Prices for calls the gates did not price (`Gates.none` has no prices): a call the gates priced is reported at
   * the cost it settled with, computed once. Default: the `Pricing` service visible to the layer, else the built-in
   * table. `false`: record no costs at all. Models without a known price never get a guessed cost.
   */
  readonly pricing?: Pricing["Service"] | false
}

/**
 * Attempts (HTTP requests and gate refusals), tagged `model`, `endpoint`, `outcome` (`ok` | `error`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const requestsTotal: Metric.Counter<number> = metrics.requestsTotal

/**
 * Calls, tagged `model`, `endpoint`, `outcome` (`ok` | `error` | `interrupted`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const callsTotal: Metric.Counter<number> = metrics.callsTotal

/**
 * Failed attempts and refused calls, tagged `model`, `endpoint`, `error` (the error's `_tag`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const errorsTotal: Metric.Counter<number> = metrics.errorsTotal

/**
 * Tokens reported by the server, tagged `model`, `endpoint`, `kind` (`prompt` | `completion`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const tokensTotal: Metric.Counter<number> = metrics.tokensTotal

/**
 * USD spent on calls with a known price, tagged `model`, `endpoint`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const costUsdTotal: Metric.Counter<number> = metrics.costUsdTotal

/**
 * Latency in ms, tagged `model`, `endpoint`, `kind` (`attempt` | `call`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const latencyMs: Metric.Histogram<number> = metrics.latencyMs

/**
 * Time to first token in ms for streams, tagged `model`, `endpoint`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const ttftMs: Metric.Histogram<number> = metrics.ttftMs

/**
 * Remaining / limit of the server's rate limit after the latest response, tagged `model`, `key_id`,
 * `bucket` (`requests` | `tokens`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const rateLimitRemainingRatio: Metric.Gauge<number> = metrics.rateLimitRemainingRatio

/**
 * Headroom ratio of one bucket, when both the limit and the remaining count are known.
 *
 * @since 0.1.0
 * @category utils
 */
export const headroomRatio: (
  headroom: RateLimitHeadroom | undefined,
  bucket: "requests" | "tokens"
) => number | undefined = internalEvents.headroomRatio

/**
 * Wraps `inner` gates with telemetry: every `Call` they admit comes back decorated, recording its attempts and
 * its settlement as events, metrics, log lines and span attributes. The decorated call runs `inner`'s
 * operations first and records afterwards, so a telemetry problem can never refuse or delay a call beyond the
 * bookkeeping itself. What the call did (attempts, sent, usage, cost) is read from the `Call`; telemetry keeps
 * only what it adds (its call id, the first-token time, the response details).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  inner: Gates.Gates["Service"],
  options?: Options
) => Effect.Effect<
  { readonly gates: Gates.Gates["Service"]; readonly telemetry: Telemetry["Service"] },
  never,
  Scope.Scope
> = decorate.make

/**
 * Telemetry over the `Gates` in the context: needs `Gates` (and uses `Pricing` when present), provides the
 * wrapped `Gates` and the `Telemetry` hub. Provide it over your gates: `Layer.provide(Telemetry.layer(), gates)`
 * or {@link wrap}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Gates.Gates | Telemetry, never, Gates.Gates> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const inner = yield* Gates.Gates
      const { gates, telemetry } = yield* make(inner, options)
      return Context.make(Gates.Gates, gates).pipe(Context.add(Telemetry, telemetry))
    })
  )

/**
 * Wraps a gates layer with telemetry. Everything the gates layer provides (`Pricing`, say) is visible to
 * telemetry too, and stays provided.
 *
 * @since 0.1.0
 * @category layers
 */
export const wrap = <ROut, E, RIn>(
  gates: Layer.Layer<ROut, E, RIn>,
  options?: Options
): Layer.Layer<ROut | Gates.Gates | Telemetry, E, Exclude<RIn, never>> =>
  Layer.provideMerge(layer(options), gates as Layer.Layer<ROut | Gates.Gates, E, RIn>)

/**
 * Every telemetry event from the moment the stream runs.
 *
 * @since 0.1.0
 * @category accessors
 */
export const events: Stream.Stream<TelemetryEvent, never, Telemetry> = Stream.unwrap(
  Effect.map(Telemetry, (telemetry) => telemetry.events)
)

/**
 * Marks the first token of a streaming call (`call.recordFirstToken`). A no-op for a call no `Telemetry`
 * decorates, so the stream layer can call it unconditionally.
 *
 * @since 0.1.0
 * @category recorders
 */
export const recordFirstToken = (call: Gates.Call): Effect.Effect<void> => call.recordFirstToken

/**
 * Adds the finish reason, response model or request id of a call to its event and span. Call it before the
 * call settles. A no-op for a call no `Telemetry` decorates.
 *
 * @since 0.1.0
 * @category recorders
 */
export const recordResponse = (call: Gates.Call, details: ResponseDetails): Effect.Effect<void> =>
  call.recordResponse(details)
