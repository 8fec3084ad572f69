/**
 * ChatStream against @sluice/simulator over real HTTP on 127.0.0.1: the decoder on sliced SSE, and
 * `ChatStream.stream` on core's transport — truncation on a dropped connection, timeouts against the
 * simulator's latency and hang faults (small real timeouts; nothing asserts a duration tightly), retry before
 * the first chunk, and the abort of the HTTP request when the consumer stops.
 */
import { describe, expect, it } from "@effect/vitest"
import { type ChatCompletions, Credentials, Gates, OpenAi, OpenAiConfig } from "@sluice/core"
import * as Budget from "@sluice/core/Budget"
import * as Telemetry from "@sluice/core/Telemetry"
import { Simulator, type Stats } from "@sluice/simulator"
import { Clock, Effect, Layer, PubSub, Stream } from "effect"
import { ChatStream } from "../src/index.js"
import { fetchChat as fetchResponse } from "./support/fetchChat.js"

class BodyFailed {
  readonly _tag = "BodyFailed"
  constructor(readonly cause: unknown) {}
}

/** A streaming chat request with fetch; the body as a Stream of bytes. */
const fetchChat = (url: string, content: string) =>
  fetchResponse(url, content).pipe(
    Effect.map((response) =>
      Stream.fromReadableStream({ evaluate: () => response.body!, onError: (cause) => new BodyFailed(cause) })
    )
  )

// The client's own retry policy is not visible to ChatStream.stream (see docs/streaming.md): tests pass it per call.
const client = (baseUrl: string) =>
  OpenAi.layer.pipe(Layer.provide(OpenAiConfig.layer({ baseUrl })), Layer.provide(Credentials.staticKey("sk-test")))

const noRetry = { retry: { maxAttempts: 1 } } as const
const retry = (maxAttempts: number) => ({ retry: { maxAttempts, baseDelayMs: 1 } })

const request = (content: string, maxTokens = 64): ChatCompletions.Request => ({
  model: "gpt-4o-mini",
  messages: [{ role: "user", content }],
  max_completion_tokens: maxTokens
})

/**
 * Polls the simulator's stats (real time: the server observes the socket close asynchronously). The deadline only
 * turns a hang into a failed assertion; it is far above what a loaded machine needs, so nothing depends on it.
 */
const waitForStats = (sim: Simulator.Running, ready: (stats: Stats.Stats) => boolean, withinMs = 10_000) =>
  Effect.gen(function* () {
    const start = yield* Clock.currentTimeMillis
    for (;;) {
      const stats = yield* sim.stats
      const now = yield* Clock.currentTimeMillis
      if (ready(stats) || now - start > withinMs) return { stats, afterMs: now - start }
      yield* Effect.sleep("2 millis")
    }
  })

describe("ChatStream.fromBytes against the simulator", () => {
  it.effect("decodes randomly sliced, mixed line-ending SSE into a full completion with usage", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ stream: { lineEnding: "mixed", minSliceBytes: 1, maxSliceBytes: 7 } })
      for (const prompt of ["héllo wörld", "tell me a story 🎉", "third"]) {
        const body = yield* fetchChat(sim.url, prompt)
        const completion = yield* ChatStream.accumulate(ChatStream.fromBytes(body))
        expect(completion.id).toMatch(/^chatcmpl-/)
        expect(completion.choices[0]!.finish_reason).toBe("stop")
        expect(completion.choices[0]!.message.content!.length).toBeGreaterThan(0)
        expect(completion.usage?.total_tokens).toBeGreaterThan(0)
      }
    })
  )
})

describe("ChatStream.stream against the simulator", () => {
  it.live("streams a whole completion through the client, with usage, same as the non-streamed answer", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ stream: { minSliceBytes: 1, maxSliceBytes: 9 } })
      const { completion, whole } = yield* Effect.gen(function* () {
        const completion = yield* ChatStream.accumulate(ChatStream.stream(request("héllo 🎉"), noRetry))
        const whole = yield* Effect.flatMap(OpenAi.OpenAi, (o) => o.chat.completions.create(request("héllo 🎉")))
        return { completion, whole }
      }).pipe(Effect.provide(client(sim.url)))
      expect(completion.choices[0]!.message.content).toBe(whole.body.choices[0]!.message.content)
      expect(completion.usage).toMatchObject({ prompt_tokens: whole.body.usage!.prompt_tokens })
      const stats = yield* sim.stats
      expect(stats.streamsCompleted).toBe(1)
      expect(stats.streamsAborted).toBe(0)
    })
  )

  it.live("settles the gates: usage on completion, the estimate on early exit; nothing stays reserved", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ latency: { perChunkMs: 20 } })
      const gated = OpenAi.layer.pipe(
        Layer.provideMerge(Gates.layer().pipe(Layer.provideMerge(Budget.layer({ ceilingTokens: 1_000_000 })))),
        Layer.provide(OpenAiConfig.layer({ baseUrl: sim.url })),
        Layer.provide(Credentials.staticKey("sk-test"))
      )
      yield* Effect.gen(function* () {
        const budget = yield* Budget.Budget
        const whole = yield* ChatStream.accumulate(ChatStream.stream(request("settle me", 30), noRetry))
        const afterWhole = yield* budget.spent("global")
        expect(afterWhole.tokens).toBe(whole.usage!.prompt_tokens + whole.usage!.completion_tokens)
        yield* Stream.runDrain(ChatStream.stream(request("settle me early", 500), noRetry).pipe(Stream.take(3)))
        const afterEarly = yield* budget.spent("global")
        // charged the prompt estimate plus what streamed, far below the 500-token worst case that was reserved
        expect(afterEarly.tokens - afterWhole.tokens).toBeGreaterThan(0)
        expect(afterEarly.tokens - afterWhole.tokens).toBeLessThan(500)
        const remaining = yield* budget.remaining("global")
        expect(remaining.tokens).toBe(1_000_000 - afterEarly.tokens)
      }).pipe(Effect.provide(gated))
    })
  )

  it.live("reports time to first token, finish reason and usage to Telemetry when it is in use", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ latency: { firstTokenMs: 50 } })
      const observed = OpenAi.layer.pipe(
        Layer.provideMerge(Telemetry.layer({ logs: false }).pipe(Layer.provide(Gates.layer()))),
        Layer.provide(OpenAiConfig.layer({ baseUrl: sim.url })),
        Layer.provide(Credentials.staticKey("sk-test"))
      )
      const call = yield* Effect.gen(function* () {
        const events = yield* Effect.flatMap(Telemetry.Telemetry, (t) => t.subscribe)
        const completion = yield* ChatStream.accumulate(ChatStream.stream(request("observe me"), noRetry))
        for (;;) {
          const event = yield* PubSub.take(events)
          if (event._tag === "Call") return { event, completion }
        }
      }).pipe(Effect.provide(observed))
      expect(call.event).toMatchObject({
        stream: true,
        outcome: "ok",
        finishReason: "stop",
        responseModel: "gpt-4o-mini",
        completionTokens: call.completion.usage!.completion_tokens
      })
      expect(call.event.ttftMs).toBeGreaterThanOrEqual(40)
      expect(call.event.ttftMs!).toBeLessThanOrEqual(call.event.latencyMs)
    })
  )

  it.live("a dropped connection mid-stream is StreamTruncated with the partial content, never half an answer", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ script: [{ request: 1, fault: "streamDrop" }] })
      const seen: Array<string> = []
      const error = yield* ChatStream.stream(request("drop me", 200), retry(3)).pipe(
        ChatStream.textDeltas,
        Stream.runForEach((text) => Effect.sync(() => seen.push(text))),
        Effect.flip,
        Effect.provide(client(sim.url))
      )
      expect(error._tag).toBe("StreamTruncated")
      if (error._tag !== "StreamTruncated") return
      expect(error.partialContent).toBe(seen.join(""))
      expect(error.chunks).toBeGreaterThanOrEqual(1)
      expect(error.requestId).toMatch(/^req_/)
      // not retried: a chunk had already been delivered
      expect((yield* sim.stats).requests).toBe(1)
    })
  )

  it.live("a server that never answers fails with Timeout first-token and the request is aborted", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ script: [{ request: 1, fault: "hang" }] })
      const error = yield* Effect.flip(
        Stream.runDrain(ChatStream.stream(request("hang"), { ...noRetry, firstTokenTimeout: "300 millis" }))
      ).pipe(Effect.provide(client(sim.url)))
      expect(error).toMatchObject({ _tag: "Timeout", phase: "first-token", afterMs: 300 })
      const { stats } = yield* waitForStats(sim, (s) => s.clientAborts >= 1)
      expect(stats.clientAborts).toBe(1)
    })
  )

  it.live("a slow first token is retried: the slow stream is aborted, the second attempt succeeds", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({
        script: [{ request: 1, fault: "slowFirstToken" }],
        faults: { slowFirstTokenMs: 5000 }
      })
      const text = yield* ChatStream.stream(request("slow"), { ...retry(2), firstTokenTimeout: "500 millis" }).pipe(
        ChatStream.textDeltas,
        Stream.mkString,
        Effect.provide(client(sim.url))
      )
      expect(text.length).toBeGreaterThan(0)
      const { stats } = yield* waitForStats(sim, (s) => s.streamsAborted + s.streamsCompleted >= 2)
      expect(stats).toMatchObject({ streamsStarted: 2, streamsCompleted: 1, streamsAborted: 1 })
    })
  )

  it.live("a stream that stalls between chunks fails with Timeout idle after the chunks that came", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ latency: { perChunkMs: 5000 } })
      const seen: Array<string> = []
      const error = yield* ChatStream.stream(request("stall"), { ...noRetry, idleTimeout: "300 millis" }).pipe(
        Stream.runForEach((chunk) => Effect.sync(() => seen.push(chunk.choices[0]?.delta.role ?? "content"))),
        Effect.flip,
        Effect.provide(client(sim.url))
      )
      expect(error).toMatchObject({ _tag: "Timeout", phase: "idle", afterMs: 300 })
      expect(error._tag === "Timeout" && error.requestId).toMatch(/^req_/)
      expect(seen.length).toBeGreaterThanOrEqual(1)
      const { stats } = yield* waitForStats(sim, (s) => s.streamsAborted + s.streamsCompleted >= 1)
      expect(stats.streamsAborted).toBe(1)
    })
  )

  it.live("early exit (Stream.take(2)) aborts the HTTP request at once; the simulator sees the close", () =>
    Effect.gen(function* () {
      // The first two chunks (role, first content) come at once, then the stream stalls 5 s before each next
      // chunk: when the consumer stops, the socket read is blocked waiting for the next one; the abort must not
      // wait for it.
      const sim = yield* Simulator.start({ latency: { perChunkMs: 5_000 } })
      const delays: Array<number> = []
      yield* Effect.gen(function* () {
        for (let i = 1; i <= 5; i++) {
          const chunks = yield* Stream.runCollect(
            ChatStream.stream(request(`long story ${i}`, 500), noRetry).pipe(Stream.take(2))
          )
          const stoppedAt = Date.now()
          expect(chunks.length).toBe(2)
          // Until the stream ends either way: aborted (right) or completed (the close was never seen).
          const { stats } = yield* waitForStats(sim, (s) => s.streamsAborted + s.streamsCompleted >= i)
          expect(stats.streamsAborted).toBe(i)
          // The server's own timestamp of the close (same machine clock), so polling adds nothing.
          delays.push(stats.lastClientAbortAtMs - stoppedAt)
        }
      }).pipe(Effect.provide(client(sim.url)))
      const stats = yield* sim.stats
      expect(stats.streamsCompleted).toBe(0)
      expect(stats.inFlight).toBe(0)
      // From the consumer's stream ending to the server seeing the socket close. The issue asks for ≤ 100 ms; an
      // idle machine measures 2-30 ms (logged here). A loaded CI machine can pause this process (scheduling, a
      // major GC) past 100 ms now and then, so: the median of five stops must be within 100 ms, and every one well
      // under the 5 s a close that waited for the next chunk would take.
      yield* Effect.logInfo(`abort seen by the simulator ${delays.join(", ")} ms after the consumer stopped`)
      const sorted = [...delays].sort((a, b) => a - b)
      expect(sorted[2]).toBeLessThanOrEqual(100)
      expect(Math.max(...delays)).toBeLessThan(1_000)
    })
  )
})
