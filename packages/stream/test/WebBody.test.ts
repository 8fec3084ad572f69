/**
 * Web bodies (`ReadableStream<Uint8Array>`) into the decoders: `ChatStream.fromReadableStream`,
 * `Sse.fromReadableStream`, and core's `WebBody.fromReadableStream` under them (also the fetch transport's body
 * reader). Real `ReadableStream`s with counted pulls (highWaterMark 0: the source is pulled only for a pending
 * read, so the count is the adapter's reads), and real fetches to the simulator on 127.0.0.1.
 */
import { describe, expect, it } from "@effect/vitest"
import { Credentials, Errors, OpenAi, OpenAiConfig, Transport } from "@sluice/core"
import * as WebBody from "@sluice/core/WebBody"
import { Simulator, type Stats } from "@sluice/simulator"
import { Cause, Clock, Effect, Exit, Fiber, Layer, Stream } from "effect"
import { ChatStream, Sse } from "../src/index.js"
import { fetchChat } from "./support/fetchChat.js"

const encoder = new TextEncoder()
const wire = (fields: { readonly data: string }) => Sse.encode(Sse.event(fields))

const contentEvent = (text: string) =>
  wire({
    data: JSON.stringify({
      id: "chatcmpl-1",
      object: "chat.completion.chunk",
      created: 1,
      model: "gpt-4o-mini",
      choices: [{ index: 0, delta: { content: text }, finish_reason: null }]
    })
  })

/** An endless body of content events, one per pull, counting pulls and recording a cancel. */
const endlessBody = () => {
  const seen = { pulls: 0, cancelled: false as boolean, reason: undefined as unknown }
  const body = new ReadableStream<Uint8Array>(
    {
      pull: (controller) => {
        seen.pulls++
        controller.enqueue(encoder.encode(contentEvent(`t${seen.pulls} `)))
      },
      cancel: (reason) => {
        seen.cancelled = true
        seen.reason = reason
      }
    },
    { highWaterMark: 0 }
  )
  return { body, seen }
}

/** A body that sends `events`, then errors with `error`. */
const failingBody = (events: ReadonlyArray<string>, error: Error) => {
  let i = 0
  return new ReadableStream<Uint8Array>(
    {
      pull: (controller) => {
        if (i < events.length) controller.enqueue(encoder.encode(events[i++]!))
        else controller.error(error)
      }
    },
    { highWaterMark: 0 }
  )
}

describe("fromReadableStream on a real ReadableStream", () => {
  it.effect("an early Stream.take cancels the body after exactly the reads it needed (no read ahead)", () =>
    Effect.gen(function* () {
      const { body, seen } = endlessBody()
      const chunks = yield* Stream.runCollect(ChatStream.fromReadableStream(body).pipe(Stream.take(3)))
      expect(chunks.map((c) => c.choices[0]!.delta.content)).toEqual(["t1 ", "t2 ", "t3 "])
      expect(seen.pulls).toBe(3)
      expect(seen.cancelled).toBe(true)
      expect(body.locked).toBe(false)
    })
  )

  it.effect("reads only on demand: each element arrives after exactly one more read", () =>
    Effect.gen(function* () {
      const { body, seen } = endlessBody()
      const pullsAt: Array<number> = []
      yield* WebBody.fromReadableStream(body, (cause) => cause).pipe(
        Stream.take(5),
        Stream.runForEach(() => Effect.sync(() => pullsAt.push(seen.pulls)))
      )
      expect(pullsAt).toEqual([1, 2, 3, 4, 5])
      expect(seen.cancelled).toBe(true)
    })
  )

  it.effect(
    "a chunk split over reads: a pull reads only until it has one (events in 3 reads each, take 2 = 6 reads)",
    () =>
      Effect.gen(function* () {
        let pulls = 0
        let cancelled = false
        const body = new ReadableStream<Uint8Array>(
          {
            pull: (controller) => {
              const event = encoder.encode(contentEvent(`e${Math.floor(pulls / 3)}`))
              const third = Math.ceil(event.length / 3)
              controller.enqueue(event.subarray((pulls % 3) * third, (pulls % 3) * third + third))
              pulls++
            },
            cancel: () => {
              cancelled = true
            }
          },
          { highWaterMark: 0 }
        )
        const pullsAt: Array<number> = []
        const chunks = yield* ChatStream.fromReadableStream(body).pipe(
          Stream.take(2),
          Stream.tap(() => Effect.sync(() => pullsAt.push(pulls))),
          Stream.runCollect
        )
        expect(chunks.map((c) => c.choices[0]!.delta.content)).toEqual(["e0", "e1"])
        expect(pullsAt).toEqual([3, 6])
        expect(cancelled).toBe(true)
      })
  )

  it.effect("interrupting a stream waiting on a read cancels the body", () =>
    Effect.gen(function* () {
      const seen = { pulls: 0, cancelled: false }
      const body = new ReadableStream<Uint8Array>(
        {
          pull: () => {
            seen.pulls++
            return new Promise<void>(() => {}) // a read that never completes
          },
          cancel: () => {
            seen.cancelled = true
          }
        },
        { highWaterMark: 0 }
      )
      const fiber = yield* Effect.forkChild(Stream.runDrain(Sse.fromReadableStream(body)))
      while (seen.pulls === 0) yield* Effect.yieldNow
      yield* Fiber.interrupt(fiber)
      expect(seen.cancelled).toBe(true)
      expect(body.locked).toBe(false)
    })
  )

  it.effect("decodes what fromBytes decodes; a body read to its end is released, not cancelled", () =>
    Effect.gen(function* () {
      const text = [contentEvent("Hel"), contentEvent("lo"), wire({ data: "[DONE]" })].join("")
      const bytes = encoder.encode(text)
      const sevenByteReads = () => {
        const seen = { cancelled: false }
        let at = 0
        const body = new ReadableStream<Uint8Array>({
          pull: (controller) => {
            // 7-byte reads: events and lines split across reads
            if (at >= bytes.length) return controller.close()
            controller.enqueue(bytes.subarray(at, at + 7))
            at += 7
          },
          cancel: () => {
            seen.cancelled = true
          }
        })
        return { body, seen }
      }
      const chat = sevenByteReads()
      const viaBody = yield* Stream.runCollect(ChatStream.fromReadableStream(chat.body))
      const viaBytes = yield* Stream.runCollect(ChatStream.fromBytes(Stream.make(bytes)))
      expect(viaBody).toEqual(viaBytes)
      expect(viaBody.map((c) => c.choices[0]!.delta.content)).toEqual(["Hel", "lo"])
      // ChatStream stops at [DONE] without reading further: the rest of the body is cancelled.
      expect(chat.seen.cancelled).toBe(true)

      const sse = sevenByteReads()
      const events = yield* Stream.runCollect(Sse.fromReadableStream(sse.body))
      expect(events.map((e) => e.data).at(-1)).toBe("[DONE]")
      expect(events.length).toBe(3)
      expect(sse.seen.cancelled).toBe(false)
      expect(sse.body.locked).toBe(false)
    })
  )

  it.effect("a failed read is ConnectionFailed naming the cause and the url, after the events before it", () =>
    Effect.gen(function* () {
      const got: Array<string> = []
      const error = yield* ChatStream.fromReadableStream(
        failingBody([contentEvent("a"), contentEvent("b")], new Error("socket hang up")),
        { url: "http://127.0.0.1:1/v1/chat/completions" }
      ).pipe(
        Stream.runForEach((c) => Effect.sync(() => got.push(c.choices[0]!.delta.content!))),
        Effect.flip
      )
      expect(got).toEqual(["a", "b"])
      expect(error).toBeInstanceOf(Errors.ConnectionFailed)
      expect(error._tag).toBe("ConnectionFailed")
      expect(error.message).toContain("socket hang up")
      expect((error as Errors.ConnectionFailed).url).toBe("http://127.0.0.1:1/v1/chat/completions")

      const sseError = yield* Stream.runDrain(
        Sse.fromReadableStream(failingBody([], new Error("reset")), { maxEventBytes: 1024 })
      ).pipe(Effect.flip)
      expect(sseError._tag).toBe("ConnectionFailed")
      expect(sseError.message).toContain("reset")
    })
  )

  it.effect("a decoder that throws is a defect of the stream (not a hang), and the body is cancelled", () =>
    Effect.gen(function* () {
      const { body, seen } = endlessBody()
      const decoder = (): WebBody.Decoder<string, never> => ({
        input: () => {
          throw new Error("decoder bug")
        },
        end: () => ({ _tag: "Done" })
      })
      const exit = yield* Stream.runDrain(WebBody.decode(body, decoder, (cause) => cause)).pipe(Effect.exit)
      expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(true)
      expect(seen.cancelled).toBe(true)
    })
  )

  it.effect("the decoders' own errors stay typed (an oversized event is the SSE decoder's error)", () =>
    Effect.gen(function* () {
      const body = failingBody([wire({ data: "x".repeat(100) })], new Error("never reached"))
      const error = yield* Stream.runDrain(Sse.fromReadableStream(body, { maxEventBytes: 10 })).pipe(Effect.flip)
      expect(error._tag).toBe("SseDecodeError")
    })
  )
})

/** Polls the simulator's stats until `ready` (real time; the deadline only turns a hang into a failure). */
const waitForStats = (sim: Simulator.Running, ready: (stats: Stats.Stats) => boolean) =>
  Effect.gen(function* () {
    const start = yield* Clock.currentTimeMillis
    for (;;) {
      const stats = yield* sim.stats
      if (ready(stats) || (yield* Clock.currentTimeMillis) - start > 10_000) return stats
      yield* Effect.sleep("2 millis")
    }
  })

describe("fromReadableStream on a real fetch to the simulator", () => {
  it.live("decodes a whole sliced completion with usage", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ stream: { lineEnding: "mixed", minSliceBytes: 1, maxSliceBytes: 7 } })
      const response = yield* fetchChat(sim.url, "tell me a story 🎉")
      const completion = yield* ChatStream.accumulate(ChatStream.fromReadableStream(response.body!))
      expect(completion.choices[0]!.finish_reason).toBe("stop")
      expect(completion.choices[0]!.message.content!.length).toBeGreaterThan(0)
      expect(completion.usage?.total_tokens).toBeGreaterThan(0)
    })
  )

  it.live("an early Stream.take cancels the fetch body: the simulator sees the connection close", () =>
    Effect.gen(function* () {
      // Two chunks at once, then 5 s before each next one: only a cancel ends the stream early.
      const sim = yield* Simulator.start({ latency: { perChunkMs: 5_000 } })
      const response = yield* fetchChat(sim.url, "a long story")
      const chunks = yield* Stream.runCollect(ChatStream.fromReadableStream(response.body!).pipe(Stream.take(2)))
      expect(chunks.length).toBe(2)
      const stats = yield* waitForStats(sim, (s) => s.streamsAborted + s.streamsCompleted >= 1)
      expect(stats.streamsAborted).toBe(1)
      expect(stats.streamsCompleted).toBe(0)
    })
  )

  it.live("the fetch transport's stream: an early Stream.take aborts the request", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ latency: { perChunkMs: 5_000 } })
      const client = OpenAi.layer.pipe(
        Layer.provide(Transport.layerFetch()),
        Layer.provide(OpenAiConfig.layer({ baseUrl: sim.url })),
        Layer.provide(Credentials.staticKey("sk-test"))
      )
      const chunks = yield* Stream.runCollect(
        ChatStream.stream(
          { model: "gpt-4o-mini", messages: [{ role: "user", content: "a long story" }], max_completion_tokens: 500 },
          { retry: { maxAttempts: 1 } }
        ).pipe(Stream.take(2))
      ).pipe(Effect.provide(client))
      expect(chunks.length).toBe(2)
      const stats = yield* waitForStats(sim, (s) => s.streamsAborted + s.streamsCompleted >= 1)
      expect(stats.streamsAborted).toBe(1)
      expect(stats.inFlight).toBe(0)
    })
  )
})
