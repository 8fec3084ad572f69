/**
 * Hands Effect streams to the rest of the JavaScript world: Web `ReadableStream`s, Node
 * `Readable`s and SSE bytes for relaying a chat stream to a browser. Every adapter is pull-driven
 * (nothing is produced faster than it is read) and cancelling or destroying it interrupts the
 * stream, which runs its finalizers (e.g. aborts the upstream HTTP request).
 *
 * @since 0.1.0
 */
import type { Readable } from "node:stream"
import type * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Stream from "effect/Stream"
import * as internal from "./internal/interop.js"
import type * as Sse from "./Sse.js"

const isStream = (args: IArguments) => Stream.isStream(args[0])

/**
 * A Web `ReadableStream` that pulls from the stream on demand; `cancel()` interrupts it. For
 * streams that need services use {@link toReadableStreamEffect}.
 *
 * @since 0.1.0
 * @category web
 */
export const toReadableStream: {
  <A>(options?: {
    readonly strategy?: QueuingStrategy<A> | undefined
  }): <E>(self: Stream.Stream<A, E>) => ReadableStream<A>
  <A, E>(self: Stream.Stream<A, E>, options?: { readonly strategy?: QueuingStrategy<A> | undefined }): ReadableStream<A>
} = Stream.toReadableStream

/**
 * {@link toReadableStream} for a stream that needs services: captures the current runtime.
 *
 * @since 0.1.0
 * @category web
 */
export const toReadableStreamEffect: {
  <A>(options?: {
    readonly strategy?: QueuingStrategy<A> | undefined
  }): <E, R>(self: Stream.Stream<A, E, R>) => Effect.Effect<ReadableStream<A>, never, R>
  <A, E, R>(
    self: Stream.Stream<A, E, R>,
    options?: { readonly strategy?: QueuingStrategy<A> | undefined }
  ): Effect.Effect<ReadableStream<A>, never, R>
} = Stream.toReadableStreamEffect

/**
 * Options of {@link toNodeReadable}.
 *
 * @since 0.1.0
 * @category node
 */
export interface NodeReadableOptions {
  /** `true` to emit any value (e.g. chunks); `false` (default) for `Uint8Array`s or strings. */
  readonly objectMode?: boolean | undefined
  /** Node's `highWaterMark` (bytes, or objects in object mode). */
  readonly highWaterMark?: number | undefined
}

/**
 * A Node `Readable` fed by the stream with backpressure: the stream is only pulled when Node asks
 * for more (`_read`), and `destroy()` interrupts it (running its finalizers). A stream failure
 * destroys the Readable with the error.
 *
 * @since 0.1.0
 * @category node
 */
export const toNodeReadable: {
  (options?: NodeReadableOptions): <A, E, R>(self: Stream.Stream<A, E, R>) => Effect.Effect<Readable, never, R>
  <A, E, R>(self: Stream.Stream<A, E, R>, options?: NodeReadableOptions): Effect.Effect<Readable, never, R>
} = dual(isStream, internal.toNodeReadable)

/**
 * Options of {@link toSse}.
 *
 * @since 0.1.0
 * @category sse
 */
export interface ToSseOptions<A> {
  /** Turns an element into the `data` of its event. Default: `JSON.stringify`. */
  readonly encode?: ((a: A) => string) | undefined
}

/**
 * Re-encodes a stream (typically of chat chunks) as OpenAI-style SSE bytes — one `data:` event per
 * element, then `data: [DONE]` when the stream ends — for relaying to a browser. A failure of the
 * stream is not encoded: add an error event with `Stream.catch` and {@link errorEvent} (no
 * `[DONE]` follows it, as with OpenAI).
 *
 * @since 0.1.0
 * @category sse
 */
export const toSse: {
  <A>(options?: ToSseOptions<A>): <E, R>(self: Stream.Stream<A, E, R>) => Stream.Stream<Uint8Array, E, R>
  <A, E, R>(self: Stream.Stream<A, E, R>, options?: ToSseOptions<A>): Stream.Stream<Uint8Array, E, R>
} = dual(isStream, internal.toSse)

/**
 * An `event: error` event in the shape OpenAI streams use (`{"error":{"message","type","code"}}`)
 * describing any error; `type` defaults to the error's `_tag`. `ChatStream.fromSse` decodes it back
 * into the `OpenAiError` its code or type names (a `RateLimited` stays `RateLimited`; anything it cannot
 * name becomes a `ServerError` with the message).
 *
 * @since 0.1.0
 * @category sse
 */
export const errorEvent: (error: unknown) => Sse.Event = internal.errorEvent
