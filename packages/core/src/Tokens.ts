/**
 * Pre-flight token estimates: how many prompt tokens a request will be charged for, and how many output tokens
 * it may produce. The rate limiter spends these before sending and the budget prices them, so a call is
 * tokenized exactly once (in `Gates.admit`) and the numbers travel on the `Call`.
 *
 * By default nothing is tokenized: `promptTokens` is the UTF-8 byte count of the prompt's text plus the
 * per-message overhead OpenAI documents (3 tokens per message, 1 per `name`, 3 to prime the reply). Every
 * byte-level BPE token covers at least one byte, so this is a strict upper bound on the exact count: safe for a
 * budget's reservation, which is settled to the actual usage afterwards. `admissionPromptTokens` is the server's
 * own admission measure (about one token per four characters, plus the same overheads), which is what the token
 * limit is charged at, for the rate limiter.
 *
 * With `exact: true`, counting uses gpt-tokenizer with the model's encoding (`o200k_base` for gpt-4o, gpt-4.1,
 * gpt-4.5, gpt-5 and the o-series; `cl100k_base` for gpt-4, gpt-3.5 and the embedding models). Its tables are
 * loaded (a dynamic import) on the first exact count only, never by importing `@sluice/core`; long strings
 * (system prompts repeated across a batch) are cached by content. `count` is always exact.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Internal from "./internal/tokenizer.js"
import * as Service from "./internal/tokens.js"

/**
 * A BPE encoding gpt-tokenizer ships.
 *
 * @since 0.1.0
 * @category models
 */
export type Encoding = Internal.Encoding

/**
 * The estimate carried on a ticket.
 *
 * @since 0.1.0
 * @category models
 */
export interface Estimate {
  /** Prompt tokens, never fewer than the exact count (the budget reserves these). */
  readonly promptTokens: number
  readonly maxOutputTokens: number
  /**
   * Prompt tokens as the server charges its token limit at admission (for the rate limiter): the character rule by
   * default, the exact count with `exact: true`. When absent, use `promptTokens`.
   */
  readonly admissionPromptTokens?: number | undefined
}

/**
 * What the estimator needs to know about a request.
 *
 * @since 0.1.0
 * @category models
 */
export interface Request {
  /** API path without `/v1`: `/chat/completions`, `/embeddings`, `/completions`, `/responses`. */
  readonly path: string
  readonly model: string | undefined
  readonly body: unknown
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Count prompts exactly with gpt-tokenizer (loaded on the first estimate) instead of the UTF-8 byte bound.
   * Default false.
   */
  readonly exact?: boolean
  /**
   * Output tokens assumed when a chat request sets neither `max_completion_tokens` nor `max_tokens`. The
   * server may produce up to the model's limit, so this is a guess the budget prices: set it, or set
   * `max_completion_tokens` on requests, when a budget is in force. Default 4096.
   */
  readonly defaultMaxOutputTokens?: number
  /** Exact counting: distinct long strings whose counts are remembered. Default 1024; 0 disables the cache. */
  readonly cacheCapacity?: number
  /** Exact counting: strings at least this long are cached (shorter ones are cheaper to re-count). Default 256. */
  readonly cacheMinLength?: number
}

/**
 * Tokens assumed for one image part: a high-detail 1024×1024 image costs 765 tokens on gpt-4o, a low-detail
 * one 85. Images are not tokenized; the estimate is conservative for common sizes.
 *
 * @since 0.1.0
 * @category constants
 */
export const imageTokens: { readonly low: 85; readonly high: 765 } = Internal.imageTokens

/**
 * Per-message overheads from OpenAI's cookbook ("How to count tokens with tiktoken").
 *
 * @since 0.1.0
 * @category constants
 */
export const overhead: {
  readonly perMessage: 3
  readonly perName: 1
  readonly replyPriming: 3
  readonly perTool: 8
  readonly toolsBase: 12
} = Internal.overhead

/**
 * The encoding a model uses. Unknown models get `o200k_base` (every current OpenAI model uses it; for
 * compatible servers running other models the count is an estimate either way).
 *
 * @since 0.1.0
 * @category encodings
 */
export const encodingFor: (model: string | undefined) => Encoding = Internal.encodingFor

/**
 * Output tokens a request may produce: `max_completion_tokens ?? max_tokens ?? max_output_tokens ?? fallback`,
 * times `n` for several choices.
 *
 * @since 0.1.0
 * @category estimates
 */
export const maxOutput: (body: unknown, fallback: number) => number = Internal.maxOutput

/**
 * Counts the prompt tokens of a request body with a given string counter. Pure and synchronous: the
 * `Tokens` service supplies its counter; tests and tools can pass any counter.
 *
 * @since 0.1.0
 * @category estimates
 */
export const countPrompt: (count: (text: string) => number, path: string, body: unknown) => number =
  Internal.countPrompt

/**
 * The UTF-8 byte count of a string: a strict upper bound on its byte-level BPE tokens (the default counter).
 *
 * @since 0.3.0
 * @category estimates
 */
export const utf8Bytes: (text: string) => number = Internal.utf8Bytes

/**
 * Whether a request generates output tokens (embeddings and moderations do not).
 *
 * @since 0.1.0
 * @category estimates
 */
export const producesOutput: (path: string) => boolean = Internal.producesOutput

/**
 * The token estimator.
 *
 * @since 0.1.0
 * @category services
 */
export class Tokens extends Context.Service<
  Tokens,
  {
    /** Counts a string exactly with an encoding (loads the tokenizer on first use). */
    readonly count: (text: string, encoding: Encoding) => Effect.Effect<number>
    /** Estimates prompt and maximum output tokens of a request. */
    readonly estimate: (request: Request) => Effect.Effect<Estimate>
  }
>()("@sluice/core/Tokens") {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Tokens["Service"]> => Service.make(options)

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Tokens> => Layer.effect(Tokens, make(options))
