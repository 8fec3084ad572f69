import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Effect, Stream } from "effect"
import { ChatStream, Sse } from "../src/index.js"
import * as fc from "./support/arbitraries.js"

const encoder = new TextEncoder()

const chunk = (choices: ReadonlyArray<Record<string, unknown>>, extra: Record<string, unknown> = {}) => ({
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  created: 1,
  model: "gpt-4o-mini",
  choices,
  ...extra
})
const content = (text: string, index = 0) => chunk([{ index, delta: { content: text }, finish_reason: null }])
const data = (value: unknown) => Sse.event({ data: typeof value === "string" ? value : JSON.stringify(value) })
const done = data("[DONE]")

const collect = <A, E>(stream: Stream.Stream<A, E>) => Stream.runCollect(stream)

describe("ChatStream.fromSse", () => {
  it.effect("decodes chunks and stops at [DONE] without reading further", () =>
    Effect.gen(function* () {
      const events = Stream.make(data(content("Hel")), data(content("lo")), done).pipe(
        Stream.concat(Stream.fail("read past [DONE]" as const))
      )
      const chunks = yield* collect(ChatStream.fromSse(events))
      expect(chunks.map((c) => c.choices[0]!.delta.content)).toEqual(["Hel", "lo"])
      expect(chunks[0]!.model).toBe("gpt-4o-mini")
    })
  )

  it.effect("keeps unknown fields on the decoded chunk, tolerates omitted optional ones", () =>
    Effect.gen(function* () {
      const [first, second] = yield* collect(
        ChatStream.fromSse(
          Stream.make(data(content("x", 0)), data({ choices: [{ delta: {} }], obfuscation: "abc" }), done)
        )
      )
      expect(first!.choices[0]!.finish_reason).toBeNull()
      expect((second as unknown as { obfuscation: string }).obfuscation).toBe("abc")
      expect(second!.choices[0]!.index).toBe(0)
    })
  )

  it.effect("a stream that ends without [DONE] fails with StreamTruncated carrying what arrived", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Stream.runDrain(
          ChatStream.fromSse(Stream.make(data(content("Hel")), data(content("lo", 1)), data(content("lo"))))
        )
      )
      expect(error._tag).toBe("StreamTruncated")
      expect(error).toMatchObject({ chunks: 3, partialContent: "Hello" })
    })
  )

  it.effect("event: error fails with the OpenAiError its code names, carrying message, code and type", () =>
    Effect.gen(function* () {
      const payload = { error: { message: "overloaded", type: "server_error", code: "overloaded_error" } }
      const events = Stream.make(data(content("a")), Sse.event({ event: "error", data: JSON.stringify(payload) }))
      const error = yield* Effect.flip(Stream.runDrain(ChatStream.fromSse(events, { requestId: "req_1" })))
      expect(error).toMatchObject({
        _tag: "ServerError",
        message: "overloaded",
        type: "server_error",
        code: "overloaded_error",
        requestId: "req_1"
      })
      expect(error.retryable).toBe(true)
    })
  )

  it.effect("a chunk with an error object with an unknown code fails with ServerError and the message", () =>
    Effect.gen(function* () {
      const events = Stream.make(data({ error: { message: "boom", code: 500 } }), done)
      const error = yield* Effect.flip(Stream.runDrain(ChatStream.fromSse(events)))
      expect(error).toMatchObject({ _tag: "ServerError", message: "boom", code: "500" })
    })
  )

  it.effect("in-stream errors map by code, then type, to the matching OpenAiError", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [Record<string, unknown>, string]> = [
        [{ message: "slow down", type: "requests", code: "rate_limit_exceeded" }, "RateLimited"],
        [{ message: "pay up", type: "insufficient_quota", code: "insufficient_quota" }, "QuotaExceeded"],
        [{ message: "bad key", type: "invalid_request_error", code: "invalid_api_key" }, "AuthenticationFailed"],
        [{ message: "too long", type: "invalid_request_error", code: "context_length_exceeded" }, "BadRequest"],
        [{ message: "gone", type: "invalid_request_error", code: "model_not_found" }, "NotFound"],
        [{ message: "oops", type: "server_error", code: null }, "ServerError"],
        [{ message: "relayed", type: "RateLimited", code: null }, "RateLimited"],
        [{ message: "who knows", type: "weird_error" }, "ServerError"]
      ]
      for (const [body, tag] of cases) {
        const events = Stream.make(
          data(content("a")),
          Sse.event({ event: "error", data: JSON.stringify({ error: body }) })
        )
        const error = yield* Effect.flip(Stream.runDrain(ChatStream.fromSse(events)))
        expect(error._tag).toBe(tag)
        expect(error.message).toBe(body.message)
      }
      // not even JSON: a ServerError holding the raw data
      const raw = yield* Effect.flip(
        Stream.runDrain(ChatStream.fromSse(Stream.make(Sse.event({ event: "error", data: "upstream exploded" }))))
      )
      expect(raw).toMatchObject({ _tag: "ServerError", message: "upstream exploded" })
    })
  )

  it.effect("an SSE decoding failure is a ResponseDecodeFailed", () =>
    Effect.gen(function* () {
      const bytes = Stream.make(encoder.encode(`data: ${"x".repeat(100)}\n\n`))
      const error = yield* Effect.flip(
        Stream.runDrain(ChatStream.fromBytes(bytes, { maxEventBytes: 10, requestId: "req_9" }))
      )
      expect(error).toMatchObject({ _tag: "ResponseDecodeFailed", requestId: "req_9" })
      expect(error.message).toContain("not valid SSE")
    })
  )

  it.effect("invalid JSON fails with ResponseDecodeFailed naming the event and holding the raw data (truncated)", () =>
    Effect.gen(function* () {
      const raw = "{not json" + "x".repeat(2000)
      const error = yield* Effect.flip(
        Stream.runDrain(ChatStream.fromSse(Stream.make(data(content("a")), data(raw), done)))
      )
      expect(error).toMatchObject({ _tag: "ResponseDecodeFailed", body: raw.slice(0, 500) })
      expect(error.message).toContain("stream event 1")
    })
  )

  it.effect("a JSON value that is not a chunk fails with ResponseDecodeFailed", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Stream.runDrain(ChatStream.fromSse(Stream.make(data({ choices: "nope" }), done)))
      )
      expect(error._tag).toBe("ResponseDecodeFailed")
      expect(error.message).toContain("stream event 0: not a chat completion chunk")
    })
  )

  it.effect("chunks before a failure are delivered; named non-error events and empty data are skipped", () =>
    Effect.gen(function* () {
      const seen: Array<string> = []
      const events = Stream.make(data(content("a")), Sse.event({ event: "ping", data: "{}" }), data(" "), data("{bad"))
      const result = yield* ChatStream.fromSse(events).pipe(
        ChatStream.textDeltas,
        Stream.runForEach((s) => Effect.sync(() => seen.push(s))),
        Effect.flip
      )
      expect(seen).toEqual(["a"])
      expect(result.message).toContain("stream event 3")
    })
  )

  it.effect("fromBytes decodes a byte stream split anywhere", () =>
    Effect.gen(function* () {
      const wire = encoder.encode(
        [content("héllo "), content("wörld 🎉")].map((c) => `data: ${JSON.stringify(c)}\r\n\r\n`).join("") +
          "data: [DONE]\r\n\r\n"
      )
      const bytes = Stream.fromIterable(Array.from(wire, (b) => new Uint8Array([b])))
      const text = yield* collect(bytes.pipe(ChatStream.fromBytes(), ChatStream.textDeltas))
      expect(text.join("")).toBe("héllo wörld 🎉")
    })
  )
})

describe("ChatStream.accumulate", () => {
  it.effect("merges content, tool calls by index, refusal, usage, finish reasons", () =>
    Effect.gen(function* () {
      const chunks = [
        chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]),
        chunk([
          {
            index: 0,
            delta: {
              tool_calls: [
                { index: 0, id: "call_a", type: "function", function: { name: "get_", arguments: "" } },
                { index: 1, id: "call_b", type: "function", function: { name: "lookup", arguments: '{"q' } }
              ]
            },
            finish_reason: null
          },
          { index: 1, delta: { content: "Second " }, finish_reason: null }
        ]),
        chunk([
          { index: 0, delta: { tool_calls: [{ index: 0, function: { name: "weather", arguments: '{"city":' } }] } },
          { index: 1, delta: { refusal: "I can't" }, finish_reason: null }
        ]),
        chunk([
          { index: 0, delta: { tool_calls: [{ index: 1, function: { arguments: '":1}' } }] } },
          { index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] } }
        ]),
        chunk([
          { index: 0, delta: {}, finish_reason: "tool_calls" },
          { index: 1, delta: { content: "choice" }, finish_reason: "stop" }
        ]),
        chunk([], { usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 } })
      ]
      const completion = yield* ChatStream.accumulate(
        ChatStream.fromSse(Stream.fromIterable([...chunks.map(data), done]))
      )
      expect(completion).toMatchObject({
        id: "chatcmpl-1",
        object: "chat.completion",
        model: "gpt-4o-mini",
        usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 },
        choices: [
          {
            index: 0,
            finish_reason: "tool_calls",
            message: {
              role: "assistant",
              content: "",
              refusal: null,
              tool_calls: [
                { id: "call_a", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
                { id: "call_b", type: "function", function: { name: "lookup", arguments: '{"q":1}' } }
              ]
            }
          },
          { index: 1, finish_reason: "stop", message: { content: "Second choice", refusal: "I can't" } }
        ]
      })
      expect(completion.choices[1]!.message.tool_calls).toBeUndefined()
      // the result satisfies the completion schema
      expect(ChatStream.ChatCompletion.make(completion)).toBeDefined()
    })
  )

  it.effect("content is null when only tool calls arrived; an empty stream gives no choices", () =>
    Effect.gen(function* () {
      const completion = yield* ChatStream.accumulate(
        Stream.make(
          ...(yield* collect(
            ChatStream.fromSse(
              Stream.make(
                data(chunk([{ index: 0, delta: { tool_calls: [{ index: 0, id: "c", function: { name: "f" } }] } }])),
                done
              )
            )
          ))
        )
      )
      expect(completion.choices[0]!.message.content).toBeNull()
      expect(completion.choices[0]!.message.tool_calls).toEqual([
        { id: "c", type: "function", function: { name: "f", arguments: "" } }
      ])
      expect((yield* ChatStream.accumulate(Stream.empty)).choices).toEqual([])
    })
  )
})

const rechunked = (f: (s: Stream.Stream<string>) => Stream.Stream<string>, pieces: ReadonlyArray<string>) =>
  Effect.runSync(collect(f(Stream.fromIterable(pieces))))

const splitText = (text: string, points: ReadonlyArray<number>): Array<string> => {
  const sorted = [...new Set(points.map((p) => p % (text.length + 1)))].sort((a, b) => a - b)
  const out: Array<string> = []
  let last = 0
  for (const p of sorted) {
    out.push(text.slice(last, p))
    last = p
  }
  out.push(text.slice(last))
  return out
}

const hasLoneSurrogate = (s: string) => /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)

describe("ChatStream text re-chunking", () => {
  it("textDeltas, words, sentences, lines", () => {
    expect(rechunked(ChatStream.words, ["Hel", "lo, wo", "rld! I'm", " he", "re"])).toEqual([
      "Hello, ",
      "world! ",
      "I'm ",
      "here"
    ])
    expect(rechunked(ChatStream.sentences, ["Hi there. How", " are you? Fi", "ne."])).toEqual([
      "Hi there. ",
      "How are you? ",
      "Fine."
    ])
    expect(rechunked(ChatStream.lines, ["a\nb", "c\r", "\nd\n\n", "e"])).toEqual(["a\n", "bc\r\n", "d\n", "\n", "e"])
    expect(rechunked(ChatStream.words, [])).toEqual([])
    expect(rechunked(ChatStream.words, ["🎉", "🎉"])).toEqual(["🎉🎉"])
  })

  const vocabulary = fc.constantFrom(
    "hello",
    "world",
    "can't",
    "3.14",
    "héllo",
    "世界",
    "🎉",
    "👍🏽",
    "🇫🇷",
    "e\u0301",
    "𝒳yz",
    " ",
    "  ",
    ", ",
    ". ",
    "! ",
    "\n",
    "Mr",
    "The",
    "ok"
  )

  it.prop(
    "any re-chunking of the input gives the same pieces, whose join is the input, with no split surrogate pair",
    { tokens: Arbitrary.array(vocabulary, { maxLength: 40 }), splits: Arbitrary.array(fc.nat, { maxLength: 15 }) },
    ({ splits, tokens }) => {
      const text = tokens.join("")
      for (const f of [ChatStream.words, ChatStream.sentences, ChatStream.lines]) {
        const whole = rechunked(f, [text])
        const split = rechunked(f, splitText(text, splits))
        expect(split.join("")).toBe(text)
        expect(split).toEqual(whole)
        for (const piece of split) expect(hasLoneSurrogate(piece)).toBe(false)
      }
      const lines = rechunked(ChatStream.lines, splitText(text, splits))
      for (const line of lines.slice(0, -1)) expect(line.endsWith("\n")).toBe(true)
    },
    { arbitrary: { runs: 300, size: 40 } }
  )
})

describe("ChatStream.buffered", () => {
  it.effect.prop(
    "a slow consumer never lets the producer run more than capacity (+1 in hand) ahead",
    { capacity: fc.int(1, 16) },
    ({ capacity }) =>
      Effect.gen(function* () {
        let produced = 0
        let maxLead = 0
        const producer = Stream.fromEffectRepeat(Effect.sync(() => ++produced)).pipe(Stream.take(100))
        yield* producer.pipe(
          ChatStream.buffered(capacity),
          Stream.runForEach((n) =>
            Effect.gen(function* () {
              // give the producer every chance to run ahead
              for (let i = 0; i < 20; i++) yield* Effect.yieldNow
              maxLead = Math.max(maxLead, produced - n)
            })
          )
        )
        expect(maxLead).toBeLessThanOrEqual(capacity + 1)
        expect(maxLead).toBeGreaterThanOrEqual(capacity)
      }),
    { arbitrary: { runs: 16 } }
  )
})
