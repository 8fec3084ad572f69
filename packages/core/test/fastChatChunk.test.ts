import { expect, it } from "@effect/vitest"
import { Decoding } from "@sluice/core"
import { Arbitrary, Result, Schema } from "effect"
import { ChatCompletionChunk } from "../src/ChatCompletions.js"
import { fastChatCompletionChunk as fastChunk } from "../src/internal/fastChat.js"
import { agreement, json } from "./support/fastPath.js"

// The schema alone (`decoder` has no fast path), keeping unknown fields (Effect 3's onExcessProperty: "preserve").
const slow = Decoding.decoder(ChatCompletionChunk)
const agree = agreement(fastChunk, slow)

it.prop(
  "the fast chunk check agrees with the schema whenever it accepts",
  {
    chunk: Arbitrary.map(Arbitrary.schema(Schema.toEncoded(ChatCompletionChunk)), json),
    noise: Arbitrary.schema(Schema.Json)
  },
  ({ chunk, noise }) => {
    agree.check([chunk, noise, { ...(chunk as object), extra: noise }])
  },
  { arbitrary: { runs: 500 } }
)

it("the property above exercised the fast path (it is not vacuous)", () => {
  expect(agree.counter.accepted).toBeGreaterThan(100)
})

it("an own __proto__ key sends the chunk to the schema (which drops it), so both paths give the same value", () => {
  const parsed = JSON.parse('{"id":"c","choices":[{"delta":{"content":"hi","__proto__":1}}],"__proto__":0}')
  expect(fastChunk(parsed)).toBeUndefined()
  expect(fastChunk(JSON.parse('{"id":"c","choices":[]}'))).toEqual({ id: "c", choices: [] })
})

it("the fast path takes ordinary text, tool-call and usage chunks, keeping unknown fields", () => {
  const text = {
    id: "c",
    object: "chat.completion.chunk",
    created: 1,
    model: "m",
    choices: [{ delta: { content: "hi" } }],
    obfuscation: "x"
  }
  expect(fastChunk(json(text))).toEqual({
    ...text,
    choices: [{ index: 0, finish_reason: null, delta: { content: "hi" } }]
  })
  const tool = {
    choices: [{ index: 0, delta: { tool_calls: [{ function: { arguments: "{" } }] }, finish_reason: null }]
  }
  expect(fastChunk(json(tool))).toBeDefined()
  const usage = { id: "c", choices: [], usage: { prompt_tokens: 3, total_tokens: 5 } }
  expect(fastChunk(json(usage))).toEqual(Result.getOrThrow(slow(json(usage))))
})

it("Decoding.chatCompletionChunk: the fast path, else the schema with its problems", () => {
  expect(Result.getOrThrow(Decoding.chatCompletionChunk(json({ choices: [{ delta: { content: "a" } }] })))).toEqual({
    id: "",
    choices: [{ index: 0, finish_reason: null, delta: { content: "a" } }]
  })
  const bad = Decoding.chatCompletionChunk(json({ choices: [{ delta: { content: 7 } }] }))
  expect(Result.isFailure(bad)).toBe(true)
  if (Result.isFailure(bad)) expect(Decoding.formatPath(bad.failure[0]!.path)).toBe("choices[0].delta.content")
})
