import { describe, expect, it } from "@effect/vitest"
import { Decoding, Responses, Tokens } from "@sluice/core"
import { Effect, Result, Schema } from "effect"

const decodeResponse = (input: unknown) => Decoding.decoder(Responses.Response)(input)

describe("Responses schemas", () => {
  it("a full OpenAI Response decodes: message, function call, reasoning, usage with cached and reasoning tokens", () => {
    const result = decodeResponse({
      id: "resp_1",
      object: "response",
      created_at: 1741476777,
      status: "completed",
      error: null,
      incomplete_details: null,
      model: "gpt-4.1-2025-04-14",
      output: [
        { type: "reasoning", id: "rs_1", summary: [{ type: "summary_text", text: "Thinking." }] },
        {
          type: "message",
          id: "msg_1",
          status: "completed",
          role: "assistant",
          content: [
            { type: "output_text", text: "Hello ", annotations: [] },
            { type: "output_text", text: "there" }
          ]
        },
        { type: "function_call", id: "fc_1", call_id: "call_1", name: "get_weather", arguments: '{"city":"Oslo"}' },
        { type: "web_search_call", id: "ws_1", status: "completed", action: { query: "x" } }
      ],
      usage: {
        input_tokens: 36,
        input_tokens_details: { cached_tokens: 12, cache_write_tokens: 0 },
        output_tokens: 87,
        output_tokens_details: { reasoning_tokens: 40 },
        total_tokens: 123
      },
      tool_choice: "auto",
      safety_identifier: "kept"
    })
    if (Result.isFailure(result)) throw new Error(JSON.stringify(result.failure))
    const response = result.success
    expect(Responses.outputText(response)).toBe("Hello there")
    expect(Responses.functionCalls(response).map((c) => c.name)).toEqual(["get_weather"])
    expect(Responses.refusal(response)).toBeUndefined()
    expect(response.usage?.input_tokens_details?.cached_tokens).toBe(12)
    expect(response.usage?.output_tokens_details?.reasoning_tokens).toBe(40)
    // unknown items and fields are kept as sent
    expect(response.output[3]).toMatchObject({ type: "web_search_call", action: { query: "x" } })
    expect((response as unknown as { safety_identifier: string }).safety_identifier).toBe("kept")
  })

  it("a sparse Response (llama.cpp, Ollama) decodes with defaults", () => {
    const result = decodeResponse({
      output: [{ type: "message", content: [{ type: "output_text", text: "hi" }] }],
      usage: { input_tokens: 3 }
    })
    if (Result.isFailure(result)) throw new Error(JSON.stringify(result.failure))
    expect(result.success.status).toBe("completed")
    expect(result.success.id).toBe("")
    expect(result.success.usage?.output_tokens).toBe(0)
    expect(Responses.outputText(result.success)).toBe("hi")
  })

  it("incomplete and failed responses carry their reason and error", () => {
    const incomplete = decodeResponse({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" } })
    expect(Result.isSuccess(incomplete) && incomplete.success.incomplete_details?.reason).toBe("max_output_tokens")
    const failed = decodeResponse({ status: "failed", error: { code: "server_error", message: "boom" } })
    expect(Result.isSuccess(failed) && failed.success.error?.message).toBe("boom")
  })

  it.effect("requests: text or items, instructions, tools, text.format, reasoning, background, store", () =>
    Effect.gen(function* () {
      const request = yield* Schema.decodeUnknownEffect(Responses.Request)({
        model: "gpt-4.1",
        instructions: "Be brief.",
        input: [
          { role: "user", content: "Weather in Oslo?" },
          { type: "message", role: "developer", content: [{ type: "input_text", text: "JSON." }] },
          { type: "function_call", call_id: "c1", name: "get_weather", arguments: "{}" },
          { type: "function_call_output", call_id: "c1", output: '{"temp":3}' },
          { type: "item_reference", id: "msg_0" }
        ],
        tools: [
          { type: "function", name: "get_weather", parameters: { type: "object" }, strict: true },
          { type: "web_search" }
        ],
        text: { format: { type: "json_schema", name: "w", schema: { type: "object" }, strict: true } },
        reasoning: { effort: "low", summary: "auto" },
        max_output_tokens: 200,
        previous_response_id: "resp_0",
        store: false,
        background: true
      })
      expect(request.input).toHaveLength(5)
    })
  )

  it("invalid requests name the field", () => {
    const bad = Decoding.decoder(Responses.Request)({ model: "m", input: "x", max_output_tokens: 0 })
    expect(Result.isFailure(bad) && Decoding.formatPath(bad.failure[0]!.path)).toBe("max_output_tokens")
    const role = Decoding.decoder(Responses.Request)({ model: "m", input: [{ role: "robot", content: "x" }] })
    expect(Result.isFailure(role)).toBe(true)
    const tool = Decoding.decoder(Responses.Request)({ model: "m", tools: [{ type: "function", name: "has space" }] })
    expect(Result.isFailure(tool)).toBe(true)
    // a function call given back without its call_id cannot be paired with its output: refused, named
    const call = Decoding.decoder(Responses.Request)({
      model: "m",
      input: [{ type: "function_call", name: "f", arguments: "{}" }]
    })
    expect(Result.isFailure(call) && call.failure.map((problem) => Decoding.formatPath(problem.path))).toContain(
      "input[0].call_id"
    )
  })
})

describe("the token estimate of a Responses request", () => {
  const count = (text: string) => text.length // a stand-in counter: one token per character
  it("counts instructions, every input item (function calls and outputs too), tools and the text.format schema", () => {
    const base = { model: "m", instructions: "abcd", input: "hello" }
    const plain = Tokens.countPrompt(count, "/responses", base)
    expect(plain).toBe(Tokens.overhead.replyPriming + 2 * Tokens.overhead.perMessage + 4 + 5)
    const items = Tokens.countPrompt(count, "/responses", {
      model: "m",
      input: [
        { role: "user", content: [{ type: "input_text", text: "hello" }] },
        { type: "function_call", call_id: "c", name: "fn", arguments: '{"a":1}' },
        { type: "function_call_output", call_id: "c", output: "result" }
      ]
    })
    expect(items).toBe(Tokens.overhead.replyPriming + 3 * Tokens.overhead.perMessage + 4 + 5 + 2 + 7 + 6)
    const schema = { type: "object", properties: {} }
    const withFormat = Tokens.countPrompt(count, "/responses", {
      ...base,
      text: { format: { type: "json_schema", name: "x", schema } }
    })
    expect(withFormat - plain).toBe(JSON.stringify(schema).length)
    expect(Tokens.maxOutput({ ...base, max_output_tokens: 300 }, 4096)).toBe(300)
  })
})

describe("narrowing output items", () => {
  it("the guards narrow, unknown kinds are none of them", () => {
    const result = Decoding.decoder(Responses.Response)({
      output: [
        { type: "message", content: [{ type: "output_text", text: "hi" }] },
        { type: "function_call", call_id: "c", name: "f", arguments: "{}" },
        { type: "reasoning", summary: [] },
        { type: "web_search_call", id: "ws" }
      ]
    })
    if (Result.isFailure(result)) throw new Error("decode")
    const kinds = result.success.output.map((item) =>
      Responses.isMessage(item)
        ? `message:${item.content.length}`
        : Responses.isFunctionCall(item)
          ? `call:${item.name}`
          : Responses.isReasoning(item)
            ? `reasoning:${item.summary.length}`
            : `other:${item.type}`
    )
    expect(kinds).toEqual(["message:1", "call:f", "reasoning:0", "other:web_search_call"])
  })
})
