import { expect, it } from "@effect/vitest"
import { Simulator } from "@sluice/simulator"
import { Effect } from "effect"
import { documents, main } from "../embeddings.js"

it.live("1,000 documents in order, repeats sent once, the second pass from the cache, the nearest is itself", () =>
  Effect.gen(function* () {
    const { first, second, vectors, requests, nearest } = yield* main
    expect(vectors.map((e) => e.id)).toEqual(documents.map((d) => d.id))
    for (const [i, e] of vectors.entries()) {
      expect(Array.from(e.vector)).toEqual(
        Array.from(Simulator.embeddingOf("text-embedding-3-small", documents[i]!.text, 64))
      )
    }
    expect(first.inputsSent).toBe(800)
    expect(first.requests).toBeLessThanOrEqual(3)
    expect(second.requests).toBe(0)
    expect(second.cacheHits).toBe(1000)
    expect(requests).toBe(first.requests)
    expect(nearest).toBe("doc-42")
  })
)
