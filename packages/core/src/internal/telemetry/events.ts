/** The telemetry events of a call, their log messages and annotations. Not public: see `Telemetry.ts`. */
import { type OpenAiError, retryAfterMsOf } from "../../Errors.js"
import type * as Gates from "../../Gates.js"
import type { RateLimitSnapshot } from "../../RateLimitHeaders.js"
import type { AttemptEvent, CallEvent, RateLimitHeadroom, ResponseDetails, TelemetryEvent } from "../../Telemetry.js"
import * as Usage from "../../Usage.js"
import { compact, defined, endpointOf } from "./format.js"

export const errorCodeOf = (error: OpenAiError): string | undefined =>
  "code" in error && typeof error.code === "string" ? error.code : undefined

export const statusOf = (error: OpenAiError): number | undefined =>
  "status" in error && typeof error.status === "number" ? error.status : undefined

export const requestIdOf = (error: OpenAiError): string | undefined =>
  "requestId" in error && typeof error.requestId === "string" ? error.requestId : undefined

export const snapshotOf = (error: OpenAiError): RateLimitSnapshot | undefined =>
  "snapshot" in error ? error.snapshot : undefined

export const headroomOf = (snapshot: RateLimitSnapshot | undefined): RateLimitHeadroom | undefined => {
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

export const headroomRatio = (headroom: RateLimitHeadroom | undefined, bucket: "requests" | "tokens") => {
  const limit = bucket === "requests" ? headroom?.limitRequests : headroom?.limitTokens
  const remaining = bucket === "requests" ? headroom?.remainingRequests : headroom?.remainingTokens
  return limit === undefined || remaining === undefined || limit <= 0 ? undefined : Math.max(0, remaining / limit)
}

/** What telemetry adds to a call of its own: the rest (attempts, sent, usage, cost) it reads from the `Call`. */
export interface Marks {
  readonly callId: number
  readonly startedAt: number
  firstTokenAt: number | undefined
  details: ResponseDetails
  lastAttempt: AttemptEvent | undefined
  settled: boolean
}

export const formatUsd = (usd: number): string =>
  usd <= 0 ? "$0" : `$${usd.toFixed(usd >= 0.01 ? 4 : Math.min(12, 2 - Math.floor(Math.log10(usd))))}`

export const attemptMessage = (event: AttemptEvent): string =>
  `${event.method} ${event.endpoint}${event.model === undefined ? "" : ` ${event.model}`} attempt ${event.attempt}: ${
    event.outcome === "ok"
      ? `${event.status ?? "ok"}`
      : `${event.errorTag}${event.status === undefined ? "" : ` ${event.status}`}`
  } in ${event.latencyMs} ms`

export const callMessage = (event: CallEvent): string => {
  const head = `${event.method} ${event.endpoint}${event.model === undefined ? "" : ` ${event.model}`}`
  const status = event.outcome === "error" ? `failed with ${event.errorTag}` : event.outcome
  const parts = [`${event.attempts} attempt${event.attempts === 1 ? "" : "s"}`]
  if (event.totalTokens !== undefined) parts.push(`${event.totalTokens} tokens`)
  if (event.costUsd !== undefined) parts.push(formatUsd(event.costUsd))
  if (event.finishReason !== undefined) parts.push(`finish ${event.finishReason}`)
  return `${head}: ${status} in ${event.latencyMs} ms, ${parts.join(", ")}`
}

/** The attempt event of an outcome. */
export const attemptEvent = (
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
export const callEvent = (
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

export const logAnnotations = (event: TelemetryEvent, errorMessage: string | undefined): Record<string, unknown> => {
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
