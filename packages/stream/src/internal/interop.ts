/**
 * Bodies of the public `Interop` module: the Node `Readable` over a stream, SSE re-encoding and the error event.
 */
import { Readable } from "node:stream"
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Latch from "effect/Latch"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import type { NodeReadableOptions, ToSseOptions } from "../Interop.js"
import * as Sse from "../Sse.js"

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

export const toNodeReadable = <A, E, R>(
  self: Stream.Stream<A, E, R>,
  options?: NodeReadableOptions
): Effect.Effect<Readable, never, R> =>
  Effect.map(Effect.context<R>(), (context): Readable => new StreamReadable(context, self, options))

const textEncoder = new TextEncoder()
const DONE = "data: [DONE]\n\n"

export const toSse = <A, E, R>(
  self: Stream.Stream<A, E, R>,
  options?: ToSseOptions<A>
): Stream.Stream<Uint8Array, E, R> => {
  const encode = options?.encode ?? JSON.stringify
  return Stream.mapArray(self, (chunk) => {
    let text = ""
    for (let i = 0; i < chunk.length; i++) text += Sse.encode(Sse.event({ data: encode(chunk[i]!) }))
    return [textEncoder.encode(text)] as const
  }).pipe(Stream.concat(Stream.sync(() => textEncoder.encode(DONE))))
}

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
