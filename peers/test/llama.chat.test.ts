/**
 * Chat Completions against a real llama.cpp llama-server (the tiny random model: its words are noise, so the tests
 * check the protocol — shapes, usage, streaming, finish reasons, grammar-constrained JSON — never the wording).
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
      expect(choice.finish_reason).toBe("length")
      expect(typeof choice.message.content).toBe("string")
      expect(reply.body.usage?.completion_tokens).toBe(6)
      expect(reply.body.usage?.prompt_tokens).toBeGreaterThan(0)
    }).pipe(Effect.provide(client))
  )

  it.effect("streams a chat completion: chunks accumulate to the whole answer with usage", () =>
    Effect.gen(function* () {
      const chunks = yield* ChatStream.stream(
        {
          model: "tiny-llama",
          max_tokens: 5,
          messages: [{ role: "user", content: "Count" }],
          stream: true,
          stream_options: { include_usage: true }
        },
        { retry: { maxAttempts: 1 } }
      ).pipe(Stream.runCollect)
      const completion = yield* ChatStream.accumulate(Stream.fromIterable(chunks))
      expect(chunks.length).toBeGreaterThan(2)
      expect(completion.choices[0]!.finish_reason).toBe("length")
      expect(completion.usage?.completion_tokens).toBe(5)
    }).pipe(Effect.provide(client))
  )

  it.effect("a json_schema response_format comes back as JSON valid for the schema (llama.cpp's grammar)", () =>
    Effect.gen(function* () {
      const openai = yield* OpenAi.OpenAi
      const reply = yield* openai.chat.completions.create({
        model: "tiny-llama",
        max_tokens: 40,
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
})
