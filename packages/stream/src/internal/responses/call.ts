/**
 * `ResponseStream.stream` / `.resume` on the core client's streaming call: core retries up to the first event that
 * counts (every attempt reads its body here, in `start`); this module then adds what a consumer gets as for chat
 * streams — the idle and total timeouts, a bounded buffer, and the settlement with the stream's usage (or the
 * prompt estimate plus the characters streamed, when it ends without one).
 *
 * @internal
 */
import { Errors, type Gates, type OpenAi } from "@sluice/core"
import * as Usage from "@sluice/core/Usage"
import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Pull from "effect/Pull"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Sse from "../../Sse.js"
import * as internalBuffer from "../buffer.js"
import * as internalErrors from "../errors.js"
import * as Decoder from "./decoder.js"
import type * as Events from "./events.js"

/** @internal */
export interface Options extends OpenAi.CallOptions {
  readonly bufferSize?: number | undefined
  readonly firstTokenTimeout?: Duration.Input | undefined
  readonly idleTimeout?: Duration.Input | undefined
  readonly totalTimeout?: Duration.Input | undefined
  readonly sse?: Sse.DecodeOptions | undefined
}

/** @internal */
export const defaults = {
  bufferSize: 16,
  firstTokenTimeout: Duration.seconds(60),
  idleTimeout: Duration.seconds(30),
  totalTimeout: Duration.minutes(10)
} as const

type BodyPull = Pull.Pull<Arr.NonEmptyReadonlyArray<Events.Event>, Errors.OpenAiError>

interface Started {
  readonly first: ReadonlyArray<Events.Event>
  readonly ended: boolean
  readonly pull: BodyPull
  readonly progress: Progress
}

/** The decoder's progress plus the first failure, for settlement. */
class Progress extends Decoder.Progress {
  error: Errors.OpenAiError | undefined = undefined
  constructor(readonly requestId: string | undefined) {
    super()
  }
  fail<E extends Errors.OpenAiError>(error: E): E {
    this.error ??= error
    return error
  }
  usageFor(call: Gates.Call): Usage.Usage {
    return Usage.fromWire(this.usage) ?? Usage.streamed(call.estimatedPromptTokens, this.outputChars)
  }
}

const terminal = new Set(["response.completed", "response.incomplete", "response.failed"])

/**
 * Whether an event ends the wait for the first token: output (any delta, a finished item) or the end. Lifecycle
 * events are held back so that nothing has reached the consumer while a retry is still possible — except a
 * background response's `response.created`: it carries the id to resume with, and a retry would start a second
 * response.
 */
const counts = (background: boolean) => (event: Events.Event) =>
  event.type.endsWith(".delta") ||
  event.type === "response.output_item.done" ||
  terminal.has(event.type) ||
  (background && event.type === "response.created")

const pullFirst = (
  pull: BodyPull,
  isFirst: (event: Events.Event) => boolean,
  held: ReadonlyArray<Events.Event> = []
): Effect.Effect<{ readonly events: ReadonlyArray<Events.Event>; readonly ended: boolean }, Errors.OpenAiError> =>
  Pull.matchEffect(pull, {
    onSuccess: (events) => {
      const all = held.length === 0 ? events : [...held, ...events]
      return events.some(isFirst) ? Effect.succeed({ events: all, ended: false }) : pullFirst(pull, isFirst, all)
    },
    onFailure: Effect.failCause,
    onDone: () => Effect.succeed({ events: held, ended: true })
  })

const decodeBody = (head: OpenAi.StreamHead, progress: Progress, sse: Sse.DecodeOptions | undefined) =>
  Decoder.decode(
    Stream.mapError(Sse.decode(head.body, sse), (error) =>
      error instanceof Sse.SseDecodeError ? internalErrors.fromSseDecodeError(error, head.requestId) : error
    ),
    head.requestId,
    progress
  ).pipe(
    Stream.mapError((error) =>
      progress.fail(
        // A connection that breaks after the first event leaves half an answer: a truncated stream. Before it, the
        // failure stays a (retryable) ConnectionFailed.
        error._tag === "ConnectionFailed" && progress.events > 0
          ? internalErrors.truncated(progress.events, progress.text, head.requestId)
          : internalErrors.withRequestId(error, head.requestId)
      )
    )
  )

const finite = (duration: Duration.Duration): boolean => Duration.isFinite(duration)

const failureOf = <E>(exit: Exit.Exit<unknown, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined

/** The stream of one streaming call `open` makes (a new response, or a resumed one). @internal */
export const run = <R>(
  open: (
    options: OpenAi.StreamCallOptions<Started>
  ) => Effect.Effect<OpenAi.StreamStarted<Started>, Errors.OpenAiError, Scope.Scope | R>,
  options: Options,
  background: boolean
): Stream.Stream<Events.Event, Errors.OpenAiError, R> =>
  Stream.suspend(() => {
    const bufferSize = options.bufferSize ?? defaults.bufferSize
    const firstTokenTimeout = Duration.fromInputUnsafe(options.firstTokenTimeout ?? defaults.firstTokenTimeout)
    const idleTimeout = Duration.fromInputUnsafe(options.idleTimeout ?? defaults.idleTimeout)
    const totalTimeout = Duration.fromInputUnsafe(options.totalTimeout ?? defaults.totalTimeout)
    const { bufferSize: _b, firstTokenTimeout: _f, idleTimeout: _i, totalTimeout: _t, sse, ...callOptions } = options
    let current: Progress | undefined
    const timeout = (phase: Errors.TimeoutPhase, duration: Duration.Duration) => () => {
      const requestId = current?.requestId
      const error = new Errors.Timeout({
        phase,
        afterMs: Duration.toMillis(duration),
        ...(requestId === undefined ? {} : { requestId })
      })
      return current === undefined ? error : current.fail(error)
    }
    const isFirst = counts(background)

    const body = Effect.gen(function* () {
      const scope = yield* Effect.scope
      const start = (head: OpenAi.StreamHead) =>
        Effect.gen(function* () {
          const progress = new Progress(head.requestId)
          current = progress
          const pull = yield* Stream.toPull(decodeBody(head, progress, sse))
          const first = yield* pullFirst(pull, isFirst)
          return { first: first.events, ended: first.ended, pull, progress } satisfies Started
        })
      const response = yield* open({
        ...callOptions,
        start,
        firstTokenTimeout: finite(firstTokenTimeout) ? firstTokenTimeout : undefined
      })
      const { call, first: started } = response
      const progress = started.progress
      // Added after the call's own finalizer, so it runs first and its settlement is the one that counts.
      yield* Scope.addFinalizerExit(scope, (exit) =>
        Effect.andThen(
          call.recordResponse({
            finishReason: progress.finishReason,
            responseModel: progress.responseModel,
            requestId: progress.requestId
          }),
          response.settle({
            usage: progress.usageFor(call),
            error: progress.error ?? (failureOf(exit) as Errors.OpenAiError | undefined)
          })
        )
      )
      if (!started.ended) yield* call.recordFirstToken
      const idlePull: BodyPull = finite(idleTimeout)
        ? Effect.timeoutOrElse(started.pull, {
            duration: idleTimeout,
            orElse: () => Effect.fail(timeout("idle", idleTimeout)())
          })
        : started.pull
      const rest: Stream.Stream<Events.Event, Errors.OpenAiError> = started.ended
        ? Stream.empty
        : Stream.fromPull(Effect.succeed(idlePull))
      const produced = Stream.concat(Stream.fromArray(started.first), rest)
      return bufferSize > 0 ? internalBuffer.bounded(produced, bufferSize) : produced
    })

    const events = Stream.unwrap(body)
    return finite(totalTimeout)
      ? Stream.interruptWhen(
          events,
          Effect.flatMap(Effect.sleep(totalTimeout), () => Effect.fail(timeout("total", totalTimeout)()))
        )
      : events
  })
