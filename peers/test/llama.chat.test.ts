/**
 * Chat Completions against a real llama.cpp llama-server with the suite's tiny model (test-support/Llama: after a
 * newline it writes `<tool_call>` and stops; forced by `tool_choice: "required"` it makes one grammar-valid tool call;
 * otherwise noise). The tests check the protocol — shapes, usage, streaming, finish reasons, grammar-constrained
 * JSON, tool calls — never wording.
 * Every call goes through the client's default gates (limiter, concurrency, breaker, lifecycle, budget).
 */
import { describe, expect, inject, it } from "@effect/vitest"
import { Credentials, Gates, OpenAi, OpenAiConfig } from "@sluice/core"
import { ChatStream } from "@sluice/stream"
import { Effect, Layer, Stream } from "effect"

const baseUrl = `${inject("llamaBaseUrl")}/v1`
const client = OpenAi.layer.pipe(
  Layer.provide(OpenAiConfig.layer({ baseUrl })),
  Layer.provide(Credentials.staticKey("sk-no-key-needed")),
  Layer.provideMerge(Gates.defaults)
)

describe("llama.cpp llama-server: chat completions", () => {
  it.effect("answers a chat completion with usage, through every gate", () =>
    Effect.gen(function* () {
      const openai = yield* OpenAi.OpenAi
      const reply = yield* openai.chat.completions.create({
        model: "tiny-llama",
        max_tokens: 6,
        messages: [{ role: "user", content: "Say hello" }]
      })
      const choice = reply.body.choices[0]!
      expect(choice.finish_reason).toBe("stop")
      expect(choice.message.content).toBe("<tool_call>")
      expect(reply.body.usage?.completion_tokens).toBe(6) // < tool _ call > and the end of text
      expect(reply.body.usage?.prompt_tokens).toBeGreaterThan(0)
    }).pipe(Effect.provide(client))
  )

  it.effect("streams a chat completion: chunks accumulate to the whole answer with usage", () =>
    Effect.gen(function* () {
      const chunks = yield* ChatStream.stream(
        {
          model: "tiny-llama",
          max_tokens: 3,
          messages: [{ role: "user", content: "Count" }],
          stream: true,
          stream_options: { include_usage: true }
        },
        { retry: { maxAttempts: 1 } }
      ).pipe(Stream.runCollect)
      const completion = yield* ChatStream.accumulate(Stream.fromIterable(chunks))
      expect(chunks.length).toBeGreaterThan(2)
      expect(completion.choices[0]!.finish_reason).toBe("length")
      expect(completion.choices[0]!.message.content).toBe("<tool_") // <, tool, _
      expect(completion.usage?.completion_tokens).toBe(3)
    }).pipe(Effect.provide(client))
  )

  it.effect("a json_schema response_format comes back as JSON valid for the schema (llama.cpp's grammar)", () =>
    Effect.gen(function* () {
      const openai = yield* OpenAi.OpenAi
      const reply = yield* openai.chat.completions.create({
        model: "tiny-llama",
        max_tokens: 200,
        temperature: 0,
        messages: [{ role: "user", content: "How are you?" }],
        response_format: {
          type: "json_schema",
          json_schema: {
            name: "mood",
            strict: true,
            schema: {
              type: "object",
              properties: { mood: { type: "string", enum: ["happy", "sad"] }, ok: { type: "boolean" } },
              required: ["mood", "ok"],
              additionalProperties: false
            }
          }
        }
      })
      const value = JSON.parse(reply.body.choices[0]!.message.content ?? "null")
      expect(["happy", "sad"]).toContain(value.mood)
      expect(typeof value.ok).toBe("boolean")
    }).pipe(Effect.provide(client))
  )

  it.effect("tool_choice required: one tool call whose arguments are valid for the tool's parameters", () =>
    Effect.gen(function* () {
      const openai = yield* OpenAi.OpenAi
      const reply = yield* openai.chat.completions.create({
        model: "tiny-llama",
        max_tokens: 200,
        temperature: 0,
        messages: [{ role: "user", content: "What is the weather?" }],
        tool_choice: "required",
        tools: [
          {
            type: "function",
            function: {
              name: "get_weather",
              parameters: {
                type: "object",
                properties: { city: { type: "string", enum: ["Paris", "Oslo"] } },
                required: ["city"],
                additionalProperties: false
              }
            }
          }
        ]
      })
      const choice = reply.body.choices[0]!
      expect(choice.finish_reason).toBe("tool_calls")
      expect(choice.message.tool_calls).toHaveLength(1)
      const call = choice.message.tool_calls![0]!
      expect(call.function.name).toBe("get_weather")
      expect(["Paris", "Oslo"]).toContain(JSON.parse(call.function.arguments).city)
    }).pipe(Effect.provide(client))
  )
})
