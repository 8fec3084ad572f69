/**
 * The one mapping from the server's usage objects to `Usage`, and the one cost formula. Not public: see
 * `Usage.ts`.
 */
import type { Discounts, Price, Usage, WireUsage } from "../Usage.js"

/** Half price for Batch API requests, input and output alike. */
export const batchDiscount = 0.5

const count = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0)

export const fromWire = (usage: WireUsage | null | undefined): Usage | undefined => {
  if (usage == null || typeof usage !== "object") return undefined
  // Chat Completions' names, else the Responses API's (input/output tokens, reasoning counted in the output).
  const promptTokens = count(usage.prompt_tokens ?? usage.input_tokens)
  const details = usage.prompt_tokens_details ?? usage.input_tokens_details
  return {
    promptTokens,
    completionTokens: count(usage.completion_tokens ?? usage.output_tokens),
    // Cached tokens are part of the prompt: never more than it, whatever a server says.
    cachedPromptTokens: Math.min(promptTokens, count(details?.cached_tokens))
  }
}

export const fromBody = (body: unknown): Usage | undefined =>
  typeof body === "object" && body !== null
    ? fromWire((body as { readonly usage?: WireUsage | null }).usage ?? undefined)
    : undefined

export const streamed = (estimatedPromptTokens: number, outputChars: number): Usage => ({
  promptTokens: estimatedPromptTokens,
  completionTokens: Math.ceil(outputChars / 4),
  cachedPromptTokens: 0
})

export const total = (usage: Usage): number => usage.promptTokens + usage.completionTokens

export const cost = (usage: Usage, price: Price, discounts: Discounts = {}): number => {
  const cached = discounts.cached === false ? 0 : Math.min(Math.max(0, usage.cachedPromptTokens), usage.promptTokens)
  const uncached = usage.promptTokens - cached
  // A model's own Batch prices win over the discount.
  const rates = discounts.batch === true && price.batch !== undefined ? price.batch : price
  const usd =
    (uncached * rates.input +
      cached * (rates.cachedInput ?? rates.input) +
      usage.completionTokens * (rates.output ?? 0)) /
    1_000_000
  return discounts.batch === true && price.batch === undefined ? usd * batchDiscount : usd
}
