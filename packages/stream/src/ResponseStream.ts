/**
 * Streamed Responses: the Responses API's semantic events as one union discriminated by `type`, decoded from SSE
 * with the same guarantees as `ChatStream` — a stream that ends without `response.completed`, `response.incomplete`
 * or `response.failed` fails with `StreamTruncated`; `response.failed` and `error` events fail with the
 * `OpenAiError` their code names (`insufficient_quota` → `QuotaExceeded`, `rate_limit_exceeded` → `RateLimited`);
 * the gated, timed, cancellable `stream` call (and `resume` for a background response); helpers for the text deltas
 * and the final `Response`.
 *
 * @since 0.3.0
 */
import { type Errors, OpenAi, type Responses } from "@sluice/core"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import * as Accumulate from "./internal/responses/accumulate.js"
import * as Call from "./internal/responses/call.js"
import * as Decoder from "./internal/responses/decoder.js"
import * as Events from "./internal/responses/events.js"
import type * as Sse from "./Sse.js"

/**
 * One event of a streamed Response: lifecycle (`response.created`, `.in_progress`, `.queued`, `.completed`,
 * `.incomplete`, `.failed`), output items (`response.output_item.added` / `.done`), content parts, text
 * (`response.output_text.delta` / `.done`), refusals, function-call arguments, reasoning summaries and text, and
 * `error`. `sequence_number`, `output_index`, `item_id` and `content_index` may be absent (llama.cpp). Any other
 * event arrives as `{ type: "unknown", name, data }` (its own type and its data as sent), so a `switch` on `type`
 * narrows every member.
 *
 * @since 0.3.0
 * @category schemas
 */
export const Event = Events.Event

/**
 * @since 0.3.0
 * @category models
 */
export type Event = Events.Event

/**
 * The event of one `type`.
 *
 * @since 0.3.0
 * @category models
 */
export type EventOf<T extends Event["type"]> = Extract<Event, { readonly type: T }>

/**
 * Every way decoding a Response stream can fail: no terminal event (`StreamTruncated`), an event that is not JSON
 * or not of its type's shape (`ResponseDecodeFailed`), or an error the server reported (`response.failed`,
 * `error`): `RateLimited`, `QuotaExceeded`, `AuthenticationFailed`, `BadRequest`, `NotFound`, `ServerError` ….
 *
 * @since 0.3.0
 * @category errors
 */
export type ResponseStreamError = Decoder.DecodeError

/**
 * Options of {@link fromSse} and {@link fromBytes}.
 *
 * @since 0.3.0
 * @category models
 */
export interface DecodeOptions extends Sse.DecodeOptions {
  /** Put on every error the decoder raises (the response's `x-request-id`). */
  readonly requestId?: string | undefined
}

/**
 * Decodes SSE events into Response events. The stream ends after `response.completed` or `response.incomplete`
 * (upstream is not read again); `response.failed` is delivered and then fails with its error; an `error` event
 * fails; an input that ends before a terminal event fails with `StreamTruncated` (events received, text so far).
 * Empty events and `data: [DONE]` are skipped.
 *
 * @since 0.3.0
 * @category decoding
 */
export const fromSse = <E, R>(
  events: Stream.Stream<Sse.Event, E, R>,
  options?: DecodeOptions
): Stream.Stream<Event, E | ResponseStreamError, R> => Decoder.decode(events, options?.requestId)

/**
 * Decodes a response body (`text/event-stream` bytes): what {@link Sse.decode} then {@link fromSse} do, in one step. An SSE decoding
 * failure (an oversized event, invalid UTF-8 in strict mode) is a `ResponseDecodeFailed`.
 *
 * @since 0.3.0
 * @category decoding
 */
export const fromBytes: {
  (
    options?: DecodeOptions
  ): <E, R>(bytes: Stream.Stream<Uint8Array, E, R>) => Stream.Stream<Event, E | ResponseStreamError, R>
  <E, R>(
    bytes: Stream.Stream<Uint8Array, E, R>,
    options?: DecodeOptions
  ): Stream.Stream<Event, E | ResponseStreamError, R>
} = dual(
  (args) => Stream.isStream(args[0]),
  <E, R>(bytes: Stream.Stream<Uint8Array, E, R>, options?: DecodeOptions) =>
    Decoder.decodeBytes(bytes, options, options?.requestId)
)

/**
 * The text deltas (`response.output_text.delta`), empty ones dropped.
 *
 * @since 0.3.0
 * @category text
 */
export const textDeltas = <E, R>(self: Stream.Stream<Event, E, R>): Stream.Stream<string, E, R> =>
  Stream.filterMap(self, (event) =>
    event.type === "response.output_text.delta" && (event as EventOf<"response.output_text.delta">).delta !== ""
      ? Result.succeed((event as EventOf<"response.output_text.delta">).delta)
      : Result.failVoid
  )

/**
 * Runs the stream and returns the final `Response`: the one its terminal event carries (its output filled from the
 * streamed items when a server leaves it empty). Fails with the stream's error; a stream with no lifecycle event
 * at all fails with `StreamTruncated`.
 *
 * @since 0.3.0
 * @category accumulation
 */
export const finalResponse = <E, R>(
  self: Stream.Stream<Event, E, R>
): Effect.Effect<Responses.Response, E | Errors.StreamTruncated, R> => Accumulate.finalResponse(self)

/**
 * Options of {@link stream} and {@link resume}. Every `OpenAi.CallOptions` field (headers, retry, batch) applies too.
 *
 * @since 0.3.0
 * @category models
 */
export type StreamOptions = Call.Options

/**
 * The defaults of {@link StreamOptions} (the same as `ChatStream`'s).
 *
 * @since 0.3.0
 * @category constructors
 */
export const defaults: {
  readonly bufferSize: number
  readonly firstTokenTimeout: Duration.Duration
  readonly idleTimeout: Duration.Duration
  readonly totalTimeout: Duration.Duration
} = Call.defaults

/**
 * A streamed Response through the core client (`openai.responses.stream`), failing only with `OpenAiError`, with
 * every guarantee of `ChatStream.stream`:
 *
 * - the gates of `create` (budget reservation, breaker, rate limiter, concurrency permit, telemetry); the call is
 *   settled with the usage of the terminal event (reasoning tokens billed as output), or — when the stream fails or
 *   is interrupted — with the prompt estimate plus the output streamed so far (≈ characters / 4);
 * - retries (one loop, in core, under the configured policy) only before the first output event reaches the
 *   consumer: lifecycle events are held back until then (except a background response's `response.created`,
 *   after which nothing is retried: a retry would start a second response);
 * - a bounded buffer of `bufferSize` events; `firstTokenTimeout`, `idleTimeout`, `totalTimeout` as `Timeout`s;
 * - no terminal event, or a connection that breaks after the first event → `StreamTruncated`;
 * - interruption or early exit aborts the HTTP request at once.
 *
 * @since 0.3.0
 * @category constructors
 */
export const stream = (
  request: Responses.Request,
  options: StreamOptions = {}
): Stream.Stream<Event, Errors.OpenAiError, OpenAi.OpenAi> =>
  Call.run(
    (callOptions) => Effect.flatMap(OpenAi.OpenAi, (openai) => openai.responses.stream(request, callOptions)),
    options,
    request.background === true
  )

/**
 * The stream of a background response (`background: true`) again, from the event after `startingAfter` (the last
 * `sequence_number` received; all events when absent): after a `StreamTruncated`, a restart, or from another
 * process. The same guarantees as {@link stream}; nothing new is billed.
 *
 * @since 0.3.0
 * @category constructors
 */
export const resume = (
  responseId: string,
  options: StreamOptions & { readonly startingAfter?: number | undefined } = {}
): Stream.Stream<Event, Errors.OpenAiError, OpenAi.OpenAi> => {
  const { startingAfter, ...rest } = options
  return Call.run(
    (callOptions) =>
      Effect.flatMap(OpenAi.OpenAi, (openai) => openai.responses.resume(responseId, startingAfter, callOptions)),
    rest,
    true
  )
}
