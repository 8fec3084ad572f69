import * as Path from "node:path"
import { describe, expect } from "@effect/vitest"
import { live } from "./support/fileSystem.js"
import { Budget, Credentials, Gates, OpenAi, OpenAiConfig, Pricing } from "@sluice/core"
import { Simulator } from "@sluice/simulator"
import { Effect, Layer, Stream } from "effect"
import { Batch } from "../src/index.js"
import { tempDir as scopedTempDir } from "./support/tempDir.js"

const tempDir = scopedTempDir("sluice-batch-cost-")

const line = (i: number) =>
  JSON.stringify(
    i % 4 === 3
      ? {
          custom_id: `e-${i}`,
          method: "POST",
          url: "/v1/embeddings",
          body: { model: "text-embedding-3-small", input: `t ${i}` }
        }
      : {
          custom_id: `c-${i}`,
          method: "POST",
          url: "/v1/chat/completions",
          body: { model: "gpt-4o-mini", messages: [{ role: "user", content: `question ${i}` }], max_tokens: 24 }
        }
  )

// Negotiated prices far from the built-in table: a summary priced from the table would be off by orders of magnitude.
const negotiated = Pricing.layer({
  overrides: { "gpt-4o-mini": { input: 70, cachedInput: 7, output: 110 }, "text-embedding-3-small": { input: 30 } }
})

describe("Batch cost", () => {
  live("with a custom Pricing, the summary's cost_usd is the spend the Budget settled for the same run", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ seed: 5, faults: { rate500: 0.05, rateReset: 0.03 } })
      const dir = yield* tempDir
      const services = Layer.mergeAll(negotiated, Budget.layer({ ceilingUsd: 1_000 }))
      const layer = OpenAi.layer.pipe(
        Layer.provideMerge(Batch.layerMeter),
        Layer.provideMerge(Gates.layer().pipe(Layer.provideMerge(services))),
        Layer.provide(OpenAiConfig.layer({ baseUrl: sim.url, retry: { baseDelayMs: 5, maxDelayMs: 50 } })),
        Layer.provide(Credentials.static("sk-test"))
      )
      const { summary, spent } = yield* Effect.gen(function* () {
        const summary = yield* Batch.run(Stream.fromIterable(Array.from({ length: 60 }, (_, i) => line(i))), {
          output: Path.join(dir, "out.jsonl"),
          concurrency: 8
        })
        const budget = yield* Budget.Budget
        return { summary, spent: yield* budget.spent("global") }
      }).pipe(Effect.provide(layer))
      expect(summary).toMatchObject({ total: 60, succeeded: 60, failed: 0 })
      expect(summary.retries).toBeGreaterThan(0)
      expect(spent.usd).toBeGreaterThan(0.01)
      // The summary rounds to 1e-6 USD; the budget does not.
      expect(Math.abs(summary.cost_usd - spent.usd)).toBeLessThan(1e-6)
      expect(summary.prompt_tokens + summary.completion_tokens).toBe(spent.tokens)
    })
  )
})
