import { expect, it } from "@effect/vitest"
import { Decoding } from "@sluice/core"
import { Result, Schema } from "effect"
import { ChatCompletion } from "../src/ChatCompletions.js"
import { fastChatCompletion } from "../src/internal/fastChat.js"
import { agreement, json } from "./support/fastPath.js"

const slow = Decoding.decoder(ChatCompletion)
const agree = agreement(fastChatCompletion, slow)

it.prop(
  "the fast chat-completion check agrees with the schema whenever it accepts",
  {
    completion: Schema.toEncoded(ChatCompletion),
    noise: Schema.Json
  },
  ({ completion: encoded, noise }) => {
    const completion = json(encoded)
    const withoutTools = json({
      ...(completion as object),
      choices: ((completion as { choices: Array<{ message: object }> }).choices ?? []).map((choice) => ({
        ...choice,
        message: { ...choice.message, tool_calls: undefined }
      }))
    })
    agree.check([completion, withoutTools, noise, { ...(completion as object), extra: noise }])
  },
  { arbitrary: { runs: 500 } }
)

it("the property above exercised the fast path (it is not vacuous)", () => {
  expect(agree.counter.accepted).toBeGreaterThan(100)
})

it("takes an ordinary answer (filling the schema's defaults) and leaves tool calls and odd shapes to the schema", () => {
  const answer = {
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1,
    model: "gpt-4o-mini",
    choices: [{ message: { content: "hi", annotations: [] }, finish_reason: "stop", logprobs: null }],
    usage: { prompt_tokens: 3, total_tokens: 5, prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 } },
    service_tier: "default"
  }
  const fast = fastChatCompletion(json(answer))
  expect(fast).toEqual(Result.getOrThrow(slow(json(answer))))
  expect(fast?.choices[0]).toMatchObject({ index: 0, message: { role: "assistant", content: "hi", annotations: [] } })
  expect(fast?.usage?.completion_tokens).toBe(0)
  const toolCall = {
    ...answer,
    choices: [
      {
        message: { tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: "{}" } }] },
        finish_reason: "tool_calls"
      }
    ]
  }
  expect(fastChatCompletion(json(toolCall))).toBeUndefined()
  expect(Result.isSuccess(slow(json(toolCall)))).toBe(true)
  expect(fastChatCompletion(json({ ...answer, choices: undefined }))).toBeUndefined()
  expect(fastChatCompletion(JSON.parse('{"choices":[],"__proto__":1}'))).toBeUndefined()
})
