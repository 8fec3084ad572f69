/**
 * What a call costs. A dated table of OpenAI list prices (USD per 1M tokens: input, cached input, output) and
 * the Batch API discount. Unknown models are never guessed: `cost` answers `None`, and while a budget is in
 * force the gates fail closed with `PriceUnknown`. Supply missing or negotiated prices with
 * `Pricing.layer({ overrides })`.
 *
 * Source: the OpenAI pricing page (https://openai.com/api/pricing, platform.openai.com/docs/pricing),
 * standard tier, as of {@link asOf}. Prices change: re-check them before relying on a budget.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Result from "effect/Result"
import type { InvalidOptions } from "./Errors.js"
import * as internal from "./internal/pricing.js"
import * as TableFile from "./internal/tables/file.js"
import { PricesFile } from "./internal/tables/schemas.js"
import * as Usage from "./Usage.js"

/**
 * The date the built-in table was checked against the OpenAI pricing page.
 *
 * @since 0.1.0
 * @category constants
 */
export const asOf = "2025-10-01"

/**
 * How the built-in table was (not) re-checked, and what it does not cover.
 *
 * @since 0.3.0
 * @category constants
 */
export const notes = [
  "On 2026-12-01 the research tool held no copy of OpenAI's pricing page (developers.openai.com/api/docs/pricing,",
  "openai.com/api/pricing, platform.openai.com/docs/pricing): the figures below are still the 2025-10-01 ones,",
  "written from memory, and none is marked `checked`. Third-party pages disagree with each other (GPT-5's cached",
  "input is $0.125 on some, $0.625 on others), so none of their figures was adopted. Models released since (the",
  "gpt-5.1 to gpt-5.6 and gpt-6 families) are not priced: while a budget is in force they fail closed with",
  "PriceUnknown. Supply their prices (and any correction) with a prices file (`--prices`, docs/pricing.md).",
  "Batch prices are the standard ones times `batchDiscount` unless an entry says otherwise."
].join(" ")

/**
 * Prices of one model in USD per 1M tokens.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelPrice {
  readonly input: number
  /** Price of cached prompt tokens; absent when the model has no prompt-caching discount. */
  readonly cachedInput?: number
  /** Absent for embedding models (no output tokens). */
  readonly output?: number
  /**
   * Batch API prices, when they are not the standard ones times {@link batchDiscount}.
   *
   * @since 0.3.0
   */
  readonly batch?: { readonly input: number; readonly cachedInput?: number; readonly output?: number }
  /**
   * Where the figures were read (a URL) and the day they were checked there.
   *
   * @since 0.3.0
   */
  readonly source?: string
  /** @since 0.3.0 */
  readonly checked?: string
}

/**
 * The Batch API bills input and output at half the standard price.
 *
 * @since 0.1.0
 * @category constants
 */
export const batchDiscount: number = Usage.batchDiscount

/**
 * The built-in price table, standard tier, USD per 1M tokens. Dated snapshots with the same price as their
 * alias resolve through {@link resolve}; snapshots priced differently are listed on their own.
 *
 * @since 0.1.0
 * @category constants
 */
export const table: Readonly<Record<string, ModelPrice>> = {
  // GPT-5 family
  "gpt-5": { input: 1.25, cachedInput: 0.125, output: 10 },
  "gpt-5-mini": { input: 0.25, cachedInput: 0.025, output: 2 },
  "gpt-5-nano": { input: 0.05, cachedInput: 0.005, output: 0.4 },
  "gpt-5-chat-latest": { input: 1.25, cachedInput: 0.125, output: 10 },
  "gpt-5-pro": { input: 15, output: 120 },
  // GPT-4.1 family
  "gpt-4.1": { input: 2, cachedInput: 0.5, output: 8 },
  "gpt-4.1-mini": { input: 0.4, cachedInput: 0.1, output: 1.6 },
  "gpt-4.1-nano": { input: 0.1, cachedInput: 0.025, output: 0.4 },
  // GPT-4o family
  "gpt-4o": { input: 2.5, cachedInput: 1.25, output: 10 },
  "gpt-4o-2024-05-13": { input: 5, output: 15 },
  "gpt-4o-mini": { input: 0.15, cachedInput: 0.075, output: 0.6 },
  "chatgpt-4o-latest": { input: 5, output: 15 },
  // Reasoning models (reasoning tokens are billed as output and reported in completion_tokens)
  o1: { input: 15, cachedInput: 7.5, output: 60 },
  "o1-pro": { input: 150, output: 600 },
  "o1-mini": { input: 1.1, cachedInput: 0.55, output: 4.4 },
  "o1-preview": { input: 15, cachedInput: 7.5, output: 60 },
  o3: { input: 2, cachedInput: 0.5, output: 8 },
  "o3-pro": { input: 20, output: 80 },
  "o3-mini": { input: 1.1, cachedInput: 0.55, output: 4.4 },
  "o4-mini": { input: 1.1, cachedInput: 0.275, output: 4.4 },
  // Older chat models
  "gpt-4.5-preview": { input: 75, cachedInput: 37.5, output: 150 },
  "gpt-4-turbo": { input: 10, output: 30 },
  "gpt-4": { input: 30, output: 60 },
  "gpt-4-32k": { input: 60, output: 120 },
  "gpt-3.5-turbo": { input: 0.5, output: 1.5 },
  // Embeddings
  "text-embedding-3-small": { input: 0.02 },
  "text-embedding-3-large": { input: 0.13 },
  "text-embedding-ada-002": { input: 0.1 }
}

/**
 * Finds the table key for a model name: the exact name, else the name without a dated snapshot suffix
 * (`gpt-4o-2024-08-06` → `gpt-4o`, `gpt-4-0613` → `gpt-4`). Nothing else is stripped, so `gpt-4o-audio-preview`
 * or a fine-tuned `ft:gpt-4o-mini:…` model stays unknown rather than borrowing a price that may be wrong.
 *
 * @since 0.1.0
 * @category pricing
 */
export const resolve: (prices: Readonly<Record<string, ModelPrice>>, model: string) => string | undefined =
  internal.resolve

/**
 * Cost options.
 *
 * @since 0.1.0
 * @category models
 */
export interface CostOptions {
  /** Bill at the Batch API price. */
  readonly batch?: boolean
}

/**
 * USD cost of a usage at a given price. Cached prompt tokens are part of `promptTokens`.
 *
 * @since 0.1.0
 * @category pricing
 */
export const costAt = (price: ModelPrice, usage: Usage.Usage, options: CostOptions = {}): number =>
  Usage.cost(usage, price, { batch: options.batch })

/**
 * The pricing service.
 *
 * @since 0.1.0
 * @category services
 */
export class Pricing extends Context.Service<
  Pricing,
  {
    readonly price: (model: string) => Option.Option<ModelPrice>
    /** `None` when the model has no known price: never a guess. */
    readonly cost: (model: string, usage: Usage.Usage, options?: CostOptions) => Option.Option<number>
  }
>()("@sluice/core/Pricing") {}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Prices that replace or add to the built-in table (exact names; dated snapshots resolve to them too). */
  readonly overrides?: Readonly<Record<string, ModelPrice>>
  /** Start from an empty table instead of the built-in one. */
  readonly replaceTable?: boolean
}

/**
 * A pricing service over the built-in table plus overrides. Pure; no effects needed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromTable = (options: Options = {}): Pricing["Service"] => Pricing.of(internal.fromTable(table, options))

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Pricing["Service"]> => Effect.sync(() => fromTable(options))

/** The built-in table as a service, made once (it is pure): what {@link current} falls back to. */
const builtIn = fromTable()

/**
 * The `Pricing` the caller provided, else the built-in table: the one rule for "which prices apply" that the
 * gates (settling the budget), telemetry (cost of unpriced calls) and the batch summary share, so they cannot
 * price one run two ways.
 *
 * @since 0.3.0
 * @category constructors
 */
export const current: Effect.Effect<Pricing["Service"]> = Effect.map(
  Effect.serviceOption(Pricing),
  Option.getOrElse(() => builtIn)
)

/**
 * Cost of a usage with the built-in table; `undefined` when the model has no known price.
 *
 * @since 0.1.0
 * @category pricing
 */
export const cost = (model: string, usage: Usage.Usage, options: CostOptions = {}): number | undefined =>
  Option.getOrUndefined(builtIn.cost(model, usage, options))

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Pricing> => Layer.succeed(Pricing, fromTable(options))

/**
 * A prices file (format `sluice-prices`, version 1; see docs/pricing.md), as decoded.
 *
 * @since 0.3.0
 * @category models
 */
export type File = typeof PricesFile.Type

/**
 * Reads and validates a prices file. A missing or unreadable file, bad JSON, an unknown field or a bad value is
 * an `InvalidOptions` naming the file, the field (`models["gpt-4o"].input`) and the value.
 *
 * @since 0.3.0
 * @category files
 */
export const readFile = (path: string): Effect.Effect<File, InvalidOptions, FileSystem.FileSystem> =>
  TableFile.read("prices file", path, PricesFile)

/**
 * Validates the text of a prices file read from `path` (for callers that read it themselves, e.g. a CLI checking its
 * flags before anything starts). Same errors as {@link readFile}.
 *
 * @since 0.3.0
 * @category files
 */
export const parseFile = (text: string, path: string): Result.Result<File, InvalidOptions> =>
  TableFile.parse("prices file", path, text, PricesFile)

/**
 * The {@link Options} a prices file stands for: its models over the built-in table (or instead of it, with
 * `"replace": true`).
 *
 * @since 0.3.0
 * @category files
 */
export const optionsOf = (file: File): Options => ({ overrides: file.models, replaceTable: file.replace === true })

/**
 * Prices from a file (see {@link readFile}), over the built-in table unless the file says `"replace": true`.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerFile = (path: string): Layer.Layer<Pricing, InvalidOptions, FileSystem.FileSystem> =>
  Layer.effect(
    Pricing,
    Effect.map(readFile(path), (file) => fromTable(optionsOf(file)))
  )

/**
 * {@link layerFile} from `SLUICE_PRICES` when it is set, else the built-in table.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerConfig = (
  path: Config.Config<Option.Option<string>> = Config.option(Config.String("SLUICE_PRICES"))
): Layer.Layer<Pricing, InvalidOptions | Config.ConfigError, FileSystem.FileSystem> =>
  Layer.unwrap(Effect.map(path, (file) => (Option.isSome(file) ? layerFile(file.value) : layer())))
