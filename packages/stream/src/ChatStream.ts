/**
 * Streaming chat completions: the gated, timed, cancellable `stream` call on the core client; SSE events to
 * typed chunks (with `[DONE]`, in-stream errors and truncation as typed `OpenAiError`s); accumulation into a
 * full completion, text re-chunking and bounded buffering.
 *
 * @since 0.1.0
 */
import type { ChatCompletions, Errors, OpenAi } from "@sluice/core"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Stream from "effect/Stream"
import * as internalBuffer from "./internal/buffer.js"
import * as Call from "./internal/chatStream/call.js"
import * as Decode from "./internal/chatStream/decode.js"
import * as Text from "./internal/chatStream/text.js"
import * as internalChunk from "./internal/chunk.js"
import type * as internalErrors from "./internal/errors.js"
import * as GatedStream from "./internal/gatedStream.js"
import { splitLines, splitSentences, splitWords } from "./internal/text.js"
import type * as WebBody from "./internal/webBody.js"
import type * as Sse from "./Sse.js"

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
): Stream.Stream<ChatCompletionChunk, E | ChatStreamError, R> => Decode.fromSse(events, options?.requestId)

/**
 * Options of {@link fromBytes}: the SSE decoder's options and the request id to put on errors.
 *
 * @since 0.1.0
 * @category models
 */
export interface FromBytesOptions extends Sse.DecodeOptions, FromSseOptions {}

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
  ): Stream.Stream<ChatCompletionChunk, E | ChatStreamError, R> => Decode.fromBytes(bytes, options, options?.requestId)
)

/**
 * Options of {@link fromReadableStream}: those of {@link fromBytes} and the body's `url`, named on a read
 * failure.
 *
 * @since 0.3.0
 * @category models
 */
export interface FromReadableStreamOptions extends FromBytesOptions, WebBody.BodyOptions {}

/**
 * Decodes a Web body (the `body` of a `fetch` response you made yourself, any `ReadableStream<Uint8Array>` of
 * `text/event-stream` bytes) into chunks, as {@link fromBytes} does, decoding in the body's read callbacks (core's
 * `WebBody.decode`). A pull reads only until it has a chunk, nothing is read ahead of the consumer; ending the stream early (an early
 * `Stream.take`, a failure downstream, an interruption) cancels the body, which frees a `fetch`'s connection.
 * A failed read is core's `ConnectionFailed`. The body can be read once: run the stream once.
 *
 * @since 0.3.0
 * @category decoding
 */
export const fromReadableStream = (
  body: ReadableStream<Uint8Array>,
  options?: FromReadableStreamOptions
): Stream.Stream<ChatCompletionChunk, Errors.ConnectionFailed | ChatStreamError> =>
  Decode.fromReadableStream(body, options, options?.requestId)

// ---------------------------------------------------------------------------------------------------------------
// The call: ChatStream.stream on the core client's streaming transport.
// ---------------------------------------------------------------------------------------------------------------

/**
 * Options of {@link stream}. Every `OpenAi.CallOptions` field (headers, retry, batch) applies too.
 *
 * @since 0.1.0
 * @category models
 */
export type StreamOptions = GatedStream.Options

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
): Stream.Stream<ChatCompletionChunk, Errors.OpenAiError, OpenAi.OpenAi> => Call.stream(request, options)

/**
 * Runs the stream and folds it into one completion: content, refusal and reasoning per choice,
 * tool-call fragments merged by index (id, name and arguments concatenated), the last
 * `finish_reason` per choice, `usage` from the usage chunk, `id` and `model` from the first chunk
 * that has them.
 *
 * @since 0.1.0
 * @category accumulation
 */
export const accumulate: <E, R>(self: Stream.Stream<ChatCompletionChunk, E, R>) => Effect.Effect<ChatCompletion, E, R> =
  Text.accumulate

/**
 * The content deltas of choice 0, empty ones dropped.
 *
 * @since 0.1.0
 * @category text
 */
export const textDeltas: <E, R>(self: Stream.Stream<ChatCompletionChunk, E, R>) => Stream.Stream<string, E, R> =
  Text.textDeltas

/**
 * Re-chunks text into words: each element is one word with the whitespace and punctuation that
 * follow it (`"Hello, "`, `"world."`). Joining the output gives back the input exactly; the
 * remainder is flushed when the input ends.
 *
 * @since 0.1.0
 * @category text
 */
export const words: <E, R>(self: Stream.Stream<string, E, R>) => Stream.Stream<string, E, R> = Text.rechunk(splitWords)

/**
 * Re-chunks text into sentences (with their trailing whitespace), as `Intl.Segmenter` finds them.
 * A sentence is emitted once the next one has started; the remainder is flushed at the end.
 *
 * @since 0.1.0
 * @category text
 */
export const sentences: <E, R>(self: Stream.Stream<string, E, R>) => Stream.Stream<string, E, R> =
  Text.rechunk(splitSentences)

/**
 * Re-chunks text into lines, each ending with its `"\n"` (the last one may not).
 *
 * @since 0.1.0
 * @category text
 */
export const lines: <E, R>(self: Stream.Stream<string, E, R>) => Stream.Stream<string, E, R> = Text.rechunk(splitLines)

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
