/**
 * Server-Sent Events: a decoder from bytes to events that follows the WHATWG `text/event-stream`
 * parsing rules, and the matching encoder for relaying.
 *
 * Guarantees of the decoder:
 * - LF, CR and CRLF line endings, also when a CRLF pair is split across two chunks;
 * - any re-chunking of the same bytes decodes to the same events (UTF-8 characters split across
 *   chunks included);
 * - a leading byte-order mark is stripped; comment lines are ignored;
 * - an event larger than `maxEventBytes` fails with a typed {@link SseDecodeError} instead of
 *   buffering without bound; nothing is thrown and nothing sleeps (`retry:` is reported, not obeyed).
 *
 * @since 0.1.0
 */
import type { ConnectionFailed } from "@sluice/core/Errors"
import type * as Arr from "effect/Array"
import * as Channel from "effect/Channel"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type * as Pull from "effect/Pull"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as PullStep from "./internal/pullStep.js"
import * as Parser from "./internal/sseParser.js"
import * as WebBody from "./internal/webBody.js"

/**
 * One dispatched event.
 *
 * - `event`: the event type, `"message"` unless an `event:` field said otherwise.
 * - `data`: the `data:` lines of the event joined with `"\n"`.
 * - `id`: the last event ID at the time of dispatch (per the spec it persists across events until an
 *   `id:` field changes it); `undefined` while no `id:` field has been seen.
 * - `retry`: the reconnection time in milliseconds from a `retry:` field seen since the previous
 *   dispatched event, if any.
 *
 * @since 0.1.0
 * @category models
 */
export interface Event {
  readonly event: string
  readonly data: string
  readonly id: string | undefined
  readonly retry: number | undefined
}

/**
 * Makes an {@link Event}; omitted fields take their defaults (`event: "message"`, no id, no retry).
 *
 * @since 0.1.0
 * @category constructors
 */
export const event = (fields: {
  readonly data: string
  readonly event?: string | undefined
  readonly id?: string | undefined
  readonly retry?: number | undefined
}): Event => ({ event: fields.event ?? "message", data: fields.data, id: fields.id, retry: fields.retry })

/**
 * The input could not be decoded. `line` is the 1-based line of the input where the problem was
 * found.
 *
 * - `EventTooLarge`: the event being assembled (its `data` plus the line being read) exceeded
 *   `maxEventBytes`.
 * - `InvalidUtf8`: a line is not valid UTF-8 (only with `strictUtf8: true`).
 *
 * @since 0.1.0
 * @category errors
 */
export class SseDecodeError extends Schema.TaggedError<SseDecodeError>()("SseDecodeError", {
  reason: Schema.Literals(["EventTooLarge", "InvalidUtf8"]),
  line: Schema.Number,
  detail: Schema.String
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `SSE decoding failed at line ${this.line}: ${this.detail}`
  }
}

/**
 * Options of the decoder.
 *
 * @since 0.1.0
 * @category models
 */
export interface DecodeOptions {
  /** Largest event accepted, in UTF-8 bytes of its data plus the line being read. Default 8 MiB. */
  readonly maxEventBytes?: number | undefined
  /**
   * `false` (default, as the spec says): invalid UTF-8 becomes U+FFFD. `true`: fail with an
   * `InvalidUtf8` {@link SseDecodeError} naming the line.
   */
  readonly strictUtf8?: boolean | undefined
  /**
   * What to do with an event that the input ends in the middle of (no blank line after it).
   * `false` (default, as the spec says): discard it — for OpenAI streams, which always end with a
   * blank line, a missing one means the connection was cut, and the chat layer reports that as a
   * truncated stream. `true`: dispatch it as if a blank line followed.
   */
  readonly dispatchIncompleteEvent?: boolean | undefined
}

/**
 * Default of {@link DecodeOptions.maxEventBytes}: 8 MiB.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxEventBytes: number = Parser.defaultMaxEventBytes

const toError = (failure: Parser.ParseFailure): SseDecodeError =>
  new SseDecodeError({ reason: failure.reason, line: failure.line, detail: failure.detail })

/**
 * The decoder's channel type: byte chunks in, event chunks out, upstream failures and completion passed through.
 *
 * @since 0.1.0
 * @category models
 */
export type Decoder<IE, Done> = Channel.Channel<
  Arr.NonEmptyReadonlyArray<Event>,
  SseDecodeError | IE,
  Done,
  Arr.NonEmptyReadonlyArray<Uint8Array>,
  IE,
  Done
>

/**
 * The decoder as a `Channel` from byte chunks to event chunks (for `Stream.pipeThroughChannel`); upstream
 * failures pass through. Each run of the channel has its own parser state. Pulls upstream until a chunk
 * yields at least one event, so no empty chunk is ever emitted; events decoded before a failure are emitted
 * first, then the failure.
 *
 * @since 0.1.0
 * @category decoding
 */
export const channel = <IE = never, Done = unknown>(options?: DecodeOptions): Decoder<IE, Done> =>
  Channel.fromTransform((upstream: Pull.Pull<Arr.NonEmptyReadonlyArray<Uint8Array>, IE, Done>) =>
    Effect.sync(() =>
      PullStep.make(upstream, Parser.step(new Parser.SseParser(Parser.parserOptions(options)), toError))
    )
  )

/**
 * Decodes a byte stream (e.g. an HTTP response body) into events.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode: {
  (
    options?: DecodeOptions
  ): <E, R>(bytes: Stream.Stream<Uint8Array, E, R>) => Stream.Stream<Event, E | SseDecodeError, R>
  <E, R>(bytes: Stream.Stream<Uint8Array, E, R>, options?: DecodeOptions): Stream.Stream<Event, E | SseDecodeError, R>
} = dual(
  (args) => Stream.isStream(args[0]),
  <E, R>(
    bytes: Stream.Stream<Uint8Array, E, R>,
    options?: DecodeOptions
  ): Stream.Stream<Event, E | SseDecodeError, R> =>
    Stream.transformPull(bytes, (upstream) =>
      Effect.sync(() =>
        PullStep.make(upstream, Parser.step(new Parser.SseParser(Parser.parserOptions(options)), toError))
      )
    )
)

/**
 * Options of {@link fromReadableStream}: the decoder's options and the body's `url`, named on a read failure.
 *
 * @since 0.3.0
 * @category models
 */
export interface ReadableStreamOptions extends DecodeOptions, WebBody.BodyOptions {}

/**
 * Decodes a Web body (a `fetch` response's `body`, any `ReadableStream<Uint8Array>`) into events, as
 * {@link decode} does, decoding in the body's read callbacks (core's `WebBody.decode`). A pull reads only until
 * it has an event, nothing is read ahead; ending
 * the stream early (an early `Stream.take`, an interruption) cancels the body. A failed read is core's
 * `ConnectionFailed`. The body can be read once: run the stream once.
 *
 * @since 0.3.0
 * @category decoding
 */
export const fromReadableStream = (
  body: ReadableStream<Uint8Array>,
  options?: ReadableStreamOptions
): Stream.Stream<Event, ConnectionFailed | SseDecodeError> =>
  WebBody.decode(body, () => Parser.step(new Parser.SseParser(Parser.parserOptions(options)), toError), options)

const LINE_BREAK = /\r\n|\r|\n/

/**
 * Encodes one event in the wire format, ending with the blank line that dispatches it. The inverse
 * of decoding: line breaks in `data` (LF, CR or CRLF) become separate `data:` lines and decode back
 * as `"\n"`; the `event:` line is left out for `"message"`. `event` and `id` cannot contain line
 * breaks on the wire: line breaks in them are replaced by spaces.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (event: Event): string => {
  let out = ""
  if (event.event !== "message" && event.event !== "") out += "event: " + singleLine(event.event) + "\n"
  if (event.id !== undefined) out += "id: " + singleLine(event.id) + "\n"
  if (event.retry !== undefined) out += "retry: " + Math.max(0, Math.trunc(event.retry)) + "\n"
  const lines = event.data.split(LINE_BREAK)
  for (const line of lines) out += "data: " + line + "\n"
  return out + "\n"
}

const singleLine = (s: string): string => s.replace(/\r\n|\r|\n/g, " ")

/**
 * Encodes a comment line (ignored by every decoder), e.g. a keep-alive.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeComment = (text: string): string =>
  text
    .split(LINE_BREAK)
    .map((line) => ": " + line + "\n")
    .join("")

const encoder = new TextEncoder()

/**
 * {@link encode} as UTF-8 bytes.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeBytes = (event: Event): Uint8Array => encoder.encode(encode(event))
