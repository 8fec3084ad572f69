import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Effect, Stream } from "effect"
import { Responses } from "@sluice/core"
import { ResponseStream, Sse } from "../src/index.js"
import * as fc from "./support/arbitraries.js"

const encoder = new TextEncoder()

const response = (status: string, extra: Record<string, unknown> = {}) => ({
  id: "resp_1",
  object: "response",
  status,
  model: "gpt-4.1",
  output: [],
  ...extra
})
const message = (text: string) => ({
  type: "message",
  id: "msg_1",
  role: "assistant",
  status: "completed",
  content: [{ type: "output_text", text, annotations: [] }]
})
const usage = { input_tokens: 5, output_tokens: 3, output_tokens_details: { reasoning_tokens: 1 } }

/** An OpenAI-style stream: named events, sequence numbers and output indexes. */
const openAiEvents = (text: ReadonlyArray<string>) => {
  const full = text.join("")
  const events: Array<Record<string, unknown>> = [
    { type: "response.created", response: response("in_progress") },
    { type: "response.in_progress", response: response("in_progress") },
    {
      type: "response.output_item.added",
      output_index: 0,
      item: { ...message(""), content: [], status: "in_progress" }
    },
    {
      type: "response.content_part.added",
      item_id: "msg_1",
      output_index: 0,
      content_index: 0,
      part: { type: "output_text", text: "" }
    },
    ...text.map((delta) => ({
      type: "response.output_text.delta",
      item_id: "msg_1",
      output_index: 0,
      content_index: 0,
      delta
    })),
    { type: "response.output_text.done", item_id: "msg_1", output_index: 0, content_index: 0, text: full },
    { type: "response.output_item.done", output_index: 0, item: message(full) },
    { type: "response.completed", response: response("completed", { output: [message(full)], usage }) }
  ]
  return events.map((event, sequence_number): Record<string, unknown> => ({ ...event, sequence_number }))
}
const sse = (events: ReadonlyArray<Record<string, unknown>>, named = true) =>
  events.map((event) => Sse.event({ ...(named ? { event: String(event.type) } : {}), data: JSON.stringify(event) }))

const decode = (events: ReadonlyArray<Sse.Event>) => ResponseStream.fromSse(Stream.fromIterable(events))

describe("ResponseStream.fromSse", () => {
  it.effect("decodes the semantic events, ends at response.completed without reading further", () =>
    Effect.gen(function* () {
      const events = Stream.fromIterable(sse(openAiEvents(["Hel", "lo"]))).pipe(
        Stream.concat(Stream.fail("read past the end" as const))
      )
      const decoded = yield* Stream.runCollect(ResponseStream.fromSse(events))
      expect(decoded.map((e) => e.type)).toEqual([
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.output_item.done",
        "response.completed"
      ])
      expect(decoded[4]!.sequence_number).toBe(4)
      const completed = decoded.at(-1) as ResponseStream.EventOf<"response.completed">
      expect(completed.response.usage?.output_tokens_details?.reasoning_tokens).toBe(1)
    })
  )

  it.effect("text deltas and the final Response", () =>
    Effect.gen(function* () {
      const stream = decode(sse(openAiEvents(["Hel", "lo", "", "!"])))
      expect(yield* Stream.runCollect(ResponseStream.textDeltas(stream))).toEqual(["Hel", "lo", "!"])
      const final = yield* ResponseStream.finalResponse(stream)
      expect(final.status).toBe("completed")
      expect(final.usage?.input_tokens).toBe(5)
      expect(Responses.outputText(final)).toBe("Hello!")
    })
  )

  it.effect("llama.cpp style: no sequence_number, output_index or item_id, unnamed events, an empty final output", () =>
    Effect.gen(function* () {
      const bare = openAiEvents(["A", "B"]).map(
        ({ sequence_number: _s, output_index: _o, item_id: _i, content_index: _c, ...rest }) => rest
      )
      const last = bare.length - 1
      bare[last] = { type: "response.completed", response: { status: "completed", output: [] } }
      const stream = decode(sse(bare, false))
      const events = yield* Stream.runCollect(stream)
      expect(events.every((e) => e.sequence_number === undefined)).toBe(true)
      const final = yield* ResponseStream.finalResponse(stream)
      // the terminal Response had no output: the streamed item fills it
      expect(Responses.outputText(final)).toBe("AB")
    })
  )

  it.effect("unknown event types and unknown fields pass through", () =>
    Effect.gen(function* () {
      const [first, second] = openAiEvents(["x"])
      const events = yield* Stream.runCollect(
        decode(
          sse([
            { ...first!, extra: 1 },
            { type: "response.web_search_call.searching", sequence_number: 1, item_id: "ws_1" },
            second!,
            { type: "response.completed", response: response("completed") }
          ])
        )
      )
      const unknown = events.find((e) => e.type === "unknown")
      expect(unknown).toMatchObject({
        name: "response.web_search_call.searching",
        sequence_number: 1,
        data: { item_id: "ws_1" }
      })
      expect((events[0] as unknown as { extra: number }).extra).toBe(1)
    })
  )

  it.effect("function call arguments and reasoning summaries", () =>
    Effect.gen(function* () {
      const call = { type: "function_call", id: "fc_1", call_id: "call_1", name: "get_weather", arguments: "" }
      const events = yield* Stream.runCollect(
        decode(
          sse([
            {
              type: "response.output_item.added",
              output_index: 0,
              item: { type: "reasoning", id: "rs_1", summary: [] }
            },
            { type: "response.reasoning_summary_text.delta", item_id: "rs_1", summary_index: 0, delta: "Think" },
            { type: "response.reasoning_summary_text.done", item_id: "rs_1", summary_index: 0, text: "Think" },
            { type: "response.output_item.added", output_index: 1, item: call },
            { type: "response.function_call_arguments.delta", item_id: "fc_1", output_index: 1, delta: '{"city":' },
            { type: "response.function_call_arguments.delta", item_id: "fc_1", output_index: 1, delta: '"Oslo"}' },
            {
              type: "response.function_call_arguments.done",
              item_id: "fc_1",
              output_index: 1,
              arguments: '{"city":"Oslo"}'
            },
            { type: "response.output_item.done", output_index: 1, item: { ...call, arguments: '{"city":"Oslo"}' } },
            { type: "response.completed", response: response("completed") }
          ])
        )
      )
      const args = events.filter((e) => e.type === "response.function_call_arguments.delta") as Array<
        ResponseStream.EventOf<"response.function_call_arguments.delta">
      >
      expect(args.map((e) => e.delta).join("")).toBe('{"city":"Oslo"}')
      const summary = events.find(
        (e) => e.type === "response.reasoning_summary_text.done"
      ) as ResponseStream.EventOf<"response.reasoning_summary_text.done">
      expect(summary.text).toBe("Think")
    })
  )

  it.effect("response.incomplete ends the stream normally with the reason on the Response", () =>
    Effect.gen(function* () {
      const final = yield* ResponseStream.finalResponse(
        decode(
          sse([
            { type: "response.output_text.delta", delta: "partial" },
            {
              type: "response.incomplete",
              response: response("incomplete", { incomplete_details: { reason: "max_output_tokens" } })
            }
          ])
        )
      )
      expect(final.status).toBe("incomplete")
      expect(final.incomplete_details?.reason).toBe("max_output_tokens")
    })
  )

  it.effect("response.failed is delivered, then fails with the error its code names", () =>
    Effect.gen(function* () {
      const failed = (code: string) =>
        decode(
          sse([
            {
              type: "response.failed",
              response: response("failed", { error: { code, message: `it failed: ${code}` } })
            }
          ])
        )
      const delivered: Array<string> = []
      const quota = yield* Effect.flip(
        Stream.runForEach(failed("insufficient_quota"), (e) => Effect.sync(() => delivered.push(e.type)))
      )
      expect(delivered).toEqual(["response.failed"])
      expect(quota._tag).toBe("QuotaExceeded")
      expect(quota.message).toBe("it failed: insufficient_quota")
      expect((yield* Effect.flip(Stream.runDrain(failed("rate_limit_exceeded"))))._tag).toBe("RateLimited")
      expect((yield* Effect.flip(Stream.runDrain(failed("server_error"))))._tag).toBe("ServerError")
    })
  )

  it.effect("an error event fails with its typed error, after the events before it", () =>
    Effect.gen(function* () {
      const [first] = openAiEvents(["x"])
      const stream = ResponseStream.fromSse(
        Stream.fromIterable([
          ...sse([first!]),
          Sse.event({
            event: "error",
            data: JSON.stringify({
              type: "error",
              code: "rate_limit_exceeded",
              message: "slow down",
              sequence_number: 1
            })
          })
        ]),
        { requestId: "req_9" }
      )
      const seen: Array<string> = []
      const error = yield* Effect.flip(Stream.runForEach(stream, (e) => Effect.sync(() => seen.push(e.type))))
      expect(seen).toEqual(["response.created"])
      expect(error._tag).toBe("RateLimited")
      expect((error as { requestId?: string }).requestId).toBe("req_9")
      const quota = yield* Effect.flip(
        Stream.runDrain(
          decode([Sse.event({ data: JSON.stringify({ type: "error", code: "insufficient_quota", message: "pay" }) })])
        )
      )
      expect(quota._tag).toBe("QuotaExceeded")
    })
  )

  it.effect("a stream that ends without completed/incomplete/failed fails with StreamTruncated", () =>
    Effect.gen(function* () {
      const events = openAiEvents(["Hel", "lo"]).slice(0, 6)
      const error = yield* Effect.flip(Stream.runDrain(decode(sse(events))))
      expect(error._tag).toBe("StreamTruncated")
      expect(error).toMatchObject({ chunks: 6, partialContent: "Hello" })
      // [DONE] is not an end either
      const done = yield* Effect.flip(Stream.runDrain(decode([...sse(events), Sse.event({ data: "[DONE]" })])))
      expect(done._tag).toBe("StreamTruncated")
    })
  )

  it.effect("an event that is not JSON or not of its type's shape → ResponseDecodeFailed", () =>
    Effect.gen(function* () {
      const bad = yield* Effect.flip(Stream.runDrain(decode([Sse.event({ data: "{nope" })])))
      expect(bad._tag).toBe("ResponseDecodeFailed")
      const shape = yield* Effect.flip(Stream.runDrain(decode(sse([{ type: "response.output_text.delta", delta: 3 }]))))
      expect(shape._tag).toBe("ResponseDecodeFailed")
      expect(shape.message).toContain("delta")
    })
  )

  const splits = Arbitrary.array(fc.nat, { maxLength: 12 })
  it.prop("any re-chunking of the bytes gives the same events", { splits }, ({ splits }) =>
    Effect.gen(function* () {
      const bytes = encoder.encode(
        sse(openAiEvents(["Grüße ", "🎉", " fin"]))
          .map(Sse.encode)
          .join("")
      )
      const cuts = [...new Set(splits.map((n) => n % bytes.length))].sort((a, b) => a - b)
      const pieces: Array<Uint8Array> = []
      let start = 0
      for (const cut of [...cuts, bytes.length]) {
        pieces.push(bytes.slice(start, cut))
        start = cut
      }
      const whole = yield* ResponseStream.finalResponse(ResponseStream.fromBytes(Stream.make(bytes)))
      const split = yield* ResponseStream.finalResponse(ResponseStream.fromBytes(Stream.fromIterable(pieces)))
      expect(split).toEqual(whole)
      expect(
        yield* Stream.runCollect(ResponseStream.textDeltas(ResponseStream.fromBytes(Stream.fromIterable(pieces))))
      ).toEqual(["Grüße ", "🎉", " fin"])
    })
  )
})
