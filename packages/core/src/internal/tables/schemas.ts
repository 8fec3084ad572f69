/**
 * The JSON formats of the price and lifecycle files (docs/pricing.md, docs/models.md), version 1.
 *
 * @internal
 */
import * as Schema from "effect/Schema"
import { header, IsoDate } from "./file.js"

const Usd = Schema.Number.check(Schema.isFinite(), Schema.isGreaterThanOrEqualTo(0))

const provenance = {
  /** Where the figure was read (a URL). */
  source: Schema.optionalKey(Schema.String),
  /** The day it was checked there. */
  checked: Schema.optionalKey(IsoDate)
}

/** @internal */
export const BatchPrice = Schema.Struct({
  input: Usd,
  cachedInput: Schema.optionalKey(Usd),
  output: Schema.optionalKey(Usd)
})

/** @internal */
export const PriceEntry = Schema.Struct({
  input: Usd,
  cachedInput: Schema.optionalKey(Usd),
  output: Schema.optionalKey(Usd),
  /** Batch API prices, when they are not half the standard ones. */
  batch: Schema.optionalKey(BatchPrice),
  ...provenance
})

/** @internal */
export const PricesFile = Schema.Struct({
  ...header("sluice-prices"),
  currency: Schema.Literal("USD"),
  unit: Schema.Literal("per 1M tokens"),
  models: Schema.Record(Schema.String, PriceEntry)
})

/** @internal */
export const LifecycleEntry = Schema.Struct({
  deprecated: Schema.optionalKey(IsoDate),
  shutdown: Schema.optionalKey(IsoDate),
  replacement: Schema.optionalKey(Schema.String),
  ...provenance
})

/** @internal */
export const LifecycleFile = Schema.Struct({
  ...header("sluice-lifecycle"),
  models: Schema.Record(Schema.String, LifecycleEntry)
})
