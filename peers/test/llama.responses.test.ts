/**
 * The Responses API against a real llama.cpp llama-server (its `/v1/responses`, which omits `sequence_number` and
 * `output_index`) with the suite's tiny model: create, stream, a forced tool call, a tool loop and structured output,
 * every call through the default gates. The model's behaviour is described in test-support/Llama.
 */
import { describe, expect, inject, it } from "@effect/vitest"
import { Credentials, Gates, OpenAi, OpenAiConfig, type Responses, StructuredOutput, Tools } from "@sluice/core"
import { ResponseStream } from "@sluice/stream"
import { Effect, Layer, Schema, Stream } from "effect"

const baseUrl = `${inject("llamaBaseUrl")}/v1`
const client = OpenAi.layer.pipe(
  Layer.provide(OpenAiConfig.layer({ baseUrl })),
  Layer.provide(Credentials.staticKey("sk-no-key-needed")),
  Layer.provideMerge(Gates.defaults)
)

const weather = {
  type: "function",
  name: "get_weather",
  parameters: {
    type: "object",
    properties: { city: { type: "string", enum: ["Paris", "Oslo"] } },
    required: ["city"],
    additionalProperties: false
  }
} as const

describe("llama.cpp llama-server: the Responses API", () => {
  it.effect("create: a completed Response with an output_text message and usage", () =>
    Effect.gen(function* () {
      const openai = yield* OpenAi.OpenAi
      const reply = yield* openai.responses.create({ model: "tiny-llama", input: "Say hello", max_output_tokens: 16 })
      expect(reply.body.status).toBe("completed")
      const message = reply.body.output.find((item) => item.type === "message")
      expect(message).toBeDefined()
      expect(JSON.stringify(message)).toContain("<tool_call>")
      expect(reply.body.usage?.output_tokens).toBe(6)
      expect(reply.body.usage?.input_tokens).toBeGreaterThan(0)
    }).pipe(Effect.provide(client))
  )

  it.effect("stream: semantic events without sequence numbers; text deltas add up to the final Response", () =>
    Effect.gen(function* () {
      const events = yield* ResponseStream.stream(
        { model: "tiny-llama", input: "Say hello", max_output_tokens: 16 },
        { retry: { maxAttempts: 1 } }
      ).pipe(Stream.runCollect)
      const types = events.map((event) => event.type)
      expect(types[0]).toBe("response.created")
      expect(types.at(-1)).toBe("response.completed")
      expect(types).toContain("response.output_text.delta")
      const text = yield* ResponseStream.textDeltas(Stream.fromIterable(events)).pipe(Stream.mkString)
      expect(text).toBe("<tool_call>")
      const final = yield* ResponseStream.finalResponse(Stream.fromIterable(events))
      expect(final.status).toBe("completed")
    }).pipe(Effect.provide(client))
  )

  it.effect("tool_choice required: function_call items whose arguments are valid for the tool", () =>
    Effect.gen(function* () {
      const openai = yield* OpenAi.OpenAi
      const reply = yield* openai.responses.create({
        model: "tiny-llama",
        input: "What is the weather?",
        max_output_tokens: 200,
        temperature: 0,
        tool_choice: "required",
        tools: [weather]
      })
      const calls = reply.body.output.filter((item): item is Responses.FunctionCall => item.type === "function_call")
      expect(calls.length).toBeGreaterThan(0)
      for (const call of calls) {
        expect(call.name).toBe("get_weather")
        expect(["Paris", "Oslo"]).toContain(JSON.parse(call.arguments).city)
      }
    }).pipe(Effect.provide(client))
  )

  it.effect(
    "a tool loop: the forced first turn calls the Effect handler with decoded arguments, then the model answers",
    () =>
      Effect.gen(function* () {
        const seen: Array<string> = []
        const getWeather = Tools.make("get_weather", {
          parameters: Schema.Struct({ city: Schema.Literals(["Paris", "Oslo"]) }),
          handler: ({ city }) => Effect.sync(() => seen.push(city)).pipe(Effect.as({ city, sky: "clear" }))
        })
        const result = yield* Tools.responses(
          {
            model: "tiny-llama",
            input: "What is the weather?",
            max_output_tokens: 200,
            temperature: 0,
            tool_choice: "required"
          },
          [getWeather],
          { maxTurns: 4 }
        )
        expect(seen.length).toBeGreaterThan(0)
        expect(seen.every((city) => city === "Paris" || city === "Oslo")).toBe(true)
        expect(result.turns).toBe(2)
        expect(result.response.body.output.some((item) => item.type === "function_call")).toBe(false)
        expect(result.usage.promptTokens).toBeGreaterThan(0)
      }).pipe(Effect.provide(client))
  )
})

describe("llama.cpp llama-server: structured output", () => {
  const Mood = Schema.Struct({ mood: Schema.Literals(["happy", "sad"]), ok: Schema.Boolean })

  it.effect("chat: response_format from a Schema, the reply decoded into its type (llama.cpp's grammar)", () =>
    Effect.gen(function* () {
      const format = yield* StructuredOutput.make(Mood, { name: "mood" })
      const { value } = yield* StructuredOutput.chat(format, {
        model: "tiny-llama",
        max_tokens: 200,
        temperature: 0,
        messages: [{ role: "user", content: "How are you?" }]
      })
      expect(["happy", "sad"]).toContain(value.mood)
      expect(typeof value.ok).toBe("boolean")
    }).pipe(Effect.provide(client))
  )

  it.effect("chat tool loop: a forced call to the handler, then an answer without tools", () =>
    Effect.gen(function* () {
      const seen: Array<string> = []
      const getWeather = Tools.make("get_weather", {
        parameters: Schema.Struct({ city: Schema.Literals(["Paris", "Oslo"]) }),
        handler: ({ city }) => Effect.sync(() => seen.push(city)).pipe(Effect.as("clear skies"))
      })
      const result = yield* Tools.chat(
        {
          model: "tiny-llama",
          max_tokens: 200,
          temperature: 0,
          tool_choice: "required",
          messages: [{ role: "user", content: "What is the weather?" }]
        },
        [getWeather],
        { maxTurns: 4 }
      )
      expect(seen).toHaveLength(1)
      expect(result.turns).toBe(2)
      expect(result.response.body.choices[0]!.message.tool_calls ?? []).toHaveLength(0)
    }).pipe(Effect.provide(client))
  )

  it.effect(
    "responses: llama.cpp drops text.format, so the unconstrained reply is StructuredOutputInvalid with its text",
    () =>
      Effect.gen(function* () {
        const format = yield* StructuredOutput.make(Mood, { name: "mood" })
        const error = yield* StructuredOutput.respond(format, {
          model: "tiny-llama",
          input: "How are you?",
          max_output_tokens: 60,
          temperature: 0
        }).pipe(Effect.flip)
        expect(error._tag).toBe("StructuredOutputInvalid")
        if (error._tag === "StructuredOutputInvalid") expect(error.text).toBe("<tool_call>")
      }).pipe(Effect.provide(client))
  )

  it.effect("responses with chatResponseFormat: llama.cpp's grammar applies and the reply decodes", () =>
    Effect.gen(function* () {
      const format = yield* StructuredOutput.make(Mood, { name: "mood" })
      const { value, response } = yield* StructuredOutput.respond(
        format,
        { model: "tiny-llama", input: "How are you?", max_output_tokens: 200, temperature: 0 },
        { chatResponseFormat: true }
      )
      expect(response.body.status).toBe("completed")
      expect(["happy", "sad"]).toContain(value.mood)
      expect(typeof value.ok).toBe("boolean")
    }).pipe(Effect.provide(client))
  )
})
