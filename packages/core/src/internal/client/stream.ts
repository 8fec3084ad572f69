/**
 * A streaming call: admission, then attempts — each up to its 2xx headers and then through the caller's
 * `start` (the stream layer reads up to the first token there) — under the call's one retry loop, so a failure
 * before the first token is another attempt of the same call (one reservation, one telemetry call, at most the
 * policy's attempts). The successful attempt's scope (permit, HTTP request) stays open with the call's. Not
 * public.
 */
import type * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import type { ApiKey } from "../../Credentials.js"
import { type OpenAiError, Timeout } from "../../Errors.js"
import type * as Gates from "../../Gates.js"
import type { StreamHead, StreamStarted } from "../../OpenAi.js"
import type * as Http from "../http.js"
import * as Attempt from "./attempt.js"
import { admit } from "./call.js"
import { retried } from "./retry.js"
import { failureOf } from "./settle.js"
import type { CallSpec, Client } from "./spec.js"
import { traced } from "./wire.js"

/** The first-token bound of an attempt, from its admission by the gates to the end of `start`. */
const bounded = <A, R>(
  effect: Effect.Effect<A, OpenAiError, R>,
  timeout: Duration.Duration | undefined,
  requestId: () => string | undefined
) =>
  timeout === undefined || !Duration.isFinite(timeout)
    ? effect
    : Effect.timeoutOrElse(effect, {
        duration: timeout,
        orElse: () => {
          const id = requestId()
          return Effect.fail(
            new Timeout({
              phase: "first-token",
              afterMs: Duration.toMillis(timeout),
              ...(id === undefined ? {} : { requestId: id })
            })
          )
        }
      })

/**
 * The attempt's transport timeouts: the headers timeout is left out when the first-token bound, which starts
 * earlier (at admission) and covers the headers too, fires no later — one timeout, one error that says what the
 * caller asked for.
 */
const timeoutsFor = (client: Client, firstTokenTimeout: Duration.Duration | undefined): Http.SendOptions => {
  const headersMs = client.streamTimeouts.headersTimeoutMs
  if (firstTokenTimeout === undefined || !Duration.isFinite(firstTokenTimeout)) return client.streamTimeouts
  return headersMs === undefined || Duration.toMillis(firstTokenTimeout) <= headersMs
    ? { ...client.streamTimeouts, headersTimeoutMs: undefined }
    : client.streamTimeouts
}

/** Settles at most once: the stream's own settlement, else the call's failure or the scope's close. */
const settleOnce = (call: Gates.Call) => {
  let settled = false
  return {
    settle: (result: Gates.CallResult): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (settled) return Effect.void
        settled = true
        return Effect.asVoid(call.settle(result))
      }),
    /** Nothing reached the server: closing the call's scope releases the reservation. */
    drop: () => {
      settled = true
    }
  }
}

/** One attempt of a streamed call in a scope of its own; the successful one stays open with the call. */
const streamAttempt = <S>(
  client: Client,
  spec: CallSpec<never>,
  admitted: { readonly call: Gates.Call; readonly key: Effect.Effect<ApiKey, OpenAiError> },
  callScope: Scope.Scope,
  start: (head: StreamHead) => Effect.Effect<S, OpenAiError, Scope.Scope>,
  firstTokenTimeout: Duration.Duration | undefined
) => {
  const { call, key } = admitted
  const timeouts = timeoutsFor(client, firstTokenTimeout)
  return Effect.gen(function* () {
    const attemptScope = yield* Scope.fork(callScope, "sequential")
    let requestId: string | undefined
    const read = (started: Attempt.Started) =>
      Effect.gen(function* () {
        requestId = started.requestId
        const headersAt = yield* Clock.currentTimeMillis
        const head: StreamHead = {
          body: started.response.stream,
          requestId: started.requestId,
          status: started.status,
          call
        }
        const first = yield* start(head)
        return { ...started, headersAt, first }
      })
    return yield* Attempt.run(client, spec, call, key, timeouts, read, (sent) =>
      bounded(sent, firstTokenTimeout, () => requestId)
    ).pipe(
      Scope.provide(attemptScope),
      Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Scope.close(attemptScope, exit)))
    )
  })
}

/** How a streamed call that never started settles: with its failure, as sent, or left to its scope. */
const settleUnstarted =
  (call: Gates.Call, once: ReturnType<typeof settleOnce>) =>
  (cause: Cause.Cause<OpenAiError>): Effect.Effect<void> =>
    Effect.suspend(() => {
      const sent = call.progress.sent
      const error = failureOf(cause)
      if (error !== undefined) return once.settle({ usage: undefined, sent, error })
      if (sent) return once.settle({ usage: undefined, sent: true, error: undefined })
      once.drop()
      return Effect.void
    })

export const stream = <S>(
  client: Client,
  spec: CallSpec<never>,
  start: (head: StreamHead) => Effect.Effect<S, OpenAiError, Scope.Scope>,
  firstTokenTimeout: Duration.Duration | undefined
): Effect.Effect<StreamStarted<S>, OpenAiError, Scope.Scope> =>
  Effect.gen(function* () {
    const callScope = yield* Effect.scope
    const admitted = yield* admit(client, spec)
    const { call } = admitted
    const once = settleOnce(call)
    const attempt = streamAttempt(client, spec, admitted, callScope, start, firstTokenTimeout)
    const started = yield* retried(client, spec.options, attempt).pipe(Effect.tapCause(settleUnstarted(call, once)))
    yield* Scope.addFinalizer(callScope, once.settle({ usage: undefined, sent: true, error: undefined }))
    return {
      body: started.response.stream,
      requestId: started.requestId,
      status: started.status,
      latencyMs: started.headersAt - started.startedAt,
      snapshot: started.snapshot,
      attempts: call.progress.attempts,
      call,
      ticket: call,
      first: started.first,
      settle: (result) => once.settle({ usage: result.usage, sent: true, error: result.error })
    } satisfies StreamStarted<S>
  }).pipe(traced(`OpenAi ${spec.method} ${spec.path} (stream)`, spec, client))
