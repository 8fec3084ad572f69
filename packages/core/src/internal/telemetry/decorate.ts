/**
 * Telemetry as a decorator of the gates' `Call`: every call the inner gates admit comes back wrapped, recording its
 * attempts and its settlement. Not public: see `Telemetry.ts`.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Stream from "effect/Stream"
import type * as Scope from "effect/Scope"
import type { OpenAiError } from "../../Errors.js"
import * as Gates from "../../Gates.js"
import { current, type Pricing } from "../../Pricing.js"
// Types only: the public module imports this one, so a value import back would be a runtime cycle.
import type { AttemptEvent, CallEvent, Options, ResponseDetails, Telemetry, TelemetryEvent } from "../../Telemetry.js"
import {
  attemptEvent,
  attemptMessage,
  callEvent,
  callMessage,
  headroomRatio,
  logAnnotations,
  type Marks
} from "./events.js"
import { defined, compact, endpointOf, operationOf, scrubSecrets } from "./format.js"
import {
  callsTotal,
  costUsdTotal,
  errorsTotal,
  latencyMs,
  modelTag,
  rateLimitRemainingRatio,
  requestsTotal,
  tokensTotal,
  ttftMs,
  withTags
} from "./metrics.js"

/** What every decorated call of one telemetry layer shares. */
interface Env {
  readonly inner: Gates.Gates["Service"]
  /** Only for calls whose gates priced nothing (Gates.none); `undefined`: no costs. */
  readonly pricing: Pricing["Service"] | undefined
  readonly hub: PubSub.PubSub<TelemetryEvent>
  readonly logs: boolean
  readonly metrics: boolean
  readonly spans: boolean
  /** Call ids handed out so far. */
  calls: number
}

const costOf = (env: Env, call: Gates.Call, settled: Gates.Settlement): number | undefined => {
  if (env.pricing === undefined) return undefined
  if (settled.costUsd !== undefined) return settled.costUsd
  const { usage } = settled
  if (usage === undefined || call.info.model === undefined) return undefined
  return Option.getOrUndefined(env.pricing.cost(call.info.model, usage, { batch: call.info.batch }))
}

const tagsOf = (model: string | undefined, endpoint: string) => ({ model: modelTag(model), endpoint })

const annotate = (env: Env, attributes: Record<string, unknown>) =>
  env.spans ? Effect.annotateCurrentSpan(defined(attributes)) : Effect.void

const emitAttempt = (env: Env, event: AttemptEvent, keyId: string, message: string | undefined) =>
  Effect.gen(function* () {
    yield* PubSub.publish(env.hub, event)
    if (env.metrics) {
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
    yield* annotate(env, {
      "sluice.attempts": event.attempt,
      "http.response.status_code": event.status,
      "sluice.ratelimit.remaining_requests": event.rateLimit?.remainingRequests,
      "sluice.ratelimit.remaining_tokens": event.rateLimit?.remainingTokens,
      "sluice.ratelimit.limit_requests": event.rateLimit?.limitRequests,
      "sluice.ratelimit.limit_tokens": event.rateLimit?.limitTokens
    })
    if (env.logs) {
      const log =
        event.outcome === "ok" ? Effect.logDebug(attemptMessage(event)) : Effect.logWarning(attemptMessage(event))
      yield* log.pipe(Effect.annotateLogs(logAnnotations(event, message)))
    }
  })

const emitCall = (env: Env, event: CallEvent, message: string | undefined) =>
  Effect.gen(function* () {
    yield* PubSub.publish(env.hub, event)
    if (env.metrics) {
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
    yield* annotate(env, {
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
    if (env.logs) {
      const log = event.outcome === "error" ? Effect.logWarning(callMessage(event)) : Effect.logInfo(callMessage(event))
      yield* log.pipe(Effect.annotateLogs(logAnnotations(event, message)))
    }
  })

/** One attempt of the call, recorded as an attempt event (gate wait, latency, headers or error). */
const attempt =
  (env: Env, call: Gates.Call, marks: Marks) =>
  <A extends Gates.AttemptResponse, R>(keyId: string, send: Effect.Effect<A, OpenAiError, R>) =>
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
            env,
            event,
            call.info.keyId,
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

/** The call's settlement, recorded as its call event (usage and cost as the call settled them). */
const settle = (env: Env, call: Gates.Call, marks: Marks) => (result: Gates.CallResult) =>
  Effect.gen(function* () {
    const settled = yield* call.settle(result)
    if (marks.settled) return settled
    marks.settled = true
    if (result.details !== undefined) marks.details = { ...compact({ ...result.details }), ...marks.details }
    const now = yield* Clock.currentTimeMillis
    const outcome =
      result.error !== undefined ? "error" : result.usage === undefined && !result.sent ? "interrupted" : "ok"
    yield* emitCall(
      env,
      callEvent(call, marks, now, outcome, { ...result, usage: settled.usage, costUsd: costOf(env, call, settled) }),
      result.error === undefined ? undefined : scrubSecrets(result.error.message)
    )
    return settled
  })

/** The first token of a stream: ttft for the call event and the metric. */
const recordFirstToken = (env: Env, call: Gates.Call, marks: Marks) =>
  Effect.andThen(
    call.recordFirstToken,
    Effect.suspend(() => {
      if (marks.firstTokenAt !== undefined) return Effect.void
      return Effect.flatMap(Clock.currentTimeMillis, (now) => {
        marks.firstTokenAt = now
        return env.metrics
          ? Metric.update(
              ttftMs.pipe(withTags(tagsOf(call.info.model, endpointOf(call.info.path)))),
              now - marks.startedAt
            )
          : Effect.void
      })
    })
  )

const recordResponse = (call: Gates.Call, marks: Marks) => (details: ResponseDetails) =>
  Effect.andThen(
    call.recordResponse(details),
    Effect.sync(() => {
      marks.details = { ...marks.details, ...compact({ ...details }) }
    })
  )

/** The call, decorated: its attempts and its settlement recorded. */
const decorate = (env: Env, call: Gates.Call, marks: Marks): Gates.Call => ({
  ...call,
  attempt: attempt(env, call, marks),
  settle: settle(env, call, marks),
  recordFirstToken: recordFirstToken(env, call, marks),
  recordResponse: recordResponse(call, marks)
})

/** A call the gates refused: one `error` event for it. */
const emitRefused = (env: Env, info: Gates.CallInfo, marks: Marks, error: OpenAiError) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    emitCall(
      env,
      callEvent(Gates.passThrough(info), marks, now, "error", {
        usage: undefined,
        costUsd: undefined,
        sent: false,
        error
      }),
      scrubSecrets(error.message)
    )
  )

/** A call interrupted before settlement (nothing reached the server, or the caller walked away): still one event. */
const emitInterrupted = (env: Env, call: Gates.Call, marks: Marks) =>
  marks.settled
    ? Effect.void
    : Effect.flatMap(Clock.currentTimeMillis, (now) => {
        marks.settled = true
        return emitCall(
          env,
          callEvent(call, marks, now, "interrupted", {
            usage: undefined,
            costUsd: undefined,
            sent: call.progress.sent || marks.lastAttempt !== undefined,
            error: undefined
          }),
          undefined
        )
      })

const admit = (env: Env, info: Gates.CallInfo) =>
  Effect.gen(function* () {
    const startedAt = yield* Clock.currentTimeMillis
    const marks: Marks = {
      callId: ++env.calls,
      startedAt,
      firstTokenAt: undefined,
      details: {},
      lastAttempt: undefined,
      settled: false
    }
    yield* annotate(env, {
      "gen_ai.operation.name": operationOf(info.path),
      "gen_ai.system": "openai",
      "gen_ai.request.model": info.model,
      "sluice.key_id": info.keyId,
      "sluice.stream": info.stream
    })
    const call = yield* env.inner.admit(info).pipe(Effect.tapError((error) => emitRefused(env, info, marks, error)))
    if (call.maxOutputTokens > 0) yield* annotate(env, { "gen_ai.request.max_tokens": call.maxOutputTokens })
    yield* Effect.addFinalizer(() => emitInterrupted(env, call, marks))
    return decorate(env, call, marks)
  })

export const make = (
  inner: Gates.Gates["Service"],
  options: Options = {}
): Effect.Effect<
  { readonly gates: Gates.Gates["Service"]; readonly telemetry: Telemetry["Service"] },
  never,
  Scope.Scope
> =>
  Effect.gen(function* () {
    // A call the gates priced is reported at the gates' cost, computed once; for the others the Pricing service
    // when provided, else the built-in table.
    const pricing = options.pricing === false ? undefined : (options.pricing ?? (yield* current))
    const hub = yield* Effect.acquireRelease(
      PubSub.sliding<TelemetryEvent>(options.bufferSize ?? 16_384),
      PubSub.shutdown
    )
    const env: Env = {
      inner,
      pricing,
      hub,
      logs: options.logs ?? true,
      metrics: options.metrics ?? true,
      spans: options.spans ?? true,
      calls: 0
    }
    return {
      gates: Gates.Gates.of({ admit: (info) => admit(env, info) }),
      telemetry: {
        events: Stream.fromPubSub(hub),
        subscribe: PubSub.subscribe(hub),
        recordFirstToken: (call) => call.recordFirstToken,
        recordResponse: (call, details) => call.recordResponse(details)
      } satisfies Telemetry["Service"]
    }
  })
