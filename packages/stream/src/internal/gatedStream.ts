/**
 * A stream on the core client's streaming call, whatever its events are (chat chunks, Responses events): core
 * retries up to the first element that counts (every attempt reads its body here, in `start`); this module adds
 * what a consumer gets — the idle and total timeouts, a bounded buffer, and the settlement with the stream's usage
 * (or the prompt estimate plus what streamed). `ChatStream.stream` and `ResponseStream.stream` are this with
 * their decoder. Not public.
 *
 * @internal
 */
import { Errors, type Gates, type OpenAi } from "@sluice/core"
import type * as Usage from "@sluice/core/Usage"
import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Pull from "effect/Pull"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as internalBuffer from "./buffer.js"

/** What an attempt's body delivered so far: for settlement, telemetry and errors raised outside it. @internal */
export interface Progress {
  readonly requestId: string | undefined
  readonly error: Errors.OpenAiError | undefined
  readonly finishReason: string | undefined
  readonly responseModel: string | undefined
  fail<E extends Errors.OpenAiError>(error: E): E
  usageFor(call: Gates.Call): Usage.Usage
}

/** How one kind of stream decodes. @internal */
export interface Spec<A, P extends Progress> {
  readonly progress: (requestId: string | undefined) => P
  readonly decode: (head: OpenAi.StreamHead, progress: P) => Stream.Stream<A, Errors.OpenAiError>
  /** Whether an element ends the wait for the first token (held back until one does). */
  readonly isFirst: (element: A) => boolean
}

/** @internal */
export interface Options extends OpenAi.CallOptions {
  readonly bufferSize?: number | undefined
  readonly firstTokenTimeout?: Duration.Input | undefined
  readonly idleTimeout?: Duration.Input | undefined
  readonly totalTimeout?: Duration.Input | undefined
}

/** @internal */
export const defaults = {
  bufferSize: 16,
  firstTokenTimeout: Duration.seconds(60),
  idleTimeout: Duration.seconds(30),
  totalTimeout: Duration.minutes(10)
} as const

type BodyPull<A> = Pull.Pull<Arr.NonEmptyReadonlyArray<A>, Errors.OpenAiError>

/** @internal */
export interface Started<A, P> {
  readonly first: ReadonlyArray<A>
  readonly ended: boolean
  readonly pull: BodyPull<A>
  readonly progress: P
}

/** Pulls until an element that counts arrives (holding back the others, so nothing reaches the consumer while a
 * retry is still possible) or the body ends. */
const pullFirst = <A>(
  pull: BodyPull<A>,
  isFirst: (element: A) => boolean,
  held: ReadonlyArray<A> = []
): Effect.Effect<{ readonly elements: ReadonlyArray<A>; readonly ended: boolean }, Errors.OpenAiError> =>
  Pull.matchEffect(pull, {
    onSuccess: (elements) => {
      const all = held.length === 0 ? elements : [...held, ...elements]
      return elements.some(isFirst) ? Effect.succeed({ elements: all, ended: false }) : pullFirst(pull, isFirst, all)
    },
    onFailure: Effect.failCause,
    onDone: () => Effect.succeed({ elements: held, ended: true })
  })

const finite = (duration: Duration.Duration): boolean => Duration.isFinite(duration)

const failureOf = <E>(exit: Exit.Exit<unknown, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined

/** Settles the call when the stream's scope closes: telemetry's details, then the usage and the stream's error. */
const settleOnClose =
  <A, P extends Progress>(response: OpenAi.StreamStarted<Started<A, P>>) =>
  (exit: Exit.Exit<unknown, unknown>) => {
    const progress = response.first.progress
    return Effect.andThen(
      response.call.recordResponse({
        finishReason: progress.finishReason,
        responseModel: progress.responseModel,
        requestId: progress.requestId
      }),
      response.settle({
        usage: progress.usageFor(response.call),
        // The scope closes with the stream's exit: its failure is an OpenAiError.
        error: progress.error ?? (failureOf(exit) as Errors.OpenAiError | undefined)
      })
    )
  }

/** The elements after the first ones, each pull bounded by the idle timeout. */
const restOf = <A, P>(
  started: Started<A, P>,
  idleTimeout: Duration.Duration,
  onIdle: () => Errors.OpenAiError
): Stream.Stream<A, Errors.OpenAiError> => {
  if (started.ended) return Stream.empty
  const pull: BodyPull<A> = finite(idleTimeout)
    ? Effect.timeoutOrElse(started.pull, { duration: idleTimeout, orElse: () => Effect.fail(onIdle()) })
    : started.pull
  return Stream.fromPull(Effect.succeed(pull))
}

/** The stream of one streaming call that `open` makes. @internal */
export const run = <A, P extends Progress, R>(
  open: (
    options: OpenAi.StreamCallOptions<Started<A, P>>
  ) => Effect.Effect<OpenAi.StreamStarted<Started<A, P>>, Errors.OpenAiError, Scope.Scope | R>,
  spec: Spec<A, P>,
  options: Options
): Stream.Stream<A, Errors.OpenAiError, R> =>
  Stream.suspend(() => {
    const bufferSize = options.bufferSize ?? defaults.bufferSize
    const firstTokenTimeout = Duration.fromInputUnsafe(options.firstTokenTimeout ?? defaults.firstTokenTimeout)
    const idleTimeout = Duration.fromInputUnsafe(options.idleTimeout ?? defaults.idleTimeout)
    const totalTimeout = Duration.fromInputUnsafe(options.totalTimeout ?? defaults.totalTimeout)
    const { bufferSize: _b, firstTokenTimeout: _f, idleTimeout: _i, totalTimeout: _t, ...callOptions } = options
    // The attempt in progress, so that a timeout raised outside it (idle, total) is recorded for its settlement.
    let current: P | undefined
    const timeout = (phase: Errors.TimeoutPhase, duration: Duration.Duration) => () => {
      const requestId = current?.requestId
      const error = new Errors.Timeout({
        phase,
        afterMs: Duration.toMillis(duration),
        ...(requestId === undefined ? {} : { requestId })
      })
      return current === undefined ? error : current.fail(error)
    }
    const start = (head: OpenAi.StreamHead) =>
      Effect.gen(function* () {
        const progress = spec.progress(head.requestId)
        current = progress
        const pull = yield* Stream.toPull(spec.decode(head, progress))
        const first = yield* pullFirst(pull, spec.isFirst)
        return { first: first.elements, ended: first.ended, pull, progress } satisfies Started<A, P>
      })
    const body = Effect.gen(function* () {
      const scope = yield* Effect.scope
      const response = yield* open({
        ...callOptions,
        start,
        firstTokenTimeout: finite(firstTokenTimeout) ? firstTokenTimeout : undefined
      })
      const started = response.first
      // Added after the call's own finalizer, so it runs first and its settlement is the one that counts.
      yield* Scope.addFinalizerExit(scope, settleOnClose(response))
      if (!started.ended) yield* response.call.recordFirstToken
      const produced = Stream.concat(
        Stream.fromArray(started.first),
        restOf(started, idleTimeout, timeout("idle", idleTimeout))
      )
      return bufferSize > 0 ? internalBuffer.bounded(produced, bufferSize) : produced
    })
    const elements = Stream.unwrap(body)
    return finite(totalTimeout)
      ? Stream.interruptWhen(
          elements,
          Effect.flatMap(Effect.sleep(totalTimeout), () => Effect.fail(timeout("total", totalTimeout)()))
        )
      : elements
  })
