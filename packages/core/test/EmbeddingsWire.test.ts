/**
 * The embeddings response read from its bytes (internal/embeddingsWire.ts) against the standard path (the whole
 * body as text, `JSON.parse`, `Embeddings.EmbeddingList`): equal on random responses in the simulator's shape and
 * on the simulator's own answers, and the standard path's value or error whenever the fast path steps aside.
 */
import { describe, expect, it } from "@effect/vitest"
import { Embeddings, OpenAi, Transport } from "@sluice/core"
import { Embeddings as SimEmbeddings, Simulator } from "@sluice/simulator"
import { Effect, Exit, Layer, Stream } from "effect"
import * as fc from "fast-check"
import { jsonDecoder } from "../src/internal/client/wire.js"
import { fromBytes, scan, withFastPath } from "../src/internal/embeddingsWire.js"
import * as OwnedBody from "../src/internal/transport/ownedBody.js"
import { client } from "./support/servers.js"

const meta = { status: 200, requestId: "req_1" }
const standard = jsonDecoder(Embeddings.EmbeddingList, "POST /embeddings")
const decode = withFastPath(standard)
const encoder = new TextEncoder()
const base64Of = (floats: Float32Array) =>
  Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString("base64")

/** A value with every vector as its class and bytes, so NaN payloads and the class both count. */
const plain = (value: unknown): unknown => {
  if (value instanceof Float32Array) {
    return {
      class: value.constructor.name,
      bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex")
    }
  }
  if (Array.isArray(value)) return value.map(plain)
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, plain(field)]))
  }
  return value
}

const standardExit = (bytes: Uint8Array) => Effect.runSync(Effect.exit(standard(bytes, meta)))
const fastExit = (bytes: Uint8Array) => Effect.runSync(Effect.exit(decode(bytes, meta)))

/** Any float32 bit pattern (NaNs, infinities, subnormals, -0). */
const vector = fc
  .array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 40 })
  .map((bits) => new Float32Array(new Uint32Array(bits).buffer))
const extra = fc.dictionary(
  fc
    .string({ maxLength: 12 })
    .filter((key) => !["object", "index", "embedding", "data", "model", "usage"].includes(key)),
  fc.jsonValue({ maxDepth: 2 }),
  { maxKeys: 3 }
)
/** What the simulator's encoder sends (`embeddingsJson`), plus fields and whitespace other servers add. */
const response = fc.record({
  vectors: fc.array(fc.tuple(vector, extra), { minLength: 1, maxLength: 12 }),
  top: extra,
  model: fc.string({ maxLength: 30 }),
  usage: fc.option(fc.record({ prompt_tokens: fc.nat(), total_tokens: fc.nat() }), { nil: undefined }),
  indent: fc.constantFrom(undefined, 0, 1, 2, "\t")
})
type Response = typeof response extends fc.Arbitrary<infer T> ? T : never
const bodyOf = (r: Response): string =>
  JSON.stringify(
    {
      object: "list",
      data: r.vectors.map(([floats, fields], index) => ({
        object: "embedding",
        index,
        embedding: base64Of(floats),
        ...fields
      })),
      model: r.model,
      ...(r.usage === undefined ? {} : { usage: r.usage }),
      ...r.top
    },
    null,
    r.indent
  )

describe("embeddings from the response bytes", () => {
  it("equals the standard path on random base64 responses, and takes the fast path for them", () => {
    fc.assert(
      fc.property(response, (r) => {
        const bytes = encoder.encode(bodyOf(r))
        const fast = fromBytes(bytes)
        expect(fast).toBeDefined()
        const exit = standardExit(bytes)
        expect(Exit.isSuccess(exit)).toBe(true)
        if (Exit.isSuccess(exit)) expect(plain(fast)).toEqual(plain(exit.value))
        for (const item of fast?.data ?? []) expect(item.embedding).toBeInstanceOf(Embeddings.Float32Vector)
      }),
      { numRuns: 300 }
    )
  })

  it("gives the standard path's value or error for unusual bodies (the fast path steps aside)", () => {
    const edits: ReadonlyArray<(body: string) => string> = [
      (body) => body.replace(/"embedding":"([A-Za-z0-9+]*)\//, '"embedding":"$1\\/'), // an escaped "/"
      (body) => body.replace(/"embedding":"[^"]*"/, '"embedding":[0.5,-1]'), // one float vector
      (body) => body.replace(/"embedding":"[^"]*"/, '"embedding":"AAAA"'), // 3 bytes: not whole float32s
      (body) => body.replace(/"embedding":"[^"]*"/, '"embedding":"AAAAAA"'), // unpadded
      (body) => body.replace(/"embedding":"[^"]*"/, '"embedding":"AA-_AA=="'), // URL alphabet
      (body) => body.replace(/"embedding":"[^"]*"/, '"embedding":"AAAA AAA="'), // whitespace inside
      (body) => body.replace(/"embedding":"[^"]*"/, '"embedding":7'), // not a vector
      (body) => body.replace(/"embedding":"[^"]*",?/, ""), // no embedding
      (body) => body.replace(/"embedding":"([^"]*)"/, '"embedding":"$1","embedding":"AAAAAA=="'), // twice
      (body) => body.replace('"data":', '"data":[],"data":'), // data twice
      (body) => body.replace(/"model":"[^"]*"/, '"model":5'), // schema problem in the rest
      (body) => body.replace(/"index":0/, '"index":"zero"'),
      (body) => body.slice(0, -1), // cut short
      (body) => `[${body}]`,
      (body) => `\uFEFF${body}`,
      (body) => body.replace('"object":"list"', '"object":"list","meta":{"embedding":"AAAAAA=="}') // nested elsewhere
    ]
    fc.assert(
      fc.property(response, fc.constantFrom(...edits), (r, edit) => {
        const bytes = encoder.encode(edit(bodyOf(r)))
        expect(plain(fastExit(bytes))).toEqual(plain(standardExit(bytes)))
      }),
      { numRuns: 400 }
    )
  })

  it("steps aside for float vectors and escapes, and finds the vectors of the plain layout", () => {
    const floats = encoder.encode('{"data":[{"embedding":[1,2]}],"model":"m"}')
    expect(scan(floats)).toBeUndefined()
    const escaped = encoder.encode('{"data":[{"embedding":"AAAA\\/AAA"}],"model":"m"}')
    expect(fromBytes(escaped)).toBeUndefined()
    const plainBody = '{ "data" : [ { "embedding" : "AACAPw==" } , {"x":{"embedding":"no"},"embedding":""} ] }'
    const first = plainBody.indexOf("AACAPw==")
    const second = plainBody.lastIndexOf('""') + 1
    expect(scan(encoder.encode(plainBody))).toEqual([
      { item: 0, start: first, end: first + 8 },
      { item: 1, start: second, end: second }
    ])
    const decoded = fromBytes(encoder.encode(plainBody))
    expect(Array.from(decoded?.data[0]?.embedding ?? [])).toEqual([1])
    expect(decoded?.data[1]).toEqual({ index: 0, x: { embedding: "no" }, embedding: new Embeddings.Float32Vector(0) })
  })
})

describe("a vector's numbers", () => {
  it("toNumbers and Float32Vector's JSON give what Array.from gives, for any float32", () => {
    fc.assert(
      fc.property(vector, (floats) => {
        const numbers = Embeddings.toNumbers(floats)
        expect(numbers).toEqual(Array.from(floats))
        const text = JSON.stringify(Array.from(floats))
        expect(JSON.stringify(numbers)).toBe(text)
        expect(JSON.stringify(new Embeddings.Float32Vector(floats))).toBe(text)
      }),
      { numRuns: 300 }
    )
  })
})

describe("the simulator's embeddings answers", () => {
  const key = "sk-test-key-0123456789"
  const texts = Array.from({ length: 300 }, (_, i) => `document ${i} ${"é".repeat(i % 7)} ${"word ".repeat(i % 13)}`)

  it.live("raw base64 bodies decode from bytes (fast path taken) equal to the standard path", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ keys: [key] })
      for (const dimensions of [1, 3, 256, 1536]) {
        const bytes = yield* Effect.promise(async () => {
          const response = await fetch(`${sim.url}/embeddings`, {
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: JSON.stringify({
              model: "text-embedding-3-small",
              input: texts,
              encoding_format: "base64",
              dimensions
            })
          })
          expect(response.status).toBe(200)
          return new Uint8Array(await response.arrayBuffer())
        })
        const fast = fromBytes(bytes)
        expect(fast?.data.length).toBe(texts.length)
        const exit = standardExit(bytes)
        if (Exit.isFailure(exit)) throw new Error("standard path failed")
        expect(plain(fast)).toEqual(plain(exit.value))
      }
    })
  )

  it.live("embeddings.create returns the simulator's vectors, base64 and float alike", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ keys: [key] })
      const model = "text-embedding-3-small"
      const [{ body: base64 }, { body: float }] = yield* Effect.provide(
        Effect.flatMap(OpenAi.OpenAi, (o) =>
          Effect.all([
            o.embeddings.create({ model, input: texts, encoding_format: "base64", dimensions: 64 }),
            o.embeddings.create({ model, input: texts, encoding_format: "float", dimensions: 64 })
          ])
        ),
        client(sim.url)
      )
      texts.forEach((text, i) => {
        const expected = Array.from(SimEmbeddings.embeddingOf(model, text, 64))
        expect(base64.data[i]?.embedding).toBeInstanceOf(Embeddings.Float32Vector)
        expect(Array.from(base64.data[i]?.embedding ?? [])).toEqual(expected)
        expect(Array.from(Float32Array.from(float.data[i]?.embedding ?? []))).toEqual(expected)
      })
      expect(base64.usage?.prompt_tokens).toBe(float.usage?.prompt_tokens)
      expect(base64.model).toBe(model)
    })
  )
})

describe("releasing a decoded body", () => {
  const body = (n: number) =>
    encoder.encode(
      JSON.stringify({
        object: "list",
        model: "text-embedding-3-small",
        usage: { prompt_tokens: n, total_tokens: n },
        data: Array.from({ length: n }, (_, i) => ({
          object: "embedding",
          index: i,
          embedding: base64Of(Float32Array.of(i, 0.5, -1))
        }))
      })
    )

  it("a body the library's transport owns is freed once decoded; a caller's bytes, or a view, are left alone", () => {
    const owned = OwnedBody.own(body(3))
    const fromCaller = body(3)
    const big = body(3)
    const view = OwnedBody.own(new Uint8Array(big.buffer, 0, big.byteLength))
    for (const bytes of [owned, fromCaller]) {
      const exit = Effect.runSync(Effect.exit(decode(bytes, meta)))
      if (Exit.isFailure(exit)) throw new Error("decode failed")
      expect(Array.from(exit.value.data[2]?.embedding as Float32Array)).toEqual([2, 0.5, -1])
    }
    expect(owned.byteLength).toBe(0) // detached: its memory went at once
    expect(fromCaller.byteLength).toBeGreaterThan(0)
    // an owned body that is not its whole buffer is not freed (the rest of the buffer may be someone's)
    const sliced = OwnedBody.own(new Uint8Array(new ArrayBuffer(big.byteLength + 8), 0, big.byteLength))
    sliced.set(big)
    Effect.runSync(decode(sliced, meta))
    expect(sliced.byteLength).toBe(big.byteLength)
    Effect.runSync(decode(view, meta))
    expect(view.byteLength).toBe(0)
  })

  it.live("a caller's transport that hands out the same bytes twice gets the same answer twice", () =>
    Effect.gen(function* () {
      const bytes = body(2048)
      const transport = Transport.Transport.of({
        send: () =>
          Effect.succeed({
            status: 200,
            headers: { "content-type": "application/json", "x-request-id": "req_replay" },
            stream: Stream.make(bytes),
            contentLength: bytes.byteLength,
            bytes: Effect.succeed(bytes)
          })
      })
      const create = Effect.flatMap(OpenAi.OpenAi, (o) =>
        o.embeddings.create({ model: "text-embedding-3-small", input: ["a"], encoding_format: "base64" })
      )
      const layer = client("http://127.0.0.1:9").pipe(Layer.provide(Layer.succeed(Transport.Transport, transport)))
      const [first, second] = yield* Effect.provide(Effect.all([create, create]), layer)
      expect(bytes.byteLength).toBeGreaterThan(0)
      expect(plain(second?.body)).toEqual(plain(first?.body))
      expect(first?.body.data.length).toBe(2048)
    })
  )

  it.live("the undici transport's large answers decode, and the next call on the connection is unaffected", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const input = Array.from({ length: 2048 }, (_, i) => `text ${i}`)
      const model = "text-embedding-3-small"
      const lists = yield* Effect.provide(
        Effect.flatMap(OpenAi.OpenAi, (o) =>
          Effect.all(
            Array.from({ length: 4 }, () =>
              o.embeddings.create({ model, input, encoding_format: "base64", dimensions: 256 })
            )
          )
        ),
        client(sim.url)
      )
      for (const list of lists) {
        expect(list.body.data.length).toBe(2048)
        expect(Array.from(list.body.data[7]?.embedding as Float32Array)).toEqual(
          Array.from(SimEmbeddings.embeddingOf(model, input[7]!, 256))
        )
      }
    })
  )
})
