/**
 * Embeddings at scale, in small: 1,000 documents (a fifth of them repeats) become vectors in input order through
 * every gate, with a persistent cache. The second pass over the same documents is answered from the cache: no
 * request. Then the nearest document to a question, by cosine similarity.
 *
 *   npx tsx --conditions=@sluice/source examples/embeddings.ts
 */
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { pathToFileURL } from "node:url"
import { Credentials, Gates, OpenAi, OpenAiConfig } from "@sluice/core"
import { Simulator } from "@sluice/simulator"
import { Embed } from "@sluice/stream"
import { Effect, Layer, Stream } from "effect"

const model = "text-embedding-3-small"
const topics = ["locks", "weirs", "tides", "floods", "canals"]

/** 1,000 documents; every fifth repeats an earlier text. */
export const documents: ReadonlyArray<Embed.Document> = Array.from({ length: 1000 }, (_, i) => {
  const k = i % 5 === 4 ? i - 4 : i
  return { id: `doc-${i}`, text: `Note ${k}: how ${topics[k % topics.length]} hold water back.` }
})

const client = (baseUrl: string) =>
  OpenAi.layer.pipe(
    Layer.provide(Gates.layerDefaults({ budget: { ceilingUsd: 1 } })),
    Layer.provide(OpenAiConfig.layer({ baseUrl })),
    Layer.provide(Credentials.static("sk-embeddings-example"))
  )

const cosine = (a: Float32Array, b: Float32Array) => {
  let dot = 0
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!
  return dot // the API's vectors have unit length
}

/** Embeds the documents twice with one cache; returns both passes' counters and the nearest document. */
export const program = (cacheDir: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const cache = yield* Embed.openCache(cacheDir)
      const pass = Effect.gen(function* () {
        const stats = Embed.makeStats()
        const vectors = yield* Stream.runCollect(
          Embed.embed(Stream.fromIterable(documents), { model, dimensions: 64, cache, stats })
        )
        return { vectors, stats }
      })
      const first = yield* pass
      const second = yield* pass
      const [question] = yield* Stream.runCollect(
        Embed.embed(Stream.make({ id: "q", text: documents[42]!.text }), { model, dimensions: 64, cache })
      )
      const nearest = first.vectors.reduce((best, e) =>
        cosine(e.vector, question!.vector) > cosine(best.vector, question!.vector) ? e : best
      )
      return { first: first.stats, second: second.stats, vectors: first.vectors, nearest: nearest.id }
    })
  )

/** Against a simulator on loopback, with a fresh cache directory. */
export const main = Effect.scoped(
  Effect.gen(function* () {
    const sim = yield* Simulator.start({ tpm: 1_000_000 })
    const dir = yield* Effect.acquireRelease(
      Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "sluice-embeddings-example-"))),
      (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
    )
    const result = yield* Effect.provide(program(dir), client(sim.url))
    return { ...result, requests: (yield* sim.stats).byPath["POST /v1/embeddings"] ?? 0 }
  })
)

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  Effect.runPromise(main).then(({ first, second, requests, nearest }) =>
    console.log(
      `first pass: ${first.inputsSent} texts sent in ${first.requests} request(s); second pass: ${second.requests} requests, ${second.cacheHits} cache hits; ${requests} requests in all; nearest to doc-42: ${nearest}`
    )
  )
}
