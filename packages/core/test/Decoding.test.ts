import { describe, expect, it } from "@effect/vitest"
import { ChatCompletions, Decoding, Embeddings } from "@sluice/core"
import { Result, Schema, SchemaParser } from "effect"

const json = (u: unknown): unknown => JSON.parse(JSON.stringify(u))

describe("Decoding", () => {
  it("keeps the fields a schema does not know, at every depth, and fills the schema's defaults", () => {
    const decoded = Decoding.decoder(ChatCompletions.ChatCompletion)({
      choices: [{ message: { content: "4", reasoning_content: "2 + 2" }, matched_stop: 2 }],
      usage: { prompt_tokens: 5, prompt_cache_hit_tokens: 0 },
      timings: { predicted_ms: 12.5 }
    })
    expect(Result.getOrThrow(decoded)).toEqual({
      id: "",
      model: "",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "4", reasoning_content: "2 + 2" },
          finish_reason: null,
          matched_stop: 2
        }
      ],
      usage: { prompt_tokens: 5, completion_tokens: 0, prompt_cache_hit_tokens: 0 },
      timings: { predicted_ms: 12.5 }
    })
  })

  it("keeps vendor extensions of a request and never copies an own __proto__ key", () => {
    const input = JSON.parse(
      '{"model":"m","messages":[{"role":"user","content":"hi","x":1}],"top_k":5,"__proto__":{"polluted":true}}'
    )
    const decoded = Result.getOrThrow(Decoding.decoder(ChatCompletions.Request)(input)) as Record<string, unknown>
    expect(decoded).toEqual({ model: "m", messages: [{ role: "user", content: "hi", x: 1 }], top_k: 5 })
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined()
  })

  it("a transformed value is not mixed with its input (base64 embeddings: a Float32Vector, JSON numbers)", () => {
    const base64 = Buffer.from(new Float32Array([0.5, -1]).buffer).toString("base64")
    const decoded = Decoding.decoder(Embeddings.EmbeddingList)({ data: [{ embedding: base64, extra: "x" }] })
    const item = Result.getOrThrow(decoded).data[0]
    expect(item?.embedding).toBeInstanceOf(Embeddings.Float32Vector)
    expect(JSON.parse(JSON.stringify(item))).toEqual({ index: 0, embedding: [0.5, -1], extra: "x" })
  })

  it("names every problem with its path and the offending value", () => {
    const decoded = Decoding.decoder(ChatCompletions.Request)({
      model: "",
      messages: [{ role: "robot", content: "hi" }],
      temperature: 3
    })
    expect(Result.isFailure(decoded)).toBe(true)
    if (Result.isSuccess(decoded)) return
    const problems = decoded.failure.map((problem) => `${Decoding.formatPath(problem.path)}: ${problem.message}`)
    expect(problems).toEqual([
      'model: Expected a value with a length of at least 1, got ""',
      'messages[0].role: Expected "system" | "developer" | "user" | "assistant" | "tool", got "robot"',
      "temperature: Expected a value between 0 and 2, got 3"
    ])
  })

  const whole = SchemaParser.decodeUnknownResult(ChatCompletions.Request)
  it.prop(
    "decoding a request with only its present optional keys gives what the whole schema gives",
    { request: Schema.toEncoded(ChatCompletions.Request) },
    ({ request }) => {
      const input = json(request)
      const expected = whole(input)
      const actual = Decoding.decoder(ChatCompletions.Request)(input)
      expect(Result.isSuccess(actual)).toBe(Result.isSuccess(expected))
      if (Result.isSuccess(actual) && Result.isSuccess(expected)) {
        expect(actual.success).toEqual(Decoding.keepUnknown(expected.success, input))
      }
    },
    { arbitrary: { runs: 200 } }
  )
})
