/**
 * Streaming chat completions: the gated, timed, cancellable `stream` call on the core client; SSE events to
 * typed chunks (with `[DONE]`, in-stream errors and truncation as typed `OpenAiError`s); accumulation into a
 * full completion, text re-chunking and bounded buffering.
 *
 * @since 0.1.0
 */
import { type ChatCompletions, type Errors, type Gates, OpenAi } from "@sluice/core"
import * as Usage from "@sluice/core/Usage"
import * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Predicate from "effect/Predicate"
import * as Pull from "effect/Pull"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import { Accumulator } from "./internal/accumulator.js"
import * as internalBuffer from "./internal/buffer.js"
import * as internalChunk from "./internal/chunk.js"
import * as GatedStream from "./internal/gatedStream.js"
import * as internalErrors from "./internal/errors.js"
import { type Split, splitLines, splitSentences, splitWords } from "./internal/text.js"
import { TextParts } from "./internal/textParts.js"
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

const parseJson = (data: string): Result.Result<unknown, string> => {
  try {
    return Result.succeed(JSON.parse(data))
  } catch (e) {
    return Result.fail(e instanceof Error ? e.message : String(e))
  }
}

type Step = { readonly _tag: "Chunk"; readonly chunk: ChatCompletionChunk } | { readonly _tag: "Skip" | "Done" }
const skip: Step = { _tag: "Skip" }
const done: Step = { _tag: "Done" }

const interpret = (
  event: Sse.Event,
  index: number,
  requestId: string | undefined
): Result.Result<Step, InStreamError | Errors.ResponseDecodeFailed> => {
  if (event.event === "error") {
    const parsed = parseJson(event.data)
    return Result.fail(
      internalErrors.fromPayload(Result.isSuccess(parsed) ? parsed.success : undefined, event.data, requestId)
    )
  }
  // OpenAI sends only unnamed events; other servers add e.g. `event: ping`.
  if (event.event !== "message") return Result.succeed(skip)
  const data = event.data.trim()
  if (data === "") return Result.succeed(skip)
  if (data === "[DONE]") return Result.succeed(done)
  const parsed = parseJson(data)
  if (Result.isFailure(parsed)) {
    return Result.fail(
      internalErrors.decodeFailed(`stream event ${index}: invalid JSON: ${parsed.failure}`, event.data, requestId)
    )
  }
  const json = parsed.success
  if (Predicate.isObject(json) && json.error !== undefined && json.error !== null) {
    return Result.fail(internalErrors.fromPayload(json, data, requestId))
  }
  const fast = internalChunk.fastChunk(json)
  if (fast !== undefined) return Result.succeed({ _tag: "Chunk", chunk: fast })
  const chunk = internalChunk.decodeChunk(json)
  if (Result.isFailure(chunk)) {
    return Result.fail(
      internalErrors.decodeFailed(
        `stream event ${index}: not a chat completion chunk: ${internalErrors.truncate(chunk.failure)}`,
        event.data,
        requestId
      )
    )
  }
  return Result.succeed({ _tag: "Chunk", chunk: chunk.success })
}

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
    Channel.fromTransform((upstream: Pull.Pull<Arr.NonEmptyReadonlyArray<Sse.Event>, E, unknown>) =>
      Effect.sync(() => {
        const requestId = options?.requestId
        let index = 0
        let chunks = 0
        const partialContent = new TextParts()
        // Set at `[DONE]` or a failure: what every later pull returns (upstream is not read again).
        let halted: Effect.Effect<never, ChatStreamError | Cause.Done> | undefined
        const onInput = (input: Arr.NonEmptyReadonlyArray<Sse.Event>) => {
          const out: Array<ChatCompletionChunk> = []
          for (let i = 0; i < input.length; i++) {
            const step = interpret(input[i]!, index++, requestId)
            if (Result.isFailure(step)) {
              halted = Effect.fail(step.failure)
              break
            }
            if (step.success._tag === "Done") {
              halted = Cause.done()
              break
            }
            if (step.success._tag === "Chunk") {
              const chunk = step.success.chunk
              out.push(chunk)
              chunks++
              const content = chunk.choices.find((c) => c.index === 0)?.delta.content
              if (content) partialContent.append(content)
            }
          }
          return Arr.isArrayNonEmpty(out) ? Effect.succeed(out) : (halted ?? pull)
        }
        const onDone = () => {
          halted = Effect.fail(internalErrors.truncated(chunks, partialContent.toString(), requestId))
          return halted
        }
        const pull: Pull.Pull<Arr.NonEmptyReadonlyArray<ChatCompletionChunk>, E | ChatStreamError> = Effect.suspend(
          () => halted ?? Pull.matchEffect(upstream, { onSuccess: onInput, onFailure: Effect.failCause, onDone })
        )
        return pull
      })
    )
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
  (args) => Stream.isStream(args[0]),
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
   * From an attempt's admission by the gates (connect, response headers) to its first chunk. Default 60 s.
   * A hang before the headers is caught by it too. Retried like any retryable failure before the first chunk:
   * another attempt of the same call.
   */
  readonly firstTokenTimeout?: Duration.Input | undefined
  /** The longest gap between two chunks once the first has arrived. Default 30 s. */
  readonly idleTimeout?: Duration.Input | undefined
  /** The whole stream, from the call to the last chunk read by the consumer. Default 10 minutes. */
  readonly totalTimeout?: Duration.Input | undefined
  /** SSE decoder options (event size limit, strict UTF-8). */
  readonly sse?: Sse.DecodeOptions | undefined
}

/**
 * The defaults of {@link StreamOptions}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults: {
  readonly bufferSize: number
  readonly firstTokenTimeout: Duration.Duration
  readonly idleTimeout: Duration.Duration
  readonly totalTimeout: Duration.Duration
} = GatedStream.defaults

/** What one attempt's body has delivered: for `StreamTruncated`, settlement and request ids on errors. */
class Progress {
  chunks = 0
  readonly content = new TextParts()
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
        if (choice.index === 0) this.content.append(delta.content)
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
  usageFor(call: Gates.Call): Usage.Usage {
    return Usage.fromWire(this.usage) ?? Usage.streamed(call.estimatedPromptTokens, this.outputChars)
  }
}

/** The decoded body of one attempt, every failure an `OpenAiError` with the request id. */
const decodeBody = (
  response: OpenAi.StreamHead,
  progress: Progress,
  sse: Sse.DecodeOptions | undefined
): Stream.Stream<ChatCompletionChunk, Errors.OpenAiError> =>
  fromBytes(response.body, { ...sse, requestId: response.requestId }).pipe(
    Stream.mapArray((chunks) => {
      for (let i = 0; i < chunks.length; i++) progress.add(chunks[i]!)
      return chunks
    }),
    Stream.mapError((error) =>
      progress.fail(
        // A connection that breaks after the first chunk leaves half an answer: that is a truncated stream.
        // Before it, the failure stays a (retryable) ConnectionFailed.
        error._tag === "ConnectionFailed" && progress.chunks > 0
          ? internalErrors.truncated(progress.chunks, progress.content.toString(), response.requestId)
          : internalErrors.withRequestId(error, response.requestId)
      )
    )
  )

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
 * A streaming chat completion through the core client (`OpenAi`), failing only with `OpenAiError`:
 *
 * - the same gates as `create` (budget reservation, breaker, rate limiter, concurrency permit) via
 *   `chat.completions.stream`; `stream_options.include_usage` is on unless the request says otherwise,
 *   and the call is settled with the usage chunk's usage — or, when the stream fails or is interrupted, with
 *   the prompt estimate plus the completion tokens streamed so far (≈ characters / 4);
 * - retries (the configured policy, `options.retry` overriding) only before the first chunk is emitted, by
 *   core's one loop for the call (`chat.completions.stream`): a failure before the headers, or after them and
 *   before the first token (a broken connection, an in-stream `server_error`, the first-token timeout), is another
 *   attempt of the same call — one reservation, one telemetry call, at most `maxAttempts`; once a chunk has been
 *   emitted nothing is retried;
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
  Stream.unwrap(
    Effect.map(OpenAi.OpenAi, (openai) => {
      const { sse, ...options_ } = options
      return GatedStream.run<ChatCompletionChunk, Progress, never>(
        (call) => openai.chat.completions.stream(request, call),
        {
          progress: (requestId) => new Progress(requestId),
          decode: (head, progress) => decodeBody(head, progress, sse),
          isFirst: hasToken
        },
        options_
      )
    })
  )

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
    return Stream.runForEachArray(self, (chunks) =>
      Effect.sync(() => {
        for (let i = 0; i < chunks.length; i++) accumulator.add(chunks[i]!)
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
    return content ? Result.succeed(content) : Result.failVoid
  })

const rechunk =
  (split: (buffer: string) => Split) =>
  <E, R>(self: Stream.Stream<string, E, R>): Stream.Stream<string, E, R> =>
    Stream.mapAccum(
      self,
      () => "",
      (buffer, piece): readonly [string, ReadonlyArray<string>] => {
        if (piece === "") return [buffer, []]
        const result = split(buffer + piece)
        return [result.rest, result.complete]
      },
      { onHalt: (buffer) => (buffer === "" ? [] : [buffer]) }
    )

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
 * ahead at most that far (plus the element it holds) and then waits (backpressure, never dropping). The
 * consumer receives one element at a time (chunking is lost).
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
    internalBuffer.bounded(self, capacity)
)
