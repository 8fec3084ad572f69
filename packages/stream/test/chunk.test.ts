import { expect, it } from "@effect/vitest"
import { Decoding } from "@sluice/core"
import { Arbitrary, Result, Schema } from "effect"
import { ChatCompletionChunk, fastChunk } from "../src/internal/chunk.js"

// What the decoder falls back to: the schema, keeping unknown fields (Effect 3's onExcessProperty: "preserve").
const slow = Decoding.decoder(ChatCompletionChunk)
const json = (u: unknown): unknown => JSON.parse(JSON.stringify(u))

it.prop(
  "the fast chunk check agrees with the schema whenever it accepts",
  {
    chunk: Arbitrary.map(Arbitrary.schema(Schema.toEncoded(ChatCompletionChunk)), json),
    noise: Arbitrary.schema(Schema.Json)
  },
  ({ chunk, noise }) => {
    const candidates = [chunk, noise, { ...(chunk as object), extra: noise }]
    for (const candidate of candidates) {
      const expected = slow(json(candidate))
      const actual = fastChunk(json(candidate))
      if (actual !== undefined) {
        expect(Result.isSuccess(expected)).toBe(true)
        expect(actual).toEqual(Result.getOrThrow(expected))
      }
    }
  },
  { arbitrary: { runs: 500 } }
)

it("an own __proto__ key sends the chunk to the schema (which drops it), so both paths give the same value", () => {
  const parsed = JSON.parse('{"id":"c","choices":[{"delta":{"content":"hi","__proto__":1}}],"__proto__":0}')
  expect(fastChunk(parsed)).toBeUndefined()
  expect(fastChunk(JSON.parse('{"id":"c","choices":[]}'))).toEqual({ id: "c", choices: [] })
})

it("the fast path takes ordinary text and tool-call chunks", () => {
  const text = {
    id: "c",
    object: "chat.completion.chunk",
    created: 1,
    model: "m",
    choices: [{ delta: { content: "hi" } }]
  }
  expect(fastChunk(json(text))).toEqual({
    ...text,
    choices: [{ index: 0, finish_reason: null, delta: { content: "hi" } }]
  })
  const tool = {
    choices: [{ index: 0, delta: { tool_calls: [{ function: { arguments: "{" } }] }, finish_reason: null }]
  }
  expect(fastChunk(json(tool))).toBeDefined()
})
