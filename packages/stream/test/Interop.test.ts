import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Stream } from "effect"
import { Errors } from "@sluice/core"
import { ChatStream, Interop, Sse } from "../src/index.js"

const chunk = (content: string) => ({
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  created: 1,
  model: "m",
  choices: [{ index: 0, delta: { content }, finish_reason: null }]
})

/** An endless counter that records how far it got and whether its finalizer ran. */
const probe = () => {
  const state = { produced: 0, finalized: false }
  const stream = Stream.fromEffectRepeat(Effect.sync(() => ++state.produced)).pipe(
    Stream.ensuring(Effect.sync(() => (state.finalized = true)))
  )
  return { state, stream }
}

const waitUntil = (condition: () => boolean) =>
  Effect.promise(async () => {
    for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5))
  })

describe("Interop.toReadableStream", () => {
  it.live("is pull-driven and cancel() interrupts the stream, running its finalizer", () =>
    Effect.gen(function* () {
      const { state, stream } = probe()
      const readable = Interop.toReadableStream(stream)
      const reader = readable.getReader()
      const first = yield* Effect.promise(() => reader.read())
      expect(first.value).toBe(1)
      yield* Effect.sleep("50 millis")
      // only what the queuing strategy asks for is produced
      expect(state.produced).toBeLessThan(10)
      yield* Effect.promise(() => reader.cancel())
      yield* waitUntil(() => state.finalized)
      expect(state.finalized).toBe(true)
    })
  )
})

describe("Interop.toNodeReadable", () => {
  it.live("applies backpressure and destroy() interrupts the stream, running its finalizer", () =>
    Effect.gen(function* () {
      const { state, stream } = probe()
      const readable = yield* Interop.toNodeReadable(stream, { objectMode: true, highWaterMark: 4 })
      yield* Effect.sleep("50 millis")
      expect(state.produced).toBe(0) // nothing runs before the first read
      const values: Array<number> = []
      yield* Effect.promise(async () => {
        for await (const value of readable) {
          values.push(value)
          if (values.length === 3) break // breaking out of for-await destroys the Readable
        }
      })
      expect(values).toEqual([1, 2, 3])
      yield* waitUntil(() => state.finalized)
      expect(state.finalized).toBe(true)
      expect(state.produced).toBeLessThan(20)
    })
  )

  it.live("a paused reader stops the producer near the high-water mark", () =>
    Effect.gen(function* () {
      const { state, stream } = probe()
      const readable = yield* Interop.toNodeReadable(stream, { objectMode: true, highWaterMark: 8 })
      readable.once("readable", () => {}) // start pulling, but never consume
      yield* Effect.sleep("50 millis")
      expect(state.produced).toBeGreaterThanOrEqual(8)
      expect(state.produced).toBeLessThanOrEqual(10)
      readable.destroy()
      yield* waitUntil(() => state.finalized)
      expect(state.finalized).toBe(true)
    })
  )

  it.live("a failing stream destroys the Readable with the typed error", () =>
    Effect.gen(function* () {
      const failing = Stream.make(new TextEncoder().encode("data: x\n\n")).pipe(
        ChatStream.fromBytes(),
        Stream.map((c) => JSON.stringify(c))
      )
      const readable = yield* Interop.toNodeReadable(failing)
      const error = yield* Effect.promise(
        () =>
          new Promise<unknown>((resolve) => {
            readable.on("error", resolve)
            readable.resume()
          })
      )
      expect(error).toMatchObject({ _tag: "ResponseDecodeFailed" })
    })
  )

  it.live("bytes mode works with strings and Uint8Arrays", () =>
    Effect.gen(function* () {
      const readable = yield* Interop.toNodeReadable(Stream.make("a", new TextEncoder().encode("b"), "c"))
      const text = yield* Effect.promise(async () => {
        let out = ""
        for await (const part of readable) out += part.toString()
        return out
      })
      expect(text).toBe("abc")
    })
  )
})

describe("Interop.toSse", () => {
  it.effect("re-encodes chunks as SSE ending with data: [DONE], which decodes back to the same chunks", () =>
    Effect.gen(function* () {
      const chunks = [chunk("héllo "), chunk("wörld\n🎉")]
      const bytes = Interop.toSse(Stream.fromIterable(chunks))
      const wire = yield* Stream.runCollect(bytes)
      const text = new TextDecoder().decode(Buffer.concat(wire))
      expect(text.endsWith("\n\ndata: [DONE]\n\n")).toBe(true)
      const decoded = yield* Stream.runCollect(ChatStream.fromBytes(Stream.fromIterable(wire)))
      expect(decoded).toEqual(chunks)
    })
  )

  it.effect("a failure can be relayed as an error event that fromSse decodes back into the same kind of error", () =>
    Effect.gen(function* () {
      const upstream = Stream.make(chunk("partial")).pipe(
        Stream.concat(Stream.fail(new Errors.ServerError({ message: "upstream died", type: "server_error" })))
      )
      const relayed = Interop.toSse(upstream).pipe(
        Stream.catch((error) => Stream.make(Sse.encodeBytes(Interop.errorEvent(error))))
      )
      const seen: Array<string> = []
      const error = yield* ChatStream.fromBytes(relayed).pipe(
        ChatStream.textDeltas,
        Stream.runForEach((s) => Effect.sync(() => seen.push(s))),
        Effect.flip
      )
      expect(seen).toEqual(["partial"])
      expect(error).toMatchObject({ _tag: "ServerError", message: "upstream died", type: "server_error" })
    })
  )

  it.effect("relaying stops reading upstream when the consumer stops", () =>
    Effect.gen(function* () {
      const finalized = yield* Deferred.make<void>()
      const upstream = Stream.succeed(chunk("x")).pipe(
        Stream.forever,
        Stream.ensuring(Deferred.succeed(finalized, undefined))
      )
      yield* Interop.toSse(upstream).pipe(Stream.take(3), Stream.runDrain)
      yield* Deferred.await(finalized)
    })
  )
})
