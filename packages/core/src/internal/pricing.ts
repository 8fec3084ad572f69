/**
 * The bodies of `Pricing`: finding a model's row (dated snapshots resolve to their base name) and the service over
 * a table plus overrides.
 *
 * @internal
 */
import * as Option from "effect/Option"
import type { CostOptions, ModelPrice, Options, Pricing } from "../Pricing.js"
import type * as Usage from "../Usage.js"
import * as UsageCost from "./usage.js"

/** `-2024-08-06` (OpenAI's current snapshot suffix) or `-0613` (the older one). */
const snapshotSuffix = /-(\d{4}-\d{2}-\d{2}|\d{4})$/

/** @internal */
export const resolve = (prices: Readonly<Record<string, ModelPrice>>, model: string): string | undefined => {
  if (Object.hasOwn(prices, model)) return model
  const base = model.replace(snapshotSuffix, "")
  return base !== model && Object.hasOwn(prices, base) ? base : undefined
}

/** @internal */
export const fromTable = (table: Readonly<Record<string, ModelPrice>>, options: Options): Pricing["Service"] => {
  const prices: Record<string, ModelPrice> = { ...(options.replaceTable === true ? {} : table), ...options.overrides }
  const price = (model: string): Option.Option<ModelPrice> => {
    const key = resolve(prices, model)
    return key === undefined ? Option.none() : Option.some(prices[key]!)
  }
  const cost = (model: string, usage: Usage.Usage, costOptions: CostOptions = {}) =>
    Option.map(price(model), (p) => UsageCost.cost(usage, p, { batch: costOptions.batch }))
  return { price, cost }
}
