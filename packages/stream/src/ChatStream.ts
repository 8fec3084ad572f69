/**
 * Streaming chat completions: the gated, timed, cancellable `stream` call on the core client; SSE events to
 * typed chunks (with `[DONE]`, in-stream errors and truncation as typed `OpenAiError`s); accumulation into a
 * full completion, text re-chunking and bounded buffering.
 *
 * @since 0.1.0
 */
import { type ChatCompletions, Errors, type Gates, OpenAi, Retry } from "@sluice/core"
import * as Telemetry from "@sluice/core/Telemetry"
import * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Accumulator } from "./internal/accumulator.js"
import * as internalChunk from "./internal/chunk.js"
import * as internalErrors from "./internal/errors.js"
import { type Split, splitLines, splitSentences, splitWords } from "./internal/text.js"
import * as Sse from "./Sse.js"

/**
 * One `data:` event of a streaming chat completion (core's `ChatCompletions.ChatCompletionChunk`). Unknown
 * fields are kept on the decoded value (so relaying with `Interop.toSse` loses nothing) but are not part of
 * the type.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ChatCompletionChunk = internalChunk.ChatCompletionChunk

/**
 * @since 0.1.0
 * @category models
 */
export type ChatCompletionChunk = internalChunk.ChatCompletionChunk

/**
 * A whole completion, as the non-streaming endpoint returns it (core's `ChatCompletions.ChatCompletion`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ChatCompletion = internalChunk.ChatCompletion

/**
 * @since 0.1.0
 * @category models
 */
export type ChatCompletion = internalChunk.ChatCompletion

/**
 * An error the server reported inside the stream (`event: error`, or a chunk with an `error` object), as the
 * `OpenAiError` its `code` / `type` names: `rate_limit_exceeded` → `RateLimited`, `insufficient_quota` →
 * `QuotaExceeded`, `invalid_api_key` → `AuthenticationFailed`, `model_not_found` → `NotFound`,
 * `invalid_request_error` / `context_length_exceeded` → `BadRequest`, `server_error` → `ServerError`, and
 * anything else → `ServerError` with the server's message. It carries `message`, `code`, `type`, `param`
 * and the request id; `status` is absent (the response itself was a 200).
 *
 * @since 0.1.0
 * @category errors
 */
export type InStreamError = internalErrors.InStreamError

/**
 * Every way decoding a chat stream can fail: no `[DONE]` (`StreamTruncated`), an event that is not a chunk
 * or not valid SSE (`ResponseDecodeFailed`), or an error reported in the stream ({@link InStreamError}).
 * All of them are core `OpenAiError`s.
 *
 * @since 0.1.0
 * @category errors
 */
export type ChatStreamError = Errors.StreamTruncated | Errors.ResponseDecodeFailed | InStreamError

/**
 * Options of {@link fromSse}.
 *
 * @since 0.1.0
 * @category models
 */
export interface FromSseOptions {
  /** Put on every error the decoder raises (the response's `x-request-id`). */
  readonly requestId?: string | undefined
}

const decodeChunk = Schema.decodeUnknownEither(internalChunk.ChatCompletionChunk, { onExcessProperty: "preserve" })

const parseJson = (data: string): Either.Either<unknown, string> => {
  try {
    return Either.right(JSON.parse(data))
  } catch (e) {
    return Either.left(e instanceof Error ? e.message : String(e))
  }
}

type Step = { readonly _tag: "Chunk"; readonly chunk: ChatCompletionChunk } | { readonly _tag: "Skip" | "Done" }
const skip: Step = { _tag: "Skip" }
const done: Step = { _tag: "Done" }

const interpret = (
  event: Sse.Event,
  index: number,
  requestId: string | undefined
): Either.Either<Step, InStreamError | Errors.ResponseDecodeFailed> => {
  if (event.event === "error") {
    const parsed = parseJson(event.data)
    return Either.left(
      internalErrors.fromPayload(Either.isRight(parsed) ? parsed.right : undefined, event.data, requestId)
    )
  }
  // OpenAI sends only unnamed events; other servers add e.g. `event: ping`.
  if (event.event !== "message") return Either.right(skip)
  const data = event.data.trim()
  if (data === "") return Either.right(skip)
  if (data === "[DONE]") return Either.right(done)
  const parsed = parseJson(data)
  if (Either.isLeft(parsed)) {
    return Either.left(
      internalErrors.decodeFailed(`stream event ${index}: invalid JSON: ${parsed.left}`, event.data, requestId)
    )
  }
  if (Predicate.isRecord(parsed.right) && parsed.right.error !== undefined && parsed.right.error !== null) {
    return Either.left(internalErrors.fromPayload(parsed.right, data, requestId))
  }
  const fast = internalChunk.fastChunk(parsed.right)
  if (fast !== undefined) return Either.right({ _tag: "Chunk", chunk: fast })
  const chunk = decodeChunk(parsed.right)
  if (Either.isLeft(chunk)) {
    return Either.left(
      internalErrors.decodeFailed(
        `stream event ${index}: not a chat completion chunk: ${internalErrors.truncate(ParseResult.TreeFormatter.formatErrorSync(chunk.left))}`,
        event.data,
        requestId
      )
    )
  }
  return Either.right({ _tag: "Chunk", chunk: chunk.right })
}

type ChunkChannel<E> = Channel.Channel<
  Chunk.Chunk<ChatCompletionChunk>,
  Chunk.Chunk<Sse.Event>,
  E | ChatStreamError,
  E,
  void,
  unknown
>

/**
 * Decodes SSE events into chunks. `data: [DONE]` ends the stream (and stops reading upstream, which
 * releases the connection); an input that ends before it fails with `StreamTruncated` (chunks received,
 * content of choice 0 so far); `event: error` or a chunk with an `error` object fails with the matching
 * {@link InStreamError}; an event that is not a chunk fails with `ResponseDecodeFailed`. Events of other
 * named types and empty events are skipped. Chunks that arrived before a failure are delivered first.
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromSse = <E, R>(
  events: Stream.Stream<Sse.Event, E, R>,
  options?: FromSseOptions
): Stream.Stream<ChatCompletionChunk, E | ChatStreamError, R> =>
  Stream.pipeThroughChannelOrFail(
    events,
    Channel.suspend(() => {
      const requestId = options?.requestId
      let index = 0
      let chunks = 0
      let partialContent = ""
      const emit = (out: Array<ChatCompletionChunk>, next: ChunkChannel<E>): ChunkChannel<E> =>
        out.length === 0 ? next : Channel.zipRight(Channel.write(Chunk.unsafeFromArray(out)), next)
      const loop: ChunkChannel<E> = Channel.readWithCause({
        onInput: (input: Chunk.Chunk<Sse.Event>) => {
          const out: Array<ChatCompletionChunk> = []
          for (const event of input) {
            const step = interpret(event, index++, requestId)
            if (Either.isLeft(step)) return emit(out, Channel.fail(step.left))
            if (step.right._tag === "Done") return emit(out, Channel.void)
            if (step.right._tag === "Chunk") {
              const chunk = step.right.chunk
              out.push(chunk)
              chunks++
              const content = chunk.choices.find((c) => c.index === 0)?.delta.content
              if (content) partialContent += content
            }
          }
          return emit(out, loop)
        },
        onFailure: (cause) => Channel.failCause(cause),
        onDone: () => Channel.fail(internalErrors.truncated(chunks, partialContent, requestId))
      })
      return loop
    })
  )

/**
 * Options of {@link fromBytes}: the SSE decoder's options and the request id to put on errors.
 *
 * @since 0.1.0
 * @category models
 */
export interface FromBytesOptions extends Sse.DecodeOptions, FromSseOptions {}

const mapSseError =
  (requestId: string | undefined) =>
  <E>(error: E | Sse.SseDecodeError): E | Errors.ResponseDecodeFailed =>
    error instanceof Sse.SseDecodeError ? internalErrors.fromSseDecodeError(error, requestId) : error

/**
 * Decodes a response body (`text/event-stream` bytes) into chunks: {@link Sse.decode} then {@link fromSse}.
 * A failure of the SSE decoder (an oversized event, invalid UTF-8 in strict mode) is a
 * `ResponseDecodeFailed`; errors of the byte stream itself pass through unchanged.
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromBytes: {
  (
    options?: FromBytesOptions
  ): <E, R>(bytes: Stream.Stream<Uint8Array, E, R>) => Stream.Stream<ChatCompletionChunk, E | ChatStreamError, R>
  <E, R>(
    bytes: Stream.Stream<Uint8Array, E, R>,
    options?: FromBytesOptions
  ): Stream.Stream<ChatCompletionChunk, E | ChatStreamError, R>
} = dual(
  (args) => Predicate.hasProperty(args[0], Stream.StreamTypeId),
  <E, R>(
    bytes: Stream.Stream<Uint8Array, E, R>,
    options?: FromBytesOptions
  ): Stream.Stream<ChatCompletionChunk, E | ChatStreamError, R> =>
    fromSse(Stream.mapError(Sse.decode(bytes, options), mapSseError(options?.requestId)), options)
)

// ---------------------------------------------------------------------------------------------------------------
// The call: ChatStream.stream on the core client's streaming transport.
// ---------------------------------------------------------------------------------------------------------------

/**
 * Options of {@link stream}. Every `OpenAi.CallOptions` field (headers, retry, batch) applies too.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamOptions extends OpenAi.CallOptions {
  /**
   * Chunks decoded ahead of a slow consumer before reading the socket pauses (backpressure: nothing is
   * dropped, memory stays bounded). Default 16; 0 for no buffer (the socket is read only when the consumer
   * pulls).
   */
  readonly bufferSize?: number | undefined
  /**
   * From the start of an attempt (admission, connect, response headers) to its first chunk. Default 60 s.
   * A hang before the headers is caught by it too. Retried like any retryable failure before the first chunk.
   */
  readonly firstTokenTimeout?: Duration.DurationInput | undefined
  /** The longest gap between two chunks once the first has arrived. Default 30 s. */
  readonly idleTimeout?: Duration.DurationInput | undefined
  /** The whole stream, from the call to the last chunk read by the consumer. Default 10 minutes. */
  readonly totalTimeout?: Duration.DurationInput | undefined
  /** SSE decoder options (event size limit, strict UTF-8). */
  readonly sse?: Sse.DecodeOptions | undefined
}

/**
 * The defaults of {@link StreamOptions}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults = {
  bufferSize: 16,
  firstTokenTimeout: Duration.seconds(60),
  idleTimeout: Duration.seconds(30),
  totalTimeout: Duration.minutes(10)
} as const

/** What one attempt's body has delivered: for `StreamTruncated`, settlement and request ids on errors. */
class Progress {
  chunks = 0
  partialContent = ""
  outputChars = 0
  usage: ChatCompletions.Usage | undefined = undefined
  finishReason: string | undefined = undefined
  responseModel: string | undefined = undefined
  error: Errors.OpenAiError | undefined = undefined
  constructor(readonly requestId: string | undefined) {}

  add(chunk: ChatCompletionChunk): void {
    this.chunks++
    if (chunk.usage != null) this.usage = chunk.usage
    if (this.responseModel === undefined && chunk.model) this.responseModel = chunk.model
    for (const choice of chunk.choices) {
      if (choice.index === 0 && choice.finish_reason !== null) this.finishReason = choice.finish_reason
      const delta = choice.delta
      if (delta.content) {
        this.outputChars += delta.content.length
        if (choice.index === 0) this.partialContent += delta.content
      }
      if (delta.refusal) this.outputChars += delta.refusal.length
      if (delta.reasoning_content) this.outputChars += delta.reasoning_content.length
      if (delta.tool_calls) {
        for (const call of delta.tool_calls) {
          this.outputChars += (call.function?.name?.length ?? 0) + (call.function?.arguments?.length ?? 0)
        }
      }
    }
  }

  fail<E extends Errors.OpenAiError>(error: E): E {
    this.error ??= error
    return error
  }

  /** The server's usage when it came; otherwise the prompt estimate plus ~4 characters per streamed token. */
  usageFor(ticket: Gates.Ticket): Gates.Usage {
    if (this.usage !== undefined) {
      return {
        promptTokens: this.usage.prompt_tokens,
        completionTokens: this.usage.completion_tokens,
        cachedPromptTokens: this.usage.prompt_tokens_details?.cached_tokens ?? 0
      }
    }
    return {
      promptTokens: ticket.estimatedPromptTokens,
      completionTokens: Math.ceil(this.outputChars / 4),
      cachedPromptTokens: 0
    }
  }
}

/** The decoded body of one attempt, every failure an `OpenAiError` with the request id. */
const decodeBody = (
  response: OpenAi.StreamResponse,
  progress: Progress,
  sse: Sse.DecodeOptions | undefined
): Stream.Stream<ChatCompletionChunk, Errors.OpenAiError> =>
  fromBytes(response.body, { ...sse, requestId: response.requestId }).pipe(
    Stream.mapChunks((chunks) => {
      for (const chunk of chunks) progress.add(chunk)
      return chunks
    }),
    Stream.mapError((error) =>
      progress.fail(
        // A connection that breaks after the first chunk leaves half an answer: that is a truncated stream.
        // Before it, the failure stays a (retryable) ConnectionFailed.
        error._tag === "ConnectionFailed" && progress.chunks > 0
          ? internalErrors.truncated(progress.chunks, progress.partialContent, response.requestId)
          : internalErrors.withRequestId(error, response.requestId)
      )
    )
  )

type Pull = Effect.Effect<Chunk.Chunk<ChatCompletionChunk>, Option.Option<Errors.OpenAiError>>

interface Started {
  readonly first: Chunk.Chunk<ChatCompletionChunk>
  readonly ended: boolean
  readonly pull: Pull
  readonly progress: Progress
}

/** Whether a chunk carries output (a token of any kind), an end or usage — not just the opening `role`. */
const hasToken = (chunk: ChatCompletionChunk): boolean =>
  chunk.usage != null ||
  chunk.choices.some(
    (c) =>
      c.finish_reason !== null ||
      !!c.delta.content ||
      !!c.delta.refusal ||
      !!c.delta.reasoning_content ||
      (c.delta.tool_calls != null && c.delta.tool_calls.length > 0)
  )

/**
 * Pulls until a chunk with a token arrives (holding back the opening `role` chunks, so that nothing has
 * reached the consumer while a retry is still possible) or the body ends.
 */
const pullFirst = (
  pull: Pull,
  held: Chunk.Chunk<ChatCompletionChunk> = Chunk.empty()
): Effect.Effect<{ readonly chunks: Chunk.Chunk<ChatCompletionChunk>; readonly ended: boolean }, Errors.OpenAiError> =>
  Effect.matchEffect(pull, {
    onFailure: (error) =>
      Option.isNone(error) ? Effect.succeed({ chunks: held, ended: true }) : Effect.fail(error.value),
    onSuccess: (chunk) => {
      const all = Chunk.appendAll(held, chunk)
      return Chunk.some(chunk, hasToken) ? Effect.succeed({ chunks: all, ended: false }) : pullFirst(pull, all)
    }
  })

const finite = (duration: Duration.Duration): boolean => Duration.isFinite(duration)

/**
 * A streaming chat completion through the core client (`OpenAi`), failing only with `OpenAiError`:
 *
 * - the same gates as `create` (budget reservation, breaker, rate limiter, concurrency permit) via
 *   `chat.completions.streamBytes`; `stream_options.include_usage` is on unless the request says otherwise,
 *   and the call is settled with the usage chunk's usage — or, when the stream fails or is interrupted, with
 *   the prompt estimate plus the completion tokens streamed so far (≈ characters / 4);
 * - retries (the configured policy, `options.retry` overriding) only before the first chunk is emitted:
 *   failures before the response headers are retried by the transport, retryable failures after them and
 *   before the first chunk (a broken connection, an in-stream `server_error`, the first-token timeout) start
 *   a new call; once a chunk has been emitted nothing is retried;
 * - a bounded buffer of `bufferSize` chunks between socket and consumer;
 * - `firstTokenTimeout`, `idleTimeout`, `totalTimeout`, each failing with `Timeout` and its phase;
 * - a stream that ends without `[DONE]`, or whose connection breaks after the first chunk, fails with
 *   `StreamTruncated` carrying the chunk count and the content so far;
 * - interruption or early exit (`Stream.take`, a consumer that stops) aborts the HTTP request at once.
 *
 * @since 0.1.0
 * @category constructors
 */
export const stream = (
  request: ChatCompletions.Request,
  options: StreamOptions = {}
): Stream.Stream<ChatCompletionChunk, Errors.OpenAiError, OpenAi.OpenAi> =>
  Stream.suspend(() => {
    const bufferSize = options.bufferSize ?? defaults.bufferSize
    const firstTokenTimeout = Duration.decode(options.firstTokenTimeout ?? defaults.firstTokenTimeout)
    const idleTimeout = Duration.decode(options.idleTimeout ?? defaults.idleTimeout)
    const totalTimeout = Duration.decode(options.totalTimeout ?? defaults.totalTimeout)
    const { bufferSize: _b, firstTokenTimeout: _f, idleTimeout: _i, totalTimeout: _t, sse, ...callOptions } = options
    // The attempt in progress, so that a timeout raised outside it is recorded for its settlement.
    let current: Progress | undefined
    let requestId: string | undefined

    const timeout = (phase: Errors.TimeoutPhase, duration: Duration.Duration) => () => {
      const error = new Errors.Timeout({
        phase,
        afterMs: Duration.toMillis(duration),
        ...(requestId === undefined ? {} : { requestId })
      })
      return current === undefined ? error : current.fail(error)
    }

    const body = Effect.gen(function* () {
      const openai = yield* OpenAi.OpenAi
      // The client's own policy (what it was configured with), `options.retry` overriding.
      const policy = Retry.policy({ ...openai.config.retry, ...options.retry })
      const scope = yield* Effect.scope
      // Optional: time to first token and the finish reason for the call's telemetry event, when it is in use.
      const telemetry = Option.getOrUndefined(yield* Effect.serviceOption(Telemetry.Telemetry))

      const attempt = Effect.gen(function* () {
        const attemptScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
        current = undefined
        requestId = undefined
        const run = Effect.gen(function* () {
          const response = yield* Effect.either(openai.chat.completions.streamBytes(request, callOptions))
          // The transport has already retried what fails before the headers: not again here.
          if (Either.isLeft(response)) return Either.left(response.left)
          const progress = new Progress(response.right.requestId)
          current = progress
          requestId = response.right.requestId
          // Added after streamBytes' own finalizer, so it runs first and its settlement is the one that counts.
          const { ticket } = response.right
          yield* Scope.addFinalizerExit(attemptScope, (exit) =>
            Effect.zipRight(
              telemetry === undefined
                ? Effect.void
                : telemetry.recordResponse(ticket, {
                    finishReason: progress.finishReason,
                    responseModel: progress.responseModel,
                    requestId: progress.requestId
                  }),
              response.right.settle({
                usage: progress.usageFor(ticket),
                error: progress.error ?? (Option.getOrUndefined(failureOf(exit)) as Errors.OpenAiError | undefined)
              })
            )
          )
          const pull = yield* Stream.toPull(decodeBody(response.right, progress, sse))
          const first = yield* pullFirst(pull)
          if (!first.ended && telemetry !== undefined) yield* telemetry.recordFirstToken(ticket)
          return Either.right<Started>({ first: first.chunks, ended: first.ended, pull, progress })
        }).pipe(Scope.extend(attemptScope))
        return yield* (
          finite(firstTokenTimeout)
            ? Effect.timeoutFail(run, {
                duration: firstTokenTimeout,
                onTimeout: timeout("first-token", firstTokenTimeout)
              })
            : run
        ).pipe(
          Effect.onExit((exit) =>
            Exit.isSuccess(exit) && Either.isRight(exit.value) ? Effect.void : Scope.close(attemptScope, exit)
          )
        )
      })

      const started = yield* Effect.flatten(Retry.retry(policy)(attempt))
      const idlePull: Pull = finite(idleTimeout)
        ? Effect.timeoutFail(started.pull, {
            duration: idleTimeout,
            onTimeout: () => Option.some(timeout("idle", idleTimeout)())
          })
        : started.pull
      const rest: Stream.Stream<ChatCompletionChunk, Errors.OpenAiError> = started.ended
        ? Stream.empty
        : Stream.repeatEffectChunkOption(idlePull)
      const produced = Stream.concat(Stream.fromChunk(started.first), rest)
      return bufferSize > 0 ? Stream.buffer(produced, { capacity: bufferSize, strategy: "suspend" }) : produced
    })

    const chunks = Stream.unwrapScoped(body)
    return finite(totalTimeout)
      ? Stream.interruptWhen(
          chunks,
          Effect.flatMap(Effect.sleep(totalTimeout), () => Effect.fail(timeout("total", totalTimeout)()))
        )
      : chunks
  })

const failureOf = <E>(exit: Exit.Exit<unknown, E>): Option.Option<E> =>
  Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()

/**
 * Runs the stream and folds it into one completion: content, refusal and reasoning per choice,
 * tool-call fragments merged by index (id, name and arguments concatenated), the last
 * `finish_reason` per choice, `usage` from the usage chunk, `id` and `model` from the first chunk
 * that has them.
 *
 * @since 0.1.0
 * @category accumulation
 */
export const accumulate = <E, R>(self: Stream.Stream<ChatCompletionChunk, E, R>): Effect.Effect<ChatCompletion, E, R> =>
  Effect.suspend(() => {
    const accumulator = new Accumulator()
    return Stream.runForEachChunk(self, (chunks) =>
      Effect.sync(() => {
        for (const chunk of chunks) accumulator.add(chunk)
      })
    ).pipe(Effect.map(() => accumulator.result()))
  })

/**
 * The content deltas of choice 0, empty ones dropped.
 *
 * @since 0.1.0
 * @category text
 */
export const textDeltas = <E, R>(self: Stream.Stream<ChatCompletionChunk, E, R>): Stream.Stream<string, E, R> =>
  Stream.filterMap(self, (chunk) => {
    const content = chunk.choices.find((c) => c.index === 0)?.delta.content
    return content ? Option.some(content) : Option.none()
  })

const rechunk =
  (split: (buffer: string) => Split) =>
  <E, R>(self: Stream.Stream<string, E, R>): Stream.Stream<string, E, R> =>
    Stream.suspend(() => {
      let buffer = ""
      return Stream.mapConcat(self, (piece) => {
        if (piece === "") return []
        const result = split(buffer + piece)
        buffer = result.rest
        return result.complete
      }).pipe(Stream.concat(Stream.suspend(() => (buffer === "" ? Stream.empty : Stream.make(buffer)))))
    })

/**
 * Re-chunks text into words: each element is one word with the whitespace and punctuation that
 * follow it (`"Hello, "`, `"world."`). Joining the output gives back the input exactly; the
 * remainder is flushed when the input ends.
 *
 * @since 0.1.0
 * @category text
 */
export const words: <E, R>(self: Stream.Stream<string, E, R>) => Stream.Stream<string, E, R> = rechunk(splitWords)

/**
 * Re-chunks text into sentences (with their trailing whitespace), as `Intl.Segmenter` finds them.
 * A sentence is emitted once the next one has started; the remainder is flushed at the end.
 *
 * @since 0.1.0
 * @category text
 */
export const sentences: <E, R>(self: Stream.Stream<string, E, R>) => Stream.Stream<string, E, R> =
  rechunk(splitSentences)

/**
 * Re-chunks text into lines, each ending with its `"\n"` (the last one may not).
 *
 * @since 0.1.0
 * @category text
 */
export const lines: <E, R>(self: Stream.Stream<string, E, R>) => Stream.Stream<string, E, R> = rechunk(splitLines)

/**
 * Decouples producer and consumer with a bounded buffer of `capacity` elements: the producer runs
 * ahead at most that far and then waits (backpressure, never dropping). Chunking is lost.
 *
 * @since 0.1.0
 * @category buffering
 */
export const buffered: {
  (capacity: number): <A, E, R>(self: Stream.Stream<A, E, R>) => Stream.Stream<A, E, R>
  <A, E, R>(self: Stream.Stream<A, E, R>, capacity: number): Stream.Stream<A, E, R>
} = dual(
  2,
  <A, E, R>(self: Stream.Stream<A, E, R>, capacity: number): Stream.Stream<A, E, R> =>
    Stream.buffer(self, { capacity, strategy: "suspend" })
)
