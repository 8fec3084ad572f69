import { describe, expect, it } from "@effect/vitest"
import { Pricing, Usage } from "@sluice/core"

describe("Usage", () => {
  it("maps every server shape, cached prompt tokens included", () => {
    const chat = { usage: { prompt_tokens: 100, completion_tokens: 20, prompt_tokens_details: { cached_tokens: 60 } } }
    expect(Usage.fromBody(chat)).toEqual({ promptTokens: 100, completionTokens: 20, cachedPromptTokens: 60 })
    // embeddings: no completion tokens
    expect(Usage.fromBody({ usage: { prompt_tokens: 8, total_tokens: 8 } })).toEqual({
      promptTokens: 8,
      completionTokens: 0,
      cachedPromptTokens: 0
    })
    // a stream's last chunk, a batch output line's body
    expect(Usage.fromWire({ prompt_tokens: 5, completion_tokens: 3, prompt_tokens_details: null })).toEqual({
      promptTokens: 5,
      completionTokens: 3,
      cachedPromptTokens: 0
    })
    expect(Usage.fromBody({ usage: null })).toBeUndefined()
    expect(Usage.fromBody("text")).toBeUndefined()
    // nonsense from a server: counts are never negative, cached never exceeds the prompt
    expect(
      Usage.fromWire({ prompt_tokens: 10, completion_tokens: -4, prompt_tokens_details: { cached_tokens: 50 } })
    ).toEqual({ promptTokens: 10, completionTokens: 0, cachedPromptTokens: 10 })
  })

  it("one cost: cached and batch discounts, the same as Pricing's", () => {
    const price = { input: 2, cachedInput: 0.5, output: 8 }
    const usage = { promptTokens: 1_000_000, completionTokens: 500_000, cachedPromptTokens: 400_000 }
    expect(Usage.cost(usage, price)).toBeCloseTo(0.6 * 2 + 0.4 * 0.5 + 0.5 * 8, 12)
    expect(Usage.cost(usage, price, { batch: true })).toBeCloseTo((1.2 + 0.2 + 4) * Usage.batchDiscount, 12)
    expect(Usage.cost(usage, price, { cached: false })).toBeCloseTo(2 + 4, 12)
    expect(Pricing.costAt(price, usage, { batch: true })).toBe(Usage.cost(usage, price, { batch: true }))
    expect(Usage.cost(usage, { input: 0.02 })).toBeCloseTo(0.02, 12)
    expect(Usage.total(usage)).toBe(1_500_000)
    expect(Usage.streamed(12, 41)).toEqual({ promptTokens: 12, completionTokens: 11, cachedPromptTokens: 0 })
  })
})
