import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import * as Pricing from "../src/Pricing.js"

const usage = (promptTokens: number, completionTokens: number, cachedPromptTokens = 0) => ({
  promptTokens,
  completionTokens,
  cachedPromptTokens
})

/** 0 … 10M, like fast-check's `nat(1e7)`. */
const tokens = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1e7 }))

describe("Pricing", () => {
  it("prices gpt-4o per 1M tokens: input, cached input and output", () => {
    expect(Pricing.cost("gpt-4o", usage(1_000_000, 0))).toBeCloseTo(2.5)
    expect(Pricing.cost("gpt-4o", usage(0, 1_000_000))).toBeCloseTo(10)
    expect(Pricing.cost("gpt-4o", usage(1_000_000, 0, 1_000_000))).toBeCloseTo(1.25)
    expect(Pricing.cost("text-embedding-3-small", usage(1_000_000, 0))).toBeCloseTo(0.02)
  })

  it("halves the price for batch", () => {
    expect(Pricing.cost("gpt-4o-mini", usage(1_000_000, 1_000_000), { batch: true })).toBeCloseTo((0.15 + 0.6) / 2)
  })

  it("resolves dated snapshots conservatively", () => {
    expect(Pricing.resolve(Pricing.table, "gpt-4o-2024-08-06")).toBe("gpt-4o")
    expect(Pricing.resolve(Pricing.table, "gpt-4o-2024-05-13")).toBe("gpt-4o-2024-05-13")
    expect(Pricing.resolve(Pricing.table, "gpt-4-0613")).toBe("gpt-4")
    expect(Pricing.resolve(Pricing.table, "gpt-4o-audio-preview")).toBeUndefined()
    expect(Pricing.resolve(Pricing.table, "ft:gpt-4o-mini:acme::x")).toBeUndefined()
    expect(Pricing.resolve(Pricing.table, "llama-3-70b")).toBeUndefined()
    expect(Pricing.cost("my-local-model", usage(10, 10))).toBeUndefined()
  })

  it.effect("current: the provided Pricing when there is one, else the built-in table", () =>
    Effect.gen(function* () {
      const custom = yield* Effect.provide(
        Pricing.current,
        Pricing.layer({ overrides: { "house-model": { input: 1, output: 2 } }, replaceTable: true })
      )
      expect(Option.getOrUndefined(custom.price("house-model"))).toEqual({ input: 1, output: 2 })
      expect(Option.isNone(custom.price("gpt-4o"))).toBe(true)
      const fallback = yield* Pricing.current
      expect(Option.isNone(fallback.price("house-model"))).toBe(true)
      expect(Option.getOrUndefined(fallback.cost("gpt-4o", usage(1_000_000, 0)))).toBeCloseTo(2.5)
    })
  )

  it.effect("overrides add and replace prices through the layer", () =>
    Effect.gen(function* () {
      const pricing = yield* Pricing.Pricing
      expect(Option.getOrThrow(pricing.cost("llama-3-70b", usage(1_000_000, 0)))).toBeCloseTo(0.5)
      expect(Option.getOrThrow(pricing.cost("gpt-4o-2024-11-20", usage(1_000_000, 0)))).toBeCloseTo(1)
      expect(Option.isNone(pricing.cost("unknown", usage(1, 1)))).toBe(true)
    }).pipe(
      Effect.provide(Pricing.layer({ overrides: { "llama-3-70b": { input: 0.5, output: 1 }, "gpt-4o": { input: 1 } } }))
    )
  )

  it.prop(
    "cost is monotone in tokens and never negative",
    [tokens, tokens, tokens, Schema.Literals(Object.keys(Pricing.table))],
    ([prompt, completion, cached, model]) => {
      const base = Pricing.cost(model, usage(prompt, completion, Math.min(cached, prompt)))!
      const more = Pricing.cost(model, usage(prompt + 1000, completion + 1000, Math.min(cached, prompt)))!
      expect(base).toBeGreaterThanOrEqual(0)
      expect(more).toBeGreaterThanOrEqual(base)
    }
  )
})
