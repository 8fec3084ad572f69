/**
 * ResponseStream against @sluice/simulator over real HTTP on 127.0.0.1: a streamed Response through the client on
 * randomly sliced SSE (with and without sequence numbers), the gates settled, in-stream failures typed, a drop
 * before and after the first event, the first-token timeout, the abort when the consumer stops, and resuming a
 * background response after its last sequence number.
 */
import { describe, expect, it } from "@effect/vitest"
import { Credentials, Gates, OpenAi, OpenAiConfig, Responses } from "@sluice/core"
import * as Budget from "@sluice/core/Budget"
import { Simulator, type Stats } from "@sluice/simulator"
import { Clock, Effect, Layer, Stream } from "effect"
import { ResponseStream } from "../src/index.js"

const client = (baseUrl: string) =>
  OpenAi.layer.pipe(Layer.provide(OpenAiConfig.layer({ baseUrl })), Layer.provide(Credentials.staticKey("sk-test")))

const noRetry = { retry: { maxAttempts: 1 } } as const
const retry = (maxAttempts: number) => ({ retry: { maxAttempts, baseDelayMs: 1 } })

const request = (input: string, maxOutputTokens = 64, extra: Partial<Responses.Request> = {}): Responses.Request => ({
  model: "gpt-4.1-mini",
  input,
  max_output_tokens: maxOutputTokens,
  ...extra
})

/** Polls the simulator's stats (real time: the server sees the socket close asynchronously; the deadline only turns a hang into a failure). */
const waitForStats = (sim: Simulator.Running, ready: (stats: Stats.Stats) => boolean, withinMs = 10_000) =>
  Effect.gen(function* () {
    const start = yield* Clock.currentTimeMillis
    for (;;) {
      const stats = yield* sim.stats
      const now = yield* Clock.currentTimeMillis
      if (ready(stats) || now - start > withinMs) return stats
      yield* Effect.sleep("2 millis")
    }
  })

describe("ResponseStream.stream against the simulator", () => {
  it.live("streams a whole Response on sliced SSE: the same text and usage as create", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ stream: { lineEnding: "mixed", minSliceBytes: 1, maxSliceBytes: 7 } })
      const { events, whole } = yield* Effect.gen(function* () {
        const events = yield* Stream.runCollect(ResponseStream.stream(request("héllo wörld 🎉"), noRetry))
        const whole = yield* Effect.flatMap(OpenAi.OpenAi, (o) => o.responses.create(request("héllo wörld 🎉")))
        return { events, whole }
      }).pipe(Effect.provide(client(sim.url)))
      expect(events[0]?.type).toBe("response.created")
      expect(events.at(-1)?.type).toBe("response.completed")
      const sequence = events.map((e) => e.sequence_number)
      expect(sequence).toEqual(sequence.map((_, i) => i))
      const final = yield* ResponseStream.finalResponse(Stream.fromIterable(events))
      expect(Responses.outputText(final)).toBe(Responses.outputText(whole.body))
      expect(final.usage?.input_tokens).toBe(whole.body.usage?.input_tokens)
      expect((yield* sim.stats).streamsCompleted).toBe(1)
    })
  )

  it.live("llama.cpp style, without sequence_number and output_index", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ responses: { sequenceNumbers: false } })
      const text = yield* ResponseStream.stream(request("no numbers"), noRetry).pipe(
        ResponseStream.textDeltas,
        Stream.mkString,
        Effect.provide(client(sim.url))
      )
      expect(text.length).toBeGreaterThan(0)
    })
  )

  it.live("settles the gates with the terminal usage, reasoning tokens billed as output", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const gated = OpenAi.layer.pipe(
        Layer.provideMerge(Gates.layer().pipe(Layer.provideMerge(Budget.layer({ ceilingTokens: 1_000_000 })))),
        Layer.provide(OpenAiConfig.layer({ baseUrl: sim.url })),
        Layer.provide(Credentials.staticKey("sk-test"))
      )
      yield* Effect.gen(function* () {
        const budget = yield* Budget.Budget
        const final = yield* ResponseStream.finalResponse(
          ResponseStream.stream(request("think first", 400, { reasoning: { effort: "low" } }), noRetry)
        )
        const reasoning = final.usage?.output_tokens_details?.reasoning_tokens ?? 0
        expect(reasoning).toBeGreaterThan(0)
        const spent = yield* budget.spent("global")
        expect(spent.tokens).toBe(final.usage!.input_tokens + final.usage!.output_tokens)
        expect((yield* budget.remaining("global")).tokens).toBe(1_000_000 - spent.tokens)
      }).pipe(Effect.provide(gated))
    })
  )

  it.live("an error event with insufficient_quota → QuotaExceeded; response.failed → its error", () =>
    Effect.gen(function* () {
      const quota = yield* Simulator.start({
        script: [{ request: 1, fault: "streamError" }],
        faults: { streamErrorCode: "insufficient_quota" }
      })
      const error = yield* Effect.flip(Stream.runDrain(ResponseStream.stream(request("pay me"), retry(3)))).pipe(
        Effect.provide(client(quota.url))
      )
      expect(error._tag).toBe("QuotaExceeded")
      expect((error as { requestId?: string }).requestId).toMatch(/^req_/)
      const throttled = yield* Simulator.start({
        script: [{ request: 1, fault: "streamError" }],
        faults: { streamErrorCode: "rate_limit_exceeded" }
      })
      const limited = yield* Effect.flip(Stream.runDrain(ResponseStream.stream(request("slow down"), noRetry))).pipe(
        Effect.provide(client(throttled.url))
      )
      expect(limited._tag).toBe("RateLimited")
      const failing = yield* Simulator.start({ script: [{ request: 1, fault: "responseFailed" }] })
      const failed = yield* Effect.flip(Stream.runDrain(ResponseStream.stream(request("fail me"), noRetry))).pipe(
        Effect.provide(client(failing.url))
      )
      expect(failed._tag).toBe("ServerError")
    })
  )

  it.live("a drop after the first event is StreamTruncated with the text so far, not retried", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ script: [{ request: 1, fault: "streamDrop" }] })
      const seen: Array<string> = []
      const error = yield* ResponseStream.stream(request("drop me", 200), retry(3)).pipe(
        ResponseStream.textDeltas,
        Stream.runForEach((text) => Effect.sync(() => seen.push(text))),
        Effect.flip,
        Effect.provide(client(sim.url))
      )
      if (error._tag !== "StreamTruncated") return expect(error._tag).toBe("StreamTruncated")
      expect(error.partialContent).toBe(seen.join(""))
      expect((yield* sim.stats).requests).toBe(1)
    })
  )

  it.live("a slow first token is retried before anything reached the consumer", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({
        script: [{ request: 1, fault: "slowFirstToken" }],
        faults: { slowFirstTokenMs: 5000 }
      })
      const events = yield* Stream.runCollect(
        ResponseStream.stream(request("slow"), { ...retry(2), firstTokenTimeout: "500 millis" })
      ).pipe(Effect.provide(client(sim.url)))
      // one response.created, from the attempt that succeeded: the first attempt's was held back
      expect(events.filter((e) => e.type === "response.created")).toHaveLength(1)
      const stats = yield* waitForStats(sim, (s) => s.streamsAborted + s.streamsCompleted >= 2)
      expect(stats).toMatchObject({ streamsStarted: 2, streamsCompleted: 1, streamsAborted: 1 })
    })
  )

  it.live("a stall between events fails with Timeout idle; a server that never answers with Timeout first-token", () =>
    Effect.gen(function* () {
      const slow = yield* Simulator.start({ latency: { perChunkMs: 400 } })
      const idle = yield* Effect.flip(
        Stream.runDrain(ResponseStream.stream(request("stall", 200), { ...noRetry, idleTimeout: "100 millis" }))
      ).pipe(Effect.provide(client(slow.url)))
      expect(idle).toMatchObject({ _tag: "Timeout", phase: "idle", afterMs: 100 })
      const hang = yield* Simulator.start({ script: [{ request: 1, fault: "hang" }] })
      const first = yield* Effect.flip(
        Stream.runDrain(ResponseStream.stream(request("hang"), { ...noRetry, firstTokenTimeout: "300 millis" }))
      ).pipe(Effect.provide(client(hang.url)))
      expect(first).toMatchObject({ _tag: "Timeout", phase: "first-token", afterMs: 300 })
      const stats = yield* waitForStats(hang, (s) => s.clientAborts >= 1)
      expect(stats.clientAborts).toBe(1)
    })
  )

  it.live("a consumer that stops aborts the HTTP request", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ latency: { perChunkMs: 20 } })
      const taken = yield* Stream.runCollect(
        ResponseStream.stream(request("stop early", 500), noRetry).pipe(Stream.take(3))
      ).pipe(Effect.provide(client(sim.url)))
      expect(taken).toHaveLength(3)
      const stats = yield* waitForStats(sim, (s) => s.streamsAborted >= 1)
      expect(stats.streamsAborted).toBe(1)
      expect(stats.streamsCompleted).toBe(0)
    })
  )

  it.live("a background response's stream, dropped, resumes after its last sequence_number", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ script: [{ request: 1, fault: "streamDrop" }], latency: { perChunkMs: 5 } })
      yield* Effect.gen(function* () {
        const first: Array<ResponseStream.Event> = []
        const dropped = yield* ResponseStream.stream(
          request("a long background answer", 200, { background: true }),
          noRetry
        ).pipe(
          Stream.runForEach((event) => Effect.sync(() => first.push(event))),
          Effect.flip
        )
        expect(dropped._tag).toBe("StreamTruncated")
        const created = first[0] as ResponseStream.EventOf<"response.created">
        expect(created.type).toBe("response.created")
        const last = first.at(-1)!.sequence_number!
        const rest = yield* Stream.runCollect(
          ResponseStream.resume(created.response.id, { startingAfter: last, ...noRetry })
        )
        expect(rest[0]!.sequence_number).toBe(last + 1)
        expect(rest.at(-1)!.type).toBe("response.completed")
        const text = yield* Stream.mkString(ResponseStream.textDeltas(Stream.fromIterable([...first, ...rest])))
        const final = rest.at(-1) as ResponseStream.EventOf<"response.completed">
        expect(text).toBe(Responses.outputText(final.response))
      }).pipe(Effect.provide(client(sim.url)))
    })
  )
})
