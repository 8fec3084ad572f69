import { describe, expect, it } from "@effect/vitest"
import { Embeddings, Simulator } from "@sluice/simulator"
import { Effect } from "effect"
import { post } from "./helpers.js"

const embed = (url: string, body: Record<string, unknown>) =>
  Effect.map(post(url, "/embeddings", body), (r) => ({ ...r, json: JSON.parse(r.text) }))

const decode = (b64: string): Float32Array => {
  const bytes = Buffer.from(b64, "base64")
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))
}

const norm = (v: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!
  return Math.sqrt(s)
}

describe("embedding vectors", () => {
  it.effect("every vector equals Simulator.embeddingOf(model, text, dimensions), in JSON and in base64", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ seed: 7 })
      const texts = ["héllo", "world", "水は低きに流れる。", "héllo"]
      const float = yield* embed(sim.url, { model: "text-embedding-3-small", input: texts })
      expect(float.json.data).toHaveLength(4)
      float.json.data.forEach((d: { index: number; embedding: Array<number> }, i: number) => {
        expect(d.index).toBe(i)
        expect(d.embedding).toEqual(Array.from(Simulator.embeddingOf("text-embedding-3-small", texts[i]!)))
      })
      expect(float.json.data[0].embedding).toEqual(float.json.data[3].embedding)
      expect(float.json.data[0].embedding).not.toEqual(float.json.data[1].embedding)
      const b64 = yield* embed(sim.url, {
        model: "text-embedding-3-large",
        input: texts,
        dimensions: 256,
        encoding_format: "base64"
      })
      b64.json.data.forEach((d: { embedding: string }, i: number) => {
        const v = decode(d.embedding)
        expect(v).toHaveLength(256)
        expect(v).toEqual(Embeddings.embeddingOf("text-embedding-3-large", texts[i]!, 256))
        expect(norm(v)).toBeCloseTo(1, 5)
      })
      const tokens = yield* embed(sim.url, { model: "text-embedding-3-small", input: [[1, 2, 3]] })
      expect(tokens.json.data[0].embedding).toEqual(
        Array.from(Simulator.embeddingOf("text-embedding-3-small", [1, 2, 3]))
      )
    })
  )

  it("depend on model, text and dimensions only; a shortened vector is the full one cut and renormalized", () => {
    const full = Embeddings.embeddingOf("text-embedding-3-large", "x")
    expect(full).toHaveLength(3072)
    expect(Embeddings.embeddingOf("text-embedding-3-small", "x")).toHaveLength(1536)
    expect(Embeddings.embeddingOf("text-embedding-3-small", "x").slice(0, 8)).not.toEqual(full.slice(0, 8))
    const short = Embeddings.embeddingOf("text-embedding-3-large", "x", 64)
    const cut = full.slice(0, 64)
    const n = norm(cut)
    for (let i = 0; i < 64; i++) expect(short[i]).toBeCloseTo(cut[i]! / n, 6)
    expect(norm(full)).toBeCloseTo(1, 5)
  })

  it.effect("are the same whatever the server's seed", () =>
    Effect.gen(function* () {
      const a = yield* Simulator.start({ seed: 1 })
      const b = yield* Simulator.start({ seed: 99 })
      const body = { model: "text-embedding-3-small", input: "same text", dimensions: 32 }
      expect((yield* embed(a.url, body)).json.data).toEqual((yield* embed(b.url, body)).json.data)
    })
  )
})

describe("embedding caps and validation (OpenAI's 400s)", () => {
  it.effect("2,048 inputs pass, 2,049 are refused", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const ok = yield* embed(sim.url, {
        model: "text-embedding-3-small",
        input: Array.from({ length: 2048 }, (_, i) => `t${i}`),
        dimensions: 1
      })
      expect(ok.status).toBe(200)
      expect(ok.json.data).toHaveLength(2048)
      const over = yield* embed(sim.url, {
        model: "text-embedding-3-small",
        input: Array.from({ length: 2049 }, (_, i) => `t${i}`)
      })
      expect(over.status).toBe(400)
      expect(over.json.error).toEqual({
        message: "Invalid 'input': array length must be 2048 or less.",
        type: "invalid_request_error",
        param: "input",
        code: null
      })
    })
  )

  it.effect("8,192 tokens per input, 300,000 per request", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const max = "a".repeat(8192 * 4) // ceil(32768 / 4) = 8192 tokens
      expect(Embeddings.inputTokens(max)).toBe(8192)
      const ok = yield* embed(sim.url, { model: "text-embedding-3-small", input: [max], dimensions: 1 })
      expect(ok.status).toBe(200)
      expect(ok.json.usage).toEqual({ prompt_tokens: 8192, total_tokens: 8192 })
      const long = yield* embed(sim.url, { model: "text-embedding-3-small", input: ["ok", `${max}a`] })
      expect(long.status).toBe(400)
      expect(long.json.error).toEqual({
        message: "Invalid 'input': maximum context length is 8192 tokens.",
        type: "invalid_request_error",
        param: null,
        code: null
      })
      const tokenArray = yield* embed(sim.url, { model: "text-embedding-3-small", input: [Array(8193).fill(1)] })
      expect(tokenArray.status).toBe(400)
      const many = Array.from({ length: 37 }, () => max) // 303,104 tokens
      const total = yield* embed(sim.url, { model: "text-embedding-3-small", input: many })
      expect(total.status).toBe(400)
      expect(total.json.error).toEqual({
        message: "Requested 303104 tokens, max 300000 tokens per request",
        type: "max_tokens_per_request",
        param: null,
        code: "max_tokens_per_request"
      })
      const stats = yield* sim.stats
      expect(stats.promptTokens).toBe(8192)
    })
  )

  it.effect("empty strings, bad input, dimensions and encoding_format", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const m = "text-embedding-3-small"
      for (const input of ["", ["a", ""], [], [1.5], { a: 1 }, [["a"]]]) {
        const r = yield* embed(sim.url, { model: m, input })
        expect(r.status).toBe(400)
        expect(r.json.error.message).toMatch(/^'\$\.input' is invalid/)
      }
      const ada = yield* embed(sim.url, { model: "text-embedding-ada-002", input: "x", dimensions: 256 })
      expect(ada.status).toBe(400)
      expect(ada.json.error.message).toBe("This model does not support specifying dimensions.")
      expect(
        (yield* embed(sim.url, { model: "text-embedding-ada-002", input: "x" })).json.data[0].embedding
      ).toHaveLength(1536)
      const above = yield* embed(sim.url, { model: m, input: "x", dimensions: 1537 })
      expect(above.json.error).toMatchObject({ param: "dimensions", code: "integer_above_max_value" })
      const below = yield* embed(sim.url, { model: m, input: "x", dimensions: 0 })
      expect(below.json.error).toMatchObject({ param: "dimensions", code: "integer_below_min_value" })
      const format = yield* embed(sim.url, { model: m, input: "x", encoding_format: "int8" })
      expect(format.json.error).toMatchObject({ param: "encoding_format", code: "invalid_value" })
      const missing = yield* embed(sim.url, { model: m })
      expect(missing.json.error).toMatchObject({ param: "input", code: "missing_required_parameter" })
      expect((yield* sim.stats).successes).toBe(1)
    })
  )
})

describe("embeddings usage and rate limits", () => {
  it.effect("stats count embedded inputs and inputs embedded twice (same model, input and dimensions)", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const m = "text-embedding-3-small"
      yield* embed(sim.url, { model: m, input: ["a", "b", "a"], dimensions: 8 })
      expect(yield* sim.stats).toMatchObject({ embeddedInputs: 3, duplicateEmbeddedInputs: 1 })
      yield* embed(sim.url, { model: m, input: ["b"], dimensions: 8 })
      yield* embed(sim.url, { model: m, input: ["a"], dimensions: 16 })
      yield* embed(sim.url, { model: "text-embedding-3-large", input: ["a"], dimensions: 8 })
      yield* embed(sim.url, { model: m, input: [[1, 2]], dimensions: 8 })
      yield* embed(sim.url, { model: m, input: "1,2", dimensions: 8 })
      expect(yield* sim.stats).toMatchObject({ embeddedInputs: 8, duplicateEmbeddedInputs: 2 })
      yield* embed(sim.url, { model: m, input: ["b", ""], dimensions: 8 }) // a 400: nothing embedded
      expect(yield* sim.stats).toMatchObject({ embeddedInputs: 8, duplicateEmbeddedInputs: 2 })
      yield* sim.reset
      yield* embed(sim.url, { model: m, input: ["a"], dimensions: 8 })
      expect(yield* sim.stats).toMatchObject({ embeddedInputs: 1, duplicateEmbeddedInputs: 0 })
    })
  )

  it.effect("prompt_tokens is the chat estimate summed over inputs, and is billed", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const input = ["héllo", "a longer text of some forty characters..", [5, 6, 7]]
      const r = yield* embed(sim.url, { model: "text-embedding-3-small", input })
      const expected = Math.ceil(5 / 4) + Math.ceil(40 / 4) + 3
      expect(r.json.usage).toEqual({ prompt_tokens: expected, total_tokens: expected })
      const stats = yield* sim.stats
      expect(stats.promptTokens).toBe(expected)
      expect(stats.completionTokens).toBe(0)
      expect(stats.costUsd).toBeCloseTo((expected * 0.02) / 1_000_000, 12)
    })
  )

  it.effect("embeddings go through the token bucket: a second request within the second is a 429 tokens", () =>
    Effect.gen(function* () {
      let now = 1_000_000
      const sim = yield* Simulator.start({ tpm: 60_000, clock: () => now }) // 1,000 tokens per ~1 s window
      const body = { model: "text-embedding-3-small", input: "a".repeat(4 * 800), dimensions: 1 } // 800 tokens
      const first = yield* embed(sim.url, body)
      expect(first.status).toBe(200)
      expect(first.headers.get("x-ratelimit-limit-tokens")).toBe("60000")
      expect(first.headers.get("x-ratelimit-remaining-tokens")).toBe("59200")
      const second = yield* embed(sim.url, body)
      expect(second.status).toBe(429)
      expect(second.json.error).toMatchObject({ type: "tokens", code: "rate_limit_exceeded" })
      expect(Number(second.headers.get("retry-after-ms"))).toBe(600)
      now += 600
      expect((yield* embed(sim.url, body)).status).toBe(200)
      expect((yield* sim.stats).rateLimited).toBe(1)
    })
  )
})
