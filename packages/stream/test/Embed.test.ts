import { describe, expect, it } from "@effect/vitest"
import { Credentials, Gates, OpenAi, OpenAiConfig } from "@sluice/core"
import { Simulator } from "@sluice/simulator"
import { Effect, Layer, Stream } from "effect"
import { Embed } from "../src/index.js"
import { tempDir as scopedTempDir } from "./support/tempDir.js"

const client = (url: string, gates: Gates.DefaultsOptions = {}) =>
  OpenAi.layer.pipe(
    Layer.provide(Gates.layerDefaults({ modelLifecycle: false, ...gates })),
    Layer.provide(OpenAiConfig.layer({ baseUrl: url, retry: { baseDelayMs: 20, maxDelayMs: 500 } })),
    Layer.provide(Credentials.static("sk-test"))
  )

const tempDir = scopedTempDir("sluice-embed-test-")

/** Documents whose vector is not the simulator's for their text. */
const wrong = (out: ReadonlyArray<Embed.Embedded>, input: ReadonlyArray<Embed.Document>, dimensions: number) =>
  out.filter((e, i) => {
    const expected = Simulator.embeddingOf("text-embedding-3-small", input[i]!.text, dimensions)
    return e.id !== input[i]!.id || !Buffer.from(e.vector.buffer).equals(Buffer.from(expected.buffer))
  }).length

const docs = (n: number, distinct = n) =>
  Array.from({ length: n }, (_, i) => ({ id: `d${i}`, text: `document number ${i % distinct} about sluices` }))

describe("Embed.embed", () => {
  it.live("packs, dedupes and keeps input order", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const stats = Embed.makeStats()
      const out = yield* Stream.runCollect(
        Embed.embed(Stream.fromIterable(docs(5000, 4000)), { model: "text-embedding-3-small", dimensions: 64, stats })
      ).pipe(Effect.provide(client(sim.url)))
      expect(out.map((e) => e.id)).toEqual(docs(5000).map((d) => d.id))
      expect(wrong(out, docs(5000, 4000), 64)).toBe(0)
      expect(stats.inputsSent).toBe(4000)
      const s = yield* sim.stats
      expect(s.byPath["POST /v1/embeddings"]).toBeLessThanOrEqual(10)
    }).pipe(Effect.scoped)
  )

  it.live("every vector right and in order through faults and a token limit", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({
        tpm: 600_000,
        faults: { rate500: 0.1, rateReset: 0.05, rate503: 0.05 }
      })
      const input = docs(6000, 4500)
      const stats = Embed.makeStats()
      const out = yield* Stream.runCollect(
        Embed.embed(Stream.fromIterable(input), { model: "text-embedding-3-small", dimensions: 8, stats })
      ).pipe(Effect.provide(client(sim.url)))
      expect(out.map((e) => e.id)).toEqual(input.map((d) => d.id))
      expect(wrong(out, input, 8)).toBe(0)
      const s = yield* sim.stats
      expect(Object.values(s.faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
      expect(stats.inputsSent).toBe(4500)
      // One pack of 2,048 first, then packs of half the limiter's burst: 600,000 / 60 × 0.8 / 2 = 4,000 tokens.
      expect(stats.requests).toBeGreaterThanOrEqual(5)
    }).pipe(Effect.scoped)
  )

  it.live("a pack with an input the server refuses is bisected down to it", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const input = docs(256)
      // 40,000 letters: few tokens for the client's tokenizer, 10,000 for the simulator's count (over 8,192).
      input[100] = { id: "poison", text: "a".repeat(40_000) }
      const stats = Embed.makeStats()
      const error = yield* Effect.flip(
        Stream.runCollect(
          Embed.embed(Stream.fromIterable(input), { model: "text-embedding-3-small", dimensions: 8, stats })
        ).pipe(Effect.provide(client(sim.url)))
      )
      expect(error._tag).toBe("InputRejected")
      expect(error.message).toContain('"poison"')
      expect(error.message).toContain("maximum context length")
      expect(stats.bisections).toBeGreaterThanOrEqual(8)
      expect(stats.bisections).toBeLessThanOrEqual(12)
    }).pipe(Effect.scoped)
  )

  it.live("a rerun with the cache sends no request", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const dir = yield* tempDir
      const run = (stats: Embed.Stats) =>
        Effect.scoped(
          Effect.flatMap(Embed.openCache(dir), (cache) =>
            Stream.runCollect(
              Embed.embed(Stream.fromIterable(docs(3000, 2500)), {
                model: "text-embedding-3-small",
                dimensions: 32,
                cache,
                stats
              })
            )
          )
        ).pipe(Effect.provide(client(sim.url)))
      const first = Embed.makeStats()
      const a = yield* run(first)
      const sent = (yield* sim.stats).byPath["POST /v1/embeddings"]
      const second = Embed.makeStats()
      const b = yield* run(second)
      expect((yield* sim.stats).byPath["POST /v1/embeddings"]).toBe(sent)
      expect(second.requests).toBe(0)
      expect(second.cacheHits).toBe(3000)
      expect(first.inputsSent).toBe(2500)
      expect(b.map((e) => [e.id, Array.from(e.vector)])).toEqual(a.map((e) => [e.id, Array.from(e.vector)]))
    }).pipe(Effect.scoped)
  )

  it.live("an over-long input fails naming its id, or is truncated, or split and averaged", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const long = "word ".repeat(50)
      const input = [
        { id: "short", text: "a short one" },
        { id: "long-1", text: long }
      ]
      const run = (overLong: Embed.OverLong) =>
        Stream.runCollect(
          Embed.embed(Stream.fromIterable(input), {
            model: "text-embedding-3-small",
            dimensions: 16,
            maxTokensPerInput: 20,
            overLong
          })
        ).pipe(Effect.provide(client(sim.url)))
      const error = yield* Effect.flip(run("fail"))
      expect(error._tag).toBe("InputTooLong")
      expect(error.message).toContain('"long-1"')
      const truncated = yield* run("truncate")
      const split = yield* run("split")
      expect(truncated.map((e) => e.id)).toEqual(["short", "long-1"])
      expect(split.map((e) => e.id)).toEqual(["short", "long-1"])
      const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0))
      expect(norm(split[1]!.vector)).toBeCloseTo(1, 5)
      expect(Array.from(split[1]!.vector)).not.toEqual(Array.from(truncated[1]!.vector))
    }).pipe(Effect.scoped)
  )
})
