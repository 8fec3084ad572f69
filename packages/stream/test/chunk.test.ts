import { expect, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck as fc, Schema } from "effect"
import { ChatCompletionChunk, fastChunk } from "../src/internal/chunk.js"

const slow = Schema.decodeUnknownEither(ChatCompletionChunk, { onExcessProperty: "preserve" })
const json = (u: unknown): unknown => JSON.parse(JSON.stringify(u))

it.prop(
  "the fast chunk check agrees with the schema whenever it accepts",
  {
    chunk: Arbitrary.make(Schema.encodedSchema(ChatCompletionChunk)).map(json),
    noise: fc.jsonValue()
  },
  ({ chunk, noise }) => {
    const candidates = [chunk, noise, { ...(chunk as object), extra: noise }]
    for (const candidate of candidates) {
      const expected = slow(json(candidate))
      const actual = fastChunk(json(candidate))
      if (actual !== undefined) {
        expect(Either.isRight(expected)).toBe(true)
        expect(actual).toEqual(Either.getOrThrow(expected))
      }
    }
  },
  { fastCheck: { numRuns: 500 } }
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
