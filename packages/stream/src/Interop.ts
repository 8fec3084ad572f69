/**
 * Hands Effect streams to the rest of the JavaScript world: Web `ReadableStream`s, Node
 * `Readable`s and SSE bytes for relaying a chat stream to a browser. Every adapter is pull-driven
 * (nothing is produced faster than it is read) and cancelling or destroying it interrupts the
 * stream, which runs its finalizers (e.g. aborts the upstream HTTP request).
 *
 * @since 0.1.0
 */
import { Readable } from "node:stream"
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { dual } from "effect/Function"
import * as Latch from "effect/Latch"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import * as Sse from "./Sse.js"

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

// Node wants an Error; the stream's typed errors are Error subclasses (Schema.TaggedError), anything else is wrapped.
const toError = (u: unknown): Error => (u instanceof Error ? u : new Error(String(u), { cause: u }))

class StreamReadable<A, E, R> extends Readable {
  private readonly latch = Latch.makeUnsafe(false)
  private fiber: Fiber.Fiber<void, E> | undefined = undefined
  private started = false

  constructor(
    private readonly context: Context.Context<R>,
    private readonly stream: Stream.Stream<A, E, R>,
    options: NodeReadableOptions | undefined
  ) {
    super({
      objectMode: options?.objectMode ?? false,
      ...(options?.highWaterMark !== undefined ? { highWaterMark: options.highWaterMark } : {})
    })
  }

  override _read(): void {
    if (!this.started) {
      // Nothing runs before the first read: an unread Readable costs nothing.
      this.started = true
      const latch = this.latch
      const fiber = Effect.runForkWith(this.context)(
        Stream.runForEachArray(this.stream, (chunk) =>
          latch.whenOpen(
            Effect.sync(() => {
              // Closed before pushing: Node may call _read (which opens it) from inside push.
              latch.closeUnsafe()
              for (let i = 0; i < chunk.length; i++) this.push(chunk[i])
            })
          )
        )
      )
      this.fiber = fiber
      fiber.addObserver((exit) => {
        this.fiber = undefined
        if (Exit.isSuccess(exit)) this.push(null)
        else if (!Cause.hasInterruptsOnly(exit.cause)) this.destroy(toError(Cause.squash(exit.cause)))
      })
    }
    this.latch.openUnsafe()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const fiber = this.fiber
    if (fiber === undefined) {
      callback(error)
      return
    }
    Effect.runFork(Fiber.interrupt(fiber)).addObserver(() => callback(error))
  }
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
} = dual(
  isStream,
  <A, E, R>(self: Stream.Stream<A, E, R>, options?: NodeReadableOptions): Effect.Effect<Readable, never, R> =>
    Effect.map(Effect.context<R>(), (context): Readable => new StreamReadable(context, self, options))
)

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

const textEncoder = new TextEncoder()
const DONE = "data: [DONE]\n\n"

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
} = dual(
  isStream,
  <A, E, R>(self: Stream.Stream<A, E, R>, options?: ToSseOptions<A>): Stream.Stream<Uint8Array, E, R> => {
    const encode = options?.encode ?? JSON.stringify
    return Stream.mapArray(self, (chunk) => {
      let text = ""
      for (let i = 0; i < chunk.length; i++) text += Sse.encode(Sse.event({ data: encode(chunk[i]!) }))
      return [textEncoder.encode(text)] as const
    }).pipe(Stream.concat(Stream.sync(() => textEncoder.encode(DONE))))
  }
)

/**
 * An `event: error` event in the shape OpenAI streams use (`{"error":{"message","type","code"}}`)
 * describing any error; `type` defaults to the error's `_tag`. `ChatStream.fromSse` decodes it back
 * into the `OpenAiError` its code or type names (a `RateLimited` stays `RateLimited`; anything it cannot
 * name becomes a `ServerError` with the message).
 *
 * @since 0.1.0
 * @category sse
 */
export const errorEvent = (error: unknown): Sse.Event => {
  const record = Predicate.isObject(error) ? error : {}
  const message =
    typeof record.message === "string" && record.message !== ""
      ? record.message
      : error instanceof Error
        ? error.message
        : String(error)
  const type = typeof record.type === "string" ? record.type : typeof record._tag === "string" ? record._tag : undefined
  const code = typeof record.code === "string" ? record.code : null
  return Sse.event({ event: "error", data: JSON.stringify({ error: { message, type: type ?? null, code } }) })
}
