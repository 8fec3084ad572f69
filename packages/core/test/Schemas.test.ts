import { expect, it } from "@effect/vitest"
import { ChatCompletions, Embeddings, OpenAi } from "@sluice/core"
import { Effect, Schema } from "effect"
import { client, httpServer } from "./support/servers.js"

it.effect("responses from servers that omit optional fields and add unknown ones decode", () =>
  Effect.gen(function* () {
    // llama.cpp / vLLM style: no usage, system_fingerprint, created, logprobs, refusal; an extra field.
    const body = yield* Schema.decodeUnknownEffect(ChatCompletions.ChatCompletion)({
      id: "x",
      model: "llama",
      choices: [{ message: { content: "hi" }, finish_reason: "stop", timings: {} }],
      extra: true
    })
    expect(body.choices[0]?.message.content).toBe("hi")
    expect(body.usage).toBeUndefined()
    const chunk = yield* Schema.decodeUnknownEffect(ChatCompletions.ChatCompletionChunk)({
      id: "c",
      choices: [],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 }
    })
    expect(chunk.usage?.completion_tokens).toBe(2)
  })
)

it.effect("base64 embeddings decode to a Float32Vector that serialises as numbers", () =>
  Effect.gen(function* () {
    const base64 = Buffer.from(new Float32Array([0.5, -1, 2]).buffer).toString("base64")
    const list = yield* Schema.decodeUnknownEffect(Embeddings.EmbeddingList)({
      data: [{ index: 0, embedding: base64 }],
      model: "m"
    })
    const embedding = list.data[0]?.embedding
    expect(embedding).toBeInstanceOf(Embeddings.Float32Vector)
    expect(Array.from(embedding ?? [])).toEqual([0.5, -1, 2])
    expect(JSON.stringify(embedding)).toBe("[0.5,-1,2]")
  })
)

it.effect("invalid input is refused before sending, naming the path and the value", () =>
  Effect.gen(function* () {
    const o = yield* OpenAi.OpenAi
    const error = yield* Effect.flip(
      o.chat.completions.create({
        model: "gpt-4o",
        messages: [{ role: "user", content: "hi" }],
        temperature: 3,
        max_tokens: 5
      })
    )
    expect(error._tag).toBe("InvalidRequest")
    expect(error.message).toContain("temperature")
    expect(error.message).toContain("3")
    if (error._tag === "InvalidRequest") expect(error.path).toBe("temperature")
    const empty = yield* Effect.flip(o.embeddings.create({ model: "m", input: [] }))
    expect(empty._tag).toBe("InvalidRequest")
  }).pipe(Effect.provide(client("http://127.0.0.1:9/v1")))
)

it.effect("maxTokensPolicy require refuses an unbounded chat request", () =>
  Effect.gen(function* () {
    const o = yield* OpenAi.OpenAi
    const error = yield* Effect.flip(
      o.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] })
    )
    expect(error._tag).toBe("InvalidRequest")
    expect(error.message).toContain("max_completion_tokens")
  }).pipe(Effect.provide(client("http://127.0.0.1:9/v1", { maxTokensPolicy: "require" })))
)

it.effect("fields the schema does not know reach the caller (vendor extensions are not dropped)", () =>
  Effect.gen(function* () {
    const { url } = yield* httpServer((_request, response) => {
      response.writeHead(200, { "content-type": "application/json" })
      response.end(
        JSON.stringify({
          id: "chatcmpl-1",
          object: "chat.completion",
          created: 1,
          model: "deepseek-reasoner",
          choices: [
            {
              index: 0,
              message: { role: "assistant", content: "4", reasoning_content: "2 + 2 is 4" },
              finish_reason: "stop",
              matched_stop: 2
            }
          ],
          usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6, prompt_cache_hit_tokens: 0 },
          timings: { predicted_ms: 12.5 }
        })
      )
    })
    const response = yield* Effect.flatMap(OpenAi.OpenAi, (o) =>
      o.chat.completions.create({
        model: "deepseek-reasoner",
        messages: [{ role: "user", content: "2 + 2?" }],
        max_tokens: 5
      })
    ).pipe(Effect.provide(client(`${url}/v1`)))
    const body = response.body as unknown as {
      readonly timings: unknown
      readonly choices: ReadonlyArray<{ readonly matched_stop: unknown; readonly message: Record<string, unknown> }>
      readonly usage: Record<string, unknown>
    }
    expect(response.body.choices[0]?.message.content).toBe("4")
    expect(body.choices[0]?.message.reasoning_content).toBe("2 + 2 is 4")
    expect(body.choices[0]?.matched_stop).toBe(2)
    expect(body.usage.prompt_cache_hit_tokens).toBe(0)
    expect(body.timings).toEqual({ predicted_ms: 12.5 })
  })
)

it.effect("a header value undici refuses (a newline) is InvalidRequest, sent nowhere and not retried", () =>
  Effect.gen(function* () {
    let received = 0
    const { url } = yield* httpServer((_request, response) => {
      received++
      response.writeHead(500).end()
    })
    const error = yield* Effect.flatMap(OpenAi.OpenAi, (o) =>
      Effect.flip(o.models.list({ headers: { "x-trace": "a\r\nInjected: yes" } }))
    ).pipe(Effect.provide(client(`${url}/v1`, { retry: { maxAttempts: 4, baseDelayMs: 1 } })))
    expect(error._tag).toBe("InvalidRequest")
    expect(error.message).toContain("x-trace")
    expect(received).toBe(0)
  })
)
