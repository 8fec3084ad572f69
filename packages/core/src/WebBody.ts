/**
 * A Web `ReadableStream<Uint8Array>` (a `fetch` response body, a `Response` made in a test, an edge runtime's
 * body) as an Effect `Stream` of its reads. The fetch transport reads bodies with it; `@sluice/stream`'s
 * `ChatStream.fromReadableStream` and `Sse.fromReadableStream` decode one.
 *
 * @since 0.3.0
 */
import type * as Stream from "effect/Stream"
import * as internal from "./internal/webBody.js"

/**
 * The body's reads as a stream, one `reader.read()` per pull (nothing is read ahead of the consumer). The
 * stream takes the body's reader when it starts; when it ends before the body did (an early `Stream.take`,
 * a failure downstream, an interruption) it cancels the body, which for a `fetch` body frees the connection.
 * A read that fails (the connection broke, the body was aborted) fails the stream with `onError(cause)`.
 * The body can be read once: run the stream once.
 *
 * @since 0.3.0
 * @category constructors
 */
export const fromReadableStream = <E>(
  body: ReadableStream<Uint8Array> | (() => ReadableStream<Uint8Array>),
  onError: (cause: unknown) => E
): Stream.Stream<Uint8Array, E> => internal.fromReadableStream(typeof body === "function" ? body : () => body, onError)
