/**
 * Token usage and what it costs: the one place where a server's `usage` object (a chat completion, an
 * embeddings list, the last chunk of a stream, a line of a batch's output file) becomes a {@link Usage},
 * and the one formula that turns a `Usage` and a price into USD. The gates settle budgets with it,
 * telemetry reports it, the stream layer and `Batch` sum it; `Pricing` prices through it.
 *
 * @since 0.3.0
 */
import * as internal from "./internal/usage.js"

/**
 * Token usage as the server reported it. Cached prompt tokens are part of `promptTokens`.
 *
 * @since 0.3.0
 * @category models
 */
export interface Usage {
  readonly promptTokens: number
  readonly completionTokens: number
  readonly cachedPromptTokens: number
}

/**
 * The server's usage object, as far as a `Usage` needs it (chat completions, embeddings, stream chunks, batch
 * output lines). Every field may be missing: a missing count is 0.
 *
 * @since 0.3.0
 * @category models
 */
export interface WireUsage {
  readonly prompt_tokens?: number | null | undefined
  readonly completion_tokens?: number | null | undefined
  readonly prompt_tokens_details?: { readonly cached_tokens?: number | null | undefined } | null | undefined
  /** The Responses API's names: reasoning tokens are part of `output_tokens` (billed as output). */
  readonly input_tokens?: number | null | undefined
  readonly output_tokens?: number | null | undefined
  readonly input_tokens_details?: { readonly cached_tokens?: number | null | undefined } | null | undefined
}

/**
 * A model's prices in USD per 1M tokens: the shape of `Pricing.ModelPrice`.
 *
 * @since 0.3.0
 * @category models
 */
export interface Price {
  readonly input: number
  /** Price of cached prompt tokens; absent when the model has no prompt-caching discount (input price). */
  readonly cachedInput?: number | undefined
  /** Absent for embedding models (no output tokens). */
  readonly output?: number | undefined
  /**
   * Batch API prices, when they are not the standard ones times {@link batchDiscount}.
   *
   * @since 0.3.0
   */
  readonly batch?:
    | { readonly input: number; readonly cachedInput?: number | undefined; readonly output?: number | undefined }
    | undefined
}

/**
 * Which discounts apply to a cost.
 *
 * @since 0.3.0
 * @category models
 */
export interface Discounts {
  /** Billed as a Batch API request: {@link batchDiscount} off input and output. Default `false`. */
  readonly batch?: boolean | undefined
  /** Cached prompt tokens at the cached-input price. Default `true`; `false` prices them as input. */
  readonly cached?: boolean | undefined
}

/**
 * The Batch API bills input and output at half the standard price.
 *
 * @since 0.3.0
 * @category constants
 */
export const batchDiscount: number = internal.batchDiscount

/**
 * The `Usage` of a server usage object; `undefined` when there is none (`null`, absent). Negative or
 * non-numeric counts are 0, and cached tokens never exceed the prompt.
 *
 * @since 0.3.0
 * @category constructors
 */
export const fromWire: (usage: WireUsage | null | undefined) => Usage | undefined = internal.fromWire

/**
 * The `Usage` of a response body with a `usage` field (any endpoint, or a batch output line's `body`), checked
 * field by field: the body need not have been decoded.
 *
 * @since 0.3.0
 * @category constructors
 */
export const fromBody: (body: unknown) => Usage | undefined = internal.fromBody

/**
 * The usage of a stream that ended without reporting one: the prompt estimate plus about one token per four
 * characters streamed.
 *
 * @since 0.3.0
 * @category constructors
 */
export const streamed: (estimatedPromptTokens: number, outputChars: number) => Usage = internal.streamed

/**
 * Prompt plus completion tokens.
 *
 * @since 0.3.0
 * @category utils
 */
export const total: (usage: Usage) => number = internal.total

/**
 * USD cost of a usage at a price: uncached prompt tokens at `input`, cached ones at `cachedInput` (unless
 * `discounts.cached === false`), completion tokens at `output`, all halved for `discounts.batch`.
 *
 * @since 0.3.0
 * @category pricing
 */
export const cost: (usage: Usage, price: Price, discounts?: Discounts) => number = internal.cost
