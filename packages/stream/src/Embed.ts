/**
 * Embeddings at scale: a `Stream` of documents `(id, text)` becomes a `Stream` of `(id, vector)` in input order.
 *
 * - Many inputs go in one request, within the API's caps (2,048 inputs and 300,000 tokens per request, 8,192
 *   tokens per input) and sized to the key's token limit (`tokensPerMinute`, else the `x-ratelimit-limit-tokens`
 *   the server sends): every request goes through the client's `embeddings.create`, so the budget, rate limiter,
 *   circuit breaker, retry policy and telemetry apply.
 * - An input over 8,192 tokens fails with `InputTooLong` naming its id, or is truncated, or split into parts whose
 *   vectors are averaged (weighted by tokens, renormalised): the caller's `overLong` policy.
 * - Identical texts are embedded once per run; with a `cache` (an LMDB store keyed by model + dimensions +
 *   SHA-256 of the text) once ever.
 * - A pack whose failure is retryable is sent again (after the client's own retries); a 400 splits it in halves
 *   until the input the server refuses is alone, which fails with `InputRejected` naming its id.
 * - Memory is bounded by the documents in flight (a reorder window), whatever the length of the stream; vectors
 *   travel as base64 and are `Float32Array`s.
 *
 * @since 0.3.0
 */
import type { Errors, OpenAi } from "@sluice/core"
import { Schema, type Scope, type Stream } from "effect"
import type * as Effect from "effect/Effect"
import type * as Store from "./internal/embed/cache.js"
import * as Run from "./internal/embed/run.js"

/**
 * One input document.
 *
 * @since 0.3.0
 * @category models
 */
export interface Document {
  readonly id: string
  readonly text: string
}

/**
 * One output: the document's id and its vector.
 *
 * @since 0.3.0
 * @category models
 */
export interface Embedded {
  readonly id: string
  readonly vector: Float32Array
}

/**
 * What to do with an input over the per-input cap: fail (`InputTooLong`), keep its first tokens, or embed it in
 * parts and average them.
 *
 * @since 0.3.0
 * @category models
 */
export type OverLong = "fail" | "truncate" | "split"

/**
 * The API's caps.
 *
 * @since 0.3.0
 * @category constants
 */
export const limits = { inputsPerRequest: 2048, tokensPerRequest: 300_000, tokensPerInput: 8192 } as const

/**
 * An opened cache (see {@link openCache}).
 *
 * @since 0.3.0
 * @category models
 */
export type Cache = Store.Store

/**
 * Counters of a run, updated as it goes (read them for progress and the summary).
 *
 * @since 0.3.0
 * @category models
 */
export interface Stats {
  /** Documents read from the input. */
  documents: number
  /** Documents emitted (in order). */
  emitted: number
  /** Texts answered from the store (the cache, or this run's earlier result for a repeated text). */
  cacheHits: number
  /** Texts that joined an identical text already in flight. */
  deduplicated: number
  /** Inputs sent to the server (each unique text once, plus parts of split inputs). */
  inputsSent: number
  /** Requests that returned vectors. */
  requests: number
  /** Packs split in halves after a 400. */
  bisections: number
  /** Packs sent again after a retryable failure. */
  packRetries: number
  /** Prompt tokens the server reported. */
  tokens: number
  /** Inputs in requests not yet answered. */
  inFlight: number
}

/**
 * Fresh counters.
 *
 * @since 0.3.0
 * @category constructors
 */
export const makeStats = (): Stats => ({
  documents: 0,
  emitted: 0,
  cacheHits: 0,
  deduplicated: 0,
  inputsSent: 0,
  requests: 0,
  bisections: 0,
  packRetries: 0,
  tokens: 0,
  inFlight: 0
})

/**
 * Options of {@link embed}.
 *
 * @since 0.3.0
 * @category models
 */
export interface Options {
  readonly model: string
  /** Output dimensions (text-embedding-3 models); default the model's own. */
  readonly dimensions?: number | undefined
  /** Default `"fail"`. */
  readonly overLong?: OverLong | undefined
  /** Requests in flight. Default 8. */
  readonly concurrency?: number | undefined
  /** The key's token limit per minute; default learned from the first response's headers. */
  readonly tokensPerMinute?: number | undefined
  /** Lower caps than the API's (tests, servers with smaller limits). */
  readonly maxInputsPerRequest?: number | undefined
  readonly maxTokensPerRequest?: number | undefined
  readonly maxTokensPerInput?: number | undefined
  /** Documents between the oldest not yet emitted and the newest read. Default 4 × concurrency × inputs cap. */
  readonly window?: number | undefined
  /** A persistent cache; without one, repeats are deduplicated through a temporary store for the run. */
  readonly cache?: Cache | undefined
  readonly stats?: Stats | undefined
}

/**
 * An input is longer than the per-input cap and `overLong` is `"fail"`.
 *
 * @since 0.3.0
 * @category errors
 */
export class InputTooLong extends Schema.TaggedError<InputTooLong>()("InputTooLong", {
  id: Schema.String,
  tokens: Schema.Number,
  limit: Schema.Number
}) {
  override get message(): string {
    return `document ${JSON.stringify(this.id)} has ${this.tokens} tokens, more than the ${this.limit} one input may have (choose overLong "truncate" or "split")`
  }
}

/**
 * The server refused one input (a 400 for a pack of one, after bisecting).
 *
 * @since 0.3.0
 * @category errors
 */
export class InputRejected extends Schema.TaggedError<InputRejected>()("InputRejected", {
  id: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `the server refused document ${JSON.stringify(this.id)}: ${this.reason}`
  }
}

/**
 * A 2xx response that does not answer the request: a missing vector, or one of the wrong length.
 *
 * @since 0.3.0
 * @category errors
 */
export class ResponseMismatch extends Schema.TaggedError<ResponseMismatch>()("ResponseMismatch", {
  reason: Schema.String
}) {
  override get message(): string {
    return `the embeddings response does not match its request: ${this.reason}`
  }
}

/**
 * The cache could not be opened or written.
 *
 * @since 0.3.0
 * @category errors
 */
export class CacheError extends Schema.TaggedError<CacheError>()("CacheError", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `embeddings cache ${this.path}: ${this.reason}`
  }
}

/**
 * The failures of {@link embed} besides the client's.
 *
 * @since 0.3.0
 * @category errors
 */
export type EmbedError = InputTooLong | InputRejected | ResponseMismatch | CacheError | Errors.InvalidOptions

/**
 * Opens (creates) the cache in a directory; closed when the scope closes.
 *
 * @since 0.3.0
 * @category constructors
 */
export const openCache = (dir: string): Effect.Effect<Cache, CacheError, Scope.Scope> => Run.openCache(dir)

/**
 * Embeds every document, in input order. Fails at the first document that cannot be embedded (everything before
 * it has been emitted); a terminal condition of the client (budget, quota, auth, a fused circuit) fails it too.
 *
 * @since 0.3.0
 * @category running
 */
export const embed = <E, R>(
  documents: Stream.Stream<Document, E, R>,
  options: Options
): Stream.Stream<Embedded, EmbedError | Errors.OpenAiError | E, OpenAi.OpenAi | R> => Run.embed(documents, options)
