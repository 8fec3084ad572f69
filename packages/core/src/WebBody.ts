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

/**
 * How a {@link Decoder} ends: with a failure (`error`), or the end of what it decodes (`Done`, e.g. a
 * `[DONE]` event: nothing after it is read and the body is cancelled).
 *
 * @since 0.3.0
 * @category models
 */
export type Halt<E> = internal.Halt<E>

/**
 * A synchronous decoder of a body's reads, for {@link decode}: `input` gets each read (an array of one) and
 * appends what it completes to `out`; `end` gets the end of the body. Returning a {@link Halt} ends the stream
 * after `out` is delivered. One decoder per run: it may keep state.
 *
 * @since 0.3.0
 * @category models
 */
export type Decoder<Out, E> = internal.Decoder<Out, E>

/**
 * The body decoded as it is read: a pull reads until the decoder has completed something (or halts), the
 * decoder running in the read's callback, so a read that completes nothing costs no Effect step; nothing is
 * read while no pull waits. Ending early, read failures and the one-run rule are as for
 * {@link fromReadableStream}. `@sluice/stream`'s `ChatStream.fromReadableStream` and `Sse.fromReadableStream`
 * are this with their decoders.
 *
 * @since 0.3.0
 * @category constructors
 */
export const decode = <Out, E, RE>(
  body: ReadableStream<Uint8Array>,
  decoder: () => Decoder<Out, E>,
  onError: (cause: unknown) => RE
): Stream.Stream<Out, E | RE> => internal.decode(() => body, decoder, onError)
