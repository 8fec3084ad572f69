/**
 * The tokens and cost of a job's finished requests, from each response body's usage (core's `Usage`) and the
 * caller's `Pricing` (the Batch API's discount for `remote`).
 *
 * @internal
 */
import type * as Pricing from "@sluice/core/Pricing"
import * as Usage from "@sluice/core/Usage"
import * as Option from "effect/Option"

/** @internal */
export interface Tally {
  promptTokens: number
  completionTokens: number
  costUsd: number
}

/** The model a request body names, if any. @internal */
export const modelOf = (body: unknown): string | undefined => {
  const model = (body as { model?: unknown } | undefined)?.model
  return typeof model === "string" ? model : undefined
}

/** Adds a response body's usage, and its cost for `model` (nothing when the price is unknown). @internal */
export const addUsage = (
  tally: Tally,
  pricing: Pricing.Pricing["Service"],
  body: unknown,
  model: string | undefined,
  batch = false
): void => {
  const usage = Usage.fromBody(body)
  if (usage === undefined) return
  tally.promptTokens += usage.promptTokens
  tally.completionTokens += usage.completionTokens
  if (model !== undefined) tally.costUsd += Option.getOrElse(pricing.cost(model, usage, { batch }), () => 0)
}
