/**
 * Telemetry for every call: one event per attempt and one per call, emitted through Effect's own facilities —
 * log lines (`Effect.log*` with annotations; pick `Logger.consoleJson` or `Logger.consoleStructured`), `Metric`s, and
 * OpenTelemetry GenAI attributes on the client's call span — and published on a `PubSub` that `Alerts`,
 * `RunReport.recorder` or your own code can subscribe to.
 *
 * Telemetry is a decorator of the `Gates` service: `Telemetry.layer()` needs a `Gates` and provides a wrapped
 * one, so it is provided *over* the gates layer (`Telemetry.wrap(gatesLayer)`). From the hooks it sees the
 * path, model, stream flag and key fingerprint (`keyId`) of a call, each attempt's status, rate-limit headers
 * or typed error, and the call's usage. It never sees the API key, and it never sees message content: the
 * hooks do not carry it, so nothing here can log a prompt or a completion.
 *
 * @since 0.1.0
 */
import { Clock, Context, Effect, Layer, Metric, Option, PubSub, Stream } from "effect"
import type * as Scope from "effect/Scope"
import { type OpenAiError, retryAfterMsOf } from "./Errors.js"
import * as Gates from "./Gates.js"
import { compact, defined, endpointOf, operationOf, scrubSecrets } from "./internal/telemetry/format.js"
import { fromTable, Pricing } from "./Pricing.js"
import type { RateLimitSnapshot } from "./RateLimitHeaders.js"
import * as Usage from "./Usage.js"

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
   * Prices for `costUsd`. Default: the `Pricing` service visible to the layer, else the built-in table (the same
   * fallback the gates use). `false`: record no costs. Models without a known price never get a guessed cost.
   */
  readonly pricing?: Pricing["Service"] | false
}

const latencyBoundaries: ReadonlyArray<number> = [
  5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 20_000, 30_000, 60_000, 120_000, 300_000
]

// How to build each metric again with attributes of its own (see `withTags`).
const definitions = new WeakMap<object, (attributes: Record<string, string>) => object>()

const counter = (name: string, description: string): Metric.Counter<number> => {
  const metric = Metric.counter(name, { description, incremental: true })
  definitions.set(metric, (attributes) => Metric.counter(name, { description, incremental: true, attributes }))
  return metric
}

const histogram = (name: string, description: string): Metric.Histogram<number> => {
  const metric = Metric.histogram(name, { description, boundaries: latencyBoundaries })
  definitions.set(metric, (attributes) =>
    Metric.histogram(name, { description, boundaries: latencyBoundaries, attributes })
  )
  return metric
}

const gauge = (name: string, description: string): Metric.Gauge<number> => {
  const metric = Metric.gauge(name, { description })
  definitions.set(metric, (attributes) => Metric.gauge(name, { description, attributes }))
  return metric
}

/**
 * Attempts (HTTP requests and gate refusals), tagged `model`, `endpoint`, `outcome` (`ok` | `error`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const requestsTotal = counter("sluice_requests_total", "Attempts by model, endpoint and outcome")

/**
 * Calls, tagged `model`, `endpoint`, `outcome` (`ok` | `error` | `interrupted`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const callsTotal = counter("sluice_calls_total", "Calls by model, endpoint and outcome")

/**
 * Failed attempts and refused calls, tagged `model`, `endpoint`, `error` (the error's `_tag`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const errorsTotal = counter("sluice_errors_total", "Failed attempts and refused calls by error tag")

/**
 * Tokens reported by the server, tagged `model`, `endpoint`, `kind` (`prompt` | `completion`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const tokensTotal = counter("sluice_tokens_total", "Tokens by model, endpoint and kind (prompt | completion)")

/**
 * USD spent on calls with a known price, tagged `model`, `endpoint`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const costUsdTotal = counter("sluice_cost_usd_total", "USD spent (calls with a known price)")

/**
 * Latency in ms, tagged `model`, `endpoint`, `kind` (`attempt` | `call`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const latencyMs = histogram("sluice_latency_ms", "Latency per attempt and per call")

/**
 * Time to first token in ms for streams, tagged `model`, `endpoint`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const ttftMs = histogram("sluice_ttft_ms", "Time to first token of streams")

/**
 * Remaining / limit of the server's rate limit after the latest response, tagged `model`, `key_id`,
 * `bucket` (`requests` | `tokens`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const rateLimitRemainingRatio = gauge(
  "sluice_ratelimit_remaining_ratio",
  "Rate-limit headroom (remaining / limit) from the latest response headers"
)

const modelTag = (model: string | undefined): string => model ?? "none"

const errorCodeOf = (error: OpenAiError): string | undefined =>
  "code" in error && typeof error.code === "string" ? error.code : undefined

const statusOf = (error: OpenAiError): number | undefined =>
  "status" in error && typeof error.status === "number" ? error.status : undefined

const requestIdOf = (error: OpenAiError): string | undefined =>
  "requestId" in error && typeof error.requestId === "string" ? error.requestId : undefined

const snapshotOf = (error: OpenAiError): RateLimitSnapshot | undefined =>
  "snapshot" in error ? error.snapshot : undefined

const headroomOf = (snapshot: RateLimitSnapshot | undefined): RateLimitHeadroom | undefined => {
  if (snapshot === undefined) return undefined
  const headroom = defined({
    limitRequests: snapshot.limitRequests,
    remainingRequests: snapshot.remainingRequests,
    resetRequestsMs: snapshot.resetRequestsMs,
    limitTokens: snapshot.limitTokens,
    remainingTokens: snapshot.remainingTokens,
    resetTokensMs: snapshot.resetTokensMs
  }) as RateLimitHeadroom
  return Object.keys(headroom).length === 0 ? undefined : headroom
}

/**
 * Headroom ratio of one bucket, when both the limit and the remaining count are known.
 *
 * @since 0.1.0
 * @category utils
 */
export const headroomRatio = (headroom: RateLimitHeadroom | undefined, bucket: "requests" | "tokens") => {
  const limit = bucket === "requests" ? headroom?.limitRequests : headroom?.limitTokens
  const remaining = bucket === "requests" ? headroom?.remainingRequests : headroom?.remainingTokens
  return limit === undefined || remaining === undefined || limit <= 0 ? undefined : Math.max(0, remaining / limit)
}

/** What telemetry adds to a call of its own: the rest (attempts, sent, usage, cost) it reads from the `Call`. */
interface Marks {
  readonly callId: number
  readonly startedAt: number
  firstTokenAt: number | undefined
  details: ResponseDetails
  lastAttempt: AttemptEvent | undefined
  settled: boolean
}

const formatUsd = (usd: number): string =>
  usd <= 0 ? "$0" : `$${usd.toFixed(usd >= 0.01 ? 4 : Math.min(12, 2 - Math.floor(Math.log10(usd))))}`

const attemptMessage = (event: AttemptEvent): string =>
  `${event.method} ${event.endpoint}${event.model === undefined ? "" : ` ${event.model}`} attempt ${event.attempt}: ${
    event.outcome === "ok"
      ? `${event.status ?? "ok"}`
      : `${event.errorTag}${event.status === undefined ? "" : ` ${event.status}`}`
  } in ${event.latencyMs} ms`

const callMessage = (event: CallEvent): string => {
  const head = `${event.method} ${event.endpoint}${event.model === undefined ? "" : ` ${event.model}`}`
  const status = event.outcome === "error" ? `failed with ${event.errorTag}` : event.outcome
  const parts = [`${event.attempts} attempt${event.attempts === 1 ? "" : "s"}`]
  if (event.totalTokens !== undefined) parts.push(`${event.totalTokens} tokens`)
  if (event.costUsd !== undefined) parts.push(formatUsd(event.costUsd))
  if (event.finishReason !== undefined) parts.push(`finish ${event.finishReason}`)
  return `${head}: ${status} in ${event.latencyMs} ms, ${parts.join(", ")}`
}

/** The attempt event of an outcome. */
const attemptEvent = (
  call: Gates.Call,
  marks: Marks,
  outcome: Gates.AttemptOutcome,
  times: { readonly now: number; readonly requestedAt: number; readonly admittedAt: number }
): AttemptEvent => {
  const info = call.info
  const failure = outcome._tag === "Failure" ? outcome.error : undefined
  const snapshot =
    failure === undefined ? (outcome as { readonly snapshot: RateLimitSnapshot }).snapshot : snapshotOf(failure)
  return compact<AttemptEvent>({
    _tag: "Attempt",
    callId: marks.callId,
    at: times.now,
    model: info.model,
    endpoint: endpointOf(info.path),
    method: info.method,
    stream: info.stream,
    keyId: info.keyId,
    attempt: Math.max(1, call.progress.attempts),
    outcome: failure === undefined ? "ok" : "error",
    status: outcome._tag === "Response" ? outcome.status : statusOf(outcome.error),
    errorTag: failure?._tag,
    errorCode: failure === undefined ? undefined : errorCodeOf(failure),
    retryable: failure?.retryable,
    requestId: outcome._tag === "Response" ? outcome.requestId : requestIdOf(outcome.error),
    latencyMs: times.now - times.admittedAt,
    gateWaitMs: times.admittedAt - times.requestedAt,
    rateLimit: headroomOf(snapshot),
    retryAfterMs: failure === undefined ? snapshot?.retryAfterMs : retryAfterMsOf(failure)
  })
}

/** The call event; `usage` and `costUsd` as the call settled them. */
const callEvent = (
  call: Pick<Gates.Call, "info" | "progress" | "estimatedPromptTokens" | "maxOutputTokens">,
  marks: Marks,
  now: number,
  outcome: CallEvent["outcome"],
  result: {
    readonly usage: Gates.Usage | undefined
    readonly costUsd: number | undefined
    readonly sent: boolean
    readonly error: OpenAiError | undefined
  }
): CallEvent => {
  const { usage, error } = result
  const info = call.info
  return compact<CallEvent>({
    _tag: "Call",
    callId: marks.callId,
    at: now,
    startedAt: marks.startedAt,
    model: info.model,
    endpoint: endpointOf(info.path),
    method: info.method,
    stream: info.stream,
    batch: info.batch,
    keyId: info.keyId,
    outcome,
    sent: result.sent,
    attempts: call.progress.attempts,
    errorTag: error?._tag,
    errorCode: error === undefined ? undefined : errorCodeOf(error),
    requestId:
      marks.details.requestId ?? (error === undefined ? undefined : requestIdOf(error)) ?? marks.lastAttempt?.requestId,
    latencyMs: now - marks.startedAt,
    ttftMs: marks.firstTokenAt === undefined ? undefined : marks.firstTokenAt - marks.startedAt,
    promptTokens: usage?.promptTokens,
    completionTokens: usage?.completionTokens,
    cachedPromptTokens: usage?.cachedPromptTokens,
    totalTokens: usage === undefined ? undefined : Usage.total(usage),
    costUsd: result.costUsd,
    finishReason: marks.details.finishReason,
    responseModel: marks.details.responseModel,
    maxOutputTokens: call.maxOutputTokens,
    estimatedPromptTokens: call.estimatedPromptTokens
  })
}

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
export const make = (
  inner: Gates.Gates["Service"],
  options: Options = {}
): Effect.Effect<
  { readonly gates: Gates.Gates["Service"]; readonly telemetry: Telemetry["Service"] },
  never,
  Scope.Scope
> =>
  Effect.gen(function* () {
    // Only for calls whose gates priced nothing (Gates.none): the Pricing service when provided, else the
    // built-in table. A call the gates priced is reported at the gates' cost, computed once.
    const pricing =
      options.pricing === false
        ? undefined
        : (options.pricing ?? Option.getOrElse(yield* Effect.serviceOption(Pricing), () => Pricing.of(fromTable())))
    const hub = yield* Effect.acquireRelease(
      PubSub.sliding<TelemetryEvent>(options.bufferSize ?? 16_384),
      PubSub.shutdown
    )
    const logs = options.logs ?? true
    const metrics = options.metrics ?? true
    const spans = options.spans ?? true
    let nextCallId = 0

    const costOf = (call: Gates.Call, settled: Gates.Settlement): number | undefined => {
      if (pricing === undefined) return undefined
      if (settled.costUsd !== undefined) return settled.costUsd
      const { usage } = settled
      if (usage === undefined || call.info.model === undefined) return undefined
      return Option.getOrUndefined(pricing.cost(call.info.model, usage, { batch: call.info.batch }))
    }

    const tagsOf = (model: string | undefined, endpoint: string) => ({ model: modelTag(model), endpoint })

    const annotate = (attributes: Record<string, unknown>) =>
      spans ? Effect.annotateCurrentSpan(defined(attributes)) : Effect.void

    const emitAttempt = (event: AttemptEvent, keyId: string, message: string | undefined) =>
      Effect.gen(function* () {
        yield* PubSub.publish(hub, event)
        if (metrics) {
          const tags = tagsOf(event.model, event.endpoint)
          yield* Metric.update(requestsTotal.pipe(withTags({ ...tags, outcome: event.outcome })), 1)
          yield* Metric.update(latencyMs.pipe(withTags({ ...tags, kind: "attempt" })), event.latencyMs)
          if (event.errorTag !== undefined) {
            yield* Metric.update(errorsTotal.pipe(withTags({ ...tags, error: event.errorTag })), 1)
          }
          for (const bucket of ["requests", "tokens"] as const) {
            const ratio = headroomRatio(event.rateLimit, bucket)
            if (ratio !== undefined) {
              yield* Metric.update(
                rateLimitRemainingRatio.pipe(withTags({ model: modelTag(event.model), key_id: keyId, bucket })),
                ratio
              )
            }
          }
        }
        yield* annotate({
          "sluice.attempts": event.attempt,
          "http.response.status_code": event.status,
          "sluice.ratelimit.remaining_requests": event.rateLimit?.remainingRequests,
          "sluice.ratelimit.remaining_tokens": event.rateLimit?.remainingTokens,
          "sluice.ratelimit.limit_requests": event.rateLimit?.limitRequests,
          "sluice.ratelimit.limit_tokens": event.rateLimit?.limitTokens
        })
        if (logs) {
          const log =
            event.outcome === "ok" ? Effect.logDebug(attemptMessage(event)) : Effect.logWarning(attemptMessage(event))
          yield* log.pipe(Effect.annotateLogs(logAnnotations(event, message)))
        }
      })

    const emitCall = (event: CallEvent, message: string | undefined) =>
      Effect.gen(function* () {
        yield* PubSub.publish(hub, event)
        if (metrics) {
          const tags = tagsOf(event.model, event.endpoint)
          yield* Metric.update(callsTotal.pipe(withTags({ ...tags, outcome: event.outcome })), 1)
          yield* Metric.update(latencyMs.pipe(withTags({ ...tags, kind: "call" })), event.latencyMs)
          if (event.attempts === 0 && event.errorTag !== undefined) {
            yield* Metric.update(errorsTotal.pipe(withTags({ ...tags, error: event.errorTag })), 1)
          }
          if (event.promptTokens !== undefined) {
            yield* Metric.update(tokensTotal.pipe(withTags({ ...tags, kind: "prompt" })), event.promptTokens)
          }
          if (event.completionTokens !== undefined) {
            yield* Metric.update(tokensTotal.pipe(withTags({ ...tags, kind: "completion" })), event.completionTokens)
          }
          if (event.costUsd !== undefined) yield* Metric.update(costUsdTotal.pipe(withTags(tags)), event.costUsd)
        }
        yield* annotate({
          "gen_ai.usage.input_tokens": event.promptTokens,
          "gen_ai.usage.output_tokens": event.completionTokens,
          "gen_ai.response.model": event.responseModel,
          "gen_ai.response.finish_reasons": event.finishReason === undefined ? undefined : [event.finishReason],
          "sluice.cost_usd": event.costUsd,
          "sluice.attempts": event.attempts,
          "sluice.outcome": event.outcome,
          "sluice.ttft_ms": event.ttftMs,
          "sluice.request_id": event.requestId,
          "error.type": event.errorTag
        })
        if (logs) {
          const log =
            event.outcome === "error" ? Effect.logWarning(callMessage(event)) : Effect.logInfo(callMessage(event))
          yield* log.pipe(Effect.annotateLogs(logAnnotations(event, message)))
        }
      })

    /** The call, decorated: its attempts and its settlement recorded. */
    const decorate = (call: Gates.Call, marks: Marks): Gates.Call => {
      const info = call.info
      const attempt = <A extends Gates.AttemptResponse, R>(keyId: string, send: Effect.Effect<A, OpenAiError, R>) =>
        Effect.gen(function* () {
          const requestedAt = yield* Clock.currentTimeMillis
          let admittedAt: number | undefined
          const timed = Effect.flatMap(Clock.currentTimeMillis, (now) => {
            admittedAt = now
            return send
          })
          const record = (outcome: Gates.AttemptOutcome) =>
            Effect.flatMap(Clock.currentTimeMillis, (now) => {
              const event = attemptEvent(call, marks, outcome, { now, requestedAt, admittedAt: admittedAt ?? now })
              marks.lastAttempt = event
              return emitAttempt(
                event,
                info.keyId,
                outcome._tag === "Failure" ? scrubSecrets(outcome.error.message) : undefined
              )
            })
          return yield* call.attempt(keyId, timed).pipe(
            Effect.tapError((error) => record({ _tag: "Failure", error })),
            Effect.tap((response) =>
              record({
                _tag: "Response",
                status: response.status,
                snapshot: response.snapshot,
                requestId: response.requestId
              })
            )
          )
        })

      const settle = (result: Gates.CallResult) =>
        Effect.gen(function* () {
          const settled = yield* call.settle(result)
          if (marks.settled) return settled
          marks.settled = true
          if (result.details !== undefined) marks.details = { ...compact({ ...result.details }), ...marks.details }
          const now = yield* Clock.currentTimeMillis
          const outcome =
            result.error !== undefined ? "error" : result.usage === undefined && !result.sent ? "interrupted" : "ok"
          yield* emitCall(
            callEvent(call, marks, now, outcome, { ...result, usage: settled.usage, costUsd: costOf(call, settled) }),
            result.error === undefined ? undefined : scrubSecrets(result.error.message)
          )
          return settled
        })

      const recordFirstToken = Effect.andThen(
        call.recordFirstToken,
        Effect.suspend(() => {
          if (marks.firstTokenAt !== undefined) return Effect.void
          return Effect.flatMap(Clock.currentTimeMillis, (now) => {
            marks.firstTokenAt = now
            return metrics
              ? Metric.update(ttftMs.pipe(withTags(tagsOf(info.model, endpointOf(info.path)))), now - marks.startedAt)
              : Effect.void
          })
        })
      )

      const recordResponse = (details: ResponseDetails) =>
        Effect.andThen(
          call.recordResponse(details),
          Effect.sync(() => {
            marks.details = { ...marks.details, ...compact({ ...details }) }
          })
        )

      return { ...call, attempt, settle, recordFirstToken, recordResponse }
    }

    const admit = (info: Gates.CallInfo) =>
      Effect.gen(function* () {
        const startedAt = yield* Clock.currentTimeMillis
        const marks: Marks = {
          callId: ++nextCallId,
          startedAt,
          firstTokenAt: undefined,
          details: {},
          lastAttempt: undefined,
          settled: false
        }
        yield* annotate({
          "gen_ai.operation.name": operationOf(info.path),
          "gen_ai.system": "openai",
          "gen_ai.request.model": info.model,
          "sluice.key_id": info.keyId,
          "sluice.stream": info.stream
        })
        const call = yield* inner.admit(info).pipe(
          Effect.tapError((error) =>
            Effect.flatMap(Clock.currentTimeMillis, (now) =>
              emitCall(
                callEvent(Gates.passThrough(info), marks, now, "error", {
                  usage: undefined,
                  costUsd: undefined,
                  sent: false,
                  error
                }),
                scrubSecrets(error.message)
              )
            )
          )
        )
        if (call.maxOutputTokens > 0) yield* annotate({ "gen_ai.request.max_tokens": call.maxOutputTokens })
        // Interrupted before settlement (nothing reached the server, or the caller walked away): still one event.
        yield* Effect.addFinalizer(() =>
          marks.settled
            ? Effect.void
            : Effect.flatMap(Clock.currentTimeMillis, (now) => {
                marks.settled = true
                return emitCall(
                  callEvent(call, marks, now, "interrupted", {
                    usage: undefined,
                    costUsd: undefined,
                    sent: call.progress.sent || marks.lastAttempt !== undefined,
                    error: undefined
                  }),
                  undefined
                )
              })
        )
        return decorate(call, marks)
      })

    return {
      gates: Gates.Gates.of({ admit }),
      telemetry: Telemetry.of({
        events: Stream.fromPubSub(hub),
        subscribe: PubSub.subscribe(hub),
        recordFirstToken: (call) => call.recordFirstToken,
        recordResponse: (call, details) => call.recordResponse(details)
      })
    }
  })

// Tagged metrics by metric and tag set, each built once with its attributes: `Metric.withAttributes` would add
// them to the fiber's context (a copy) and re-key the series on every update, and the same few tag sets come
// back on every call. Bounded by the tag values seen (models, endpoints, outcomes, errors).
const taggedCache = new WeakMap<object, Map<string, object>>()

const withTags =
  (tags: Record<string, string>) =>
  <M extends Metric.Metric<number, unknown>>(metric: M): M => {
    let byTags = taggedCache.get(metric)
    if (byTags === undefined) {
      byTags = new Map()
      taggedCache.set(metric, byTags)
    }
    let id = ""
    for (const key in tags) id += `${key}\u0000${tags[key]}\u0001`
    const cached = byTags.get(id)
    if (cached !== undefined) return cached as M
    const define = definitions.get(metric)
    const tagged = define === undefined ? Metric.withAttributes(metric, tags) : define(tags)
    byTags.set(id, tagged)
    return tagged as M
  }

const logAnnotations = (event: TelemetryEvent, errorMessage: string | undefined): Record<string, unknown> => {
  const rateLimit = event._tag === "Attempt" ? event.rateLimit : undefined
  const { _tag, rateLimit: _nested, ...rest } = event as AttemptEvent
  return defined({
    event: _tag === "Attempt" ? "attempt" : "call",
    ...rest,
    ...(rateLimit === undefined
      ? {}
      : {
          remainingRequests: rateLimit.remainingRequests,
          limitRequests: rateLimit.limitRequests,
          resetRequestsMs: rateLimit.resetRequestsMs,
          remainingTokens: rateLimit.remainingTokens,
          limitTokens: rateLimit.limitTokens,
          resetTokensMs: rateLimit.resetTokensMs
        }),
    errorMessage: errorMessage === undefined ? undefined : errorMessage.slice(0, 300)
  })
}

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
