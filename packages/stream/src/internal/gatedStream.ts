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
import type * as Sse from "../Sse.js"
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

/**
 * The options of a gated stream: `ChatStream.StreamOptions` and `ResponseStream.StreamOptions` are this one type.
 * An element is a chunk (chat) or an event (Responses). Every `OpenAi.CallOptions` field (headers, retry, batch)
 * applies too.
 *
 * @internal
 */
export interface Options extends OpenAi.CallOptions {
  /**
   * Elements decoded ahead of a slow consumer before reading the socket pauses (backpressure: nothing is
   * dropped, memory stays bounded). Default 16; 0 for no buffer (the socket is read only when the consumer
   * pulls).
   */
  readonly bufferSize?: number | undefined
  /**
   * From an attempt's admission by the gates (connect, response headers) to its first output element. Default
   * 60 s. A hang before the headers is caught by it too. Retried like any retryable failure before the first
   * element: another attempt of the same call.
   */
  readonly firstTokenTimeout?: Duration.Input | undefined
  /** The longest gap between two elements once the first has arrived. Default 30 s. */
  readonly idleTimeout?: Duration.Input | undefined
  /** The whole stream, from the call to the last element read by the consumer. Default 10 minutes. */
  readonly totalTimeout?: Duration.Input | undefined
  /** SSE decoder options (event size limit, strict UTF-8). */
  readonly sse?: Sse.DecodeOptions | undefined
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

interface Timeouts {
  readonly firstToken: Duration.Duration
  readonly idle: Duration.Duration
  readonly total: Duration.Duration
}

const timeoutsOf = (options: Options): Timeouts => ({
  firstToken: Duration.fromInputUnsafe(options.firstTokenTimeout ?? defaults.firstTokenTimeout),
  idle: Duration.fromInputUnsafe(options.idleTimeout ?? defaults.idleTimeout),
  total: Duration.fromInputUnsafe(options.totalTimeout ?? defaults.totalTimeout)
})

/** The attempt in progress, so that a timeout raised outside it (idle, total) is recorded for its settlement. */
class Attempts<P extends Progress> {
  current: P | undefined = undefined

  timeout(phase: Errors.TimeoutPhase, duration: Duration.Duration): () => Errors.Timeout {
    return () => {
      const requestId = this.current?.requestId
      const error = new Errors.Timeout({
        phase,
        afterMs: Duration.toMillis(duration),
        ...(requestId === undefined ? {} : { requestId })
      })
      return this.current === undefined ? error : this.current.fail(error)
    }
  }
}

/** Reads an attempt's body up to its first element that counts (core's retry loop runs this per attempt). */
const starter =
  <A, P extends Progress>(spec: Spec<A, P>, attempts: Attempts<P>) =>
  (head: OpenAi.StreamHead) =>
    Effect.gen(function* () {
      const progress = spec.progress(head.requestId)
      attempts.current = progress
      const pull = yield* Stream.toPull(spec.decode(head, progress))
      const first = yield* pullFirst(pull, spec.isFirst)
      return { first: first.elements, ended: first.ended, pull, progress } satisfies Started<A, P>
    })

/** The stream of one streaming call that `open` makes. @internal */
export const run = <A, P extends Progress, R>(
  open: (
    options: OpenAi.StreamCallOptions<Started<A, P>>
  ) => Effect.Effect<OpenAi.StreamStarted<Started<A, P>>, Errors.OpenAiError, Scope.Scope | R>,
  spec: Spec<A, P>,
  options: Omit<Options, "sse">
): Stream.Stream<A, Errors.OpenAiError, R> =>
  Stream.suspend(() => {
    const bufferSize = options.bufferSize ?? defaults.bufferSize
    const timeouts = timeoutsOf(options)
    const { bufferSize: _b, firstTokenTimeout: _f, idleTimeout: _i, totalTimeout: _t, ...callOptions } = options
    const attempts = new Attempts<P>()
    const body = Effect.gen(function* () {
      const scope = yield* Effect.scope
      const response = yield* open({
        ...callOptions,
        start: starter(spec, attempts),
        firstTokenTimeout: finite(timeouts.firstToken) ? timeouts.firstToken : undefined
      })
      const started = response.first
      // Added after the call's own finalizer, so it runs first and its settlement is the one that counts.
      yield* Scope.addFinalizerExit(scope, settleOnClose(response))
      if (!started.ended) yield* response.call.recordFirstToken
      const produced = Stream.concat(
        Stream.fromArray(started.first),
        restOf(started, timeouts.idle, attempts.timeout("idle", timeouts.idle))
      )
      return bufferSize > 0 ? internalBuffer.bounded(produced, bufferSize) : produced
    })
    const elements = Stream.unwrap(body)
    return finite(timeouts.total)
      ? Stream.interruptWhen(
          elements,
          Effect.flatMap(Effect.sleep(timeouts.total), () => Effect.fail(attempts.timeout("total", timeouts.total)()))
        )
      : elements
  })
