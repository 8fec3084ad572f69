/**
 * Embeddings at scale: a `Stream` of documents `(id, text)` becomes a `Stream` of `(id, vector)` in input order.
 *
 * - Many inputs go in one request, within the API's caps (2,048 inputs and 300,000 tokens per request, 8,192
 *   tokens per input) and sized to the key's token limit (`tokensPerMinute`, else the `x-ratelimit-limit-tokens`
 *   the server sends): every request goes through the client's `embeddings.create`, so the budget, rate limiter,
 *   circuit breaker, retry policy and telemetry apply.
 * - An input over 8,192 tokens fails with `InputTooLong` naming its id, or is truncated, or split into parts whose
 *   vectors are averaged (weighted by tokens, renormalised): the caller's `overLong` policy.
 * - Identical texts are embedded once per run; with a `cache` (an SQLite store keyed by model + dimensions +
 *   SHA-256 of the text) once ever.
 * - A pack whose failure is retryable is sent again (after the client's own retries); a 400 splits it in halves
 *   until the input the server refuses is alone, which fails with `InputRejected` naming its id.
 * - Memory is bounded by the documents in flight (a reorder window), whatever the length of the stream; vectors
 *   travel as base64 and are `Float32Array`s.
 *
 * @since 0.3.0
 */
import type { Errors, OpenAi } from "@sluice/core"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Store from "./internal/embed/cache.js"
import * as Job from "./internal/embed/job.js"
import * as Run from "./internal/embed/run.js"
import type * as Batch from "./Batch.js"

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
  /**
   * Documents between the oldest not yet emitted and the newest read: what memory grows with. Default
   * `min(concurrency + 1, 4)` × the inputs cap (8,192).
   */
  readonly window?: number | undefined
  /** A persistent cache; without one, repeats are deduplicated through a temporary store for the run. */
  readonly cache?: Cache | undefined
  readonly stats?: Stats | undefined
  /**
   * When this completes, no more documents are read and no more requests sent: the stream ends after the
   * documents whose vectors are known or already requested (their answers are awaited).
   */
  readonly shutdown?: Effect.Effect<void> | undefined
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

/**
 * Options of {@link runFile}: those of {@link embed} plus the files.
 *
 * @since 0.3.0
 * @category models
 */
export interface FileOptions extends Options {
  /** JSONL of `{"id", "text"}`, or plain text with one document per line (id = the line number). */
  readonly input: string
  /** The output, also the journal of `resume`; never the input. */
  readonly output: string
  /** `jsonl` (default): `{"id", "embedding"}` per line; `f32`: a float32 matrix plus `<output>.ids`. */
  readonly format?: "jsonl" | "f32" | undefined
  /** `"new"` (default) refuses an existing output; `"resume"` continues it; `"overwrite"` truncates it. */
  readonly mode?: "new" | "resume" | "overwrite" | undefined
  /** After `shutdown`, how long the requests in flight may take. Default 10 seconds. */
  readonly gracePeriod?: Duration.Input | undefined
  /**
   * Send the texts missing from the cache through the server-side Batch API (`Batch.remote`: 50 % cheaper,
   * within 24 h) first, then write the output from the cache. Default false.
   */
  readonly remote?: boolean | undefined
  /** With `remote`: between two `batches.retrieve`. Default 5 seconds. */
  readonly pollInterval?: Duration.Input | undefined
  /** Called once the input is checked and the journal read: the documents in all, and those already done. */
  readonly onStart?: ((start: { readonly total: number; readonly skipped: number }) => Effect.Effect<void>) | undefined
}

/**
 * How a job ended. `stopped.reason` is `Batch`'s (budget, quota, auth, circuit, store, interrupted) or `failed` (a
 * document that could not be embedded, a failure after every retry): the output holds every document before it,
 * and `resume` continues from there.
 *
 * @since 0.3.0
 * @category models
 */
export interface FileSummary {
  readonly total: number
  /** Documents written by this run. */
  readonly embedded: number
  /** Documents already in the output (resume). */
  readonly skipped: number
  readonly pending: number
  /** Attempts sent (with `Batch.layerMeter` in the client; else requests answered). */
  readonly requests_sent: number
  readonly rate_limited: number
  readonly retries: number
  readonly inputs_sent: number
  readonly cache_hits: number
  readonly deduplicated: number
  readonly tokens: number
  readonly cost_usd: number
  readonly wall_s: number
  readonly stopped: {
    readonly reason: "budget" | "quota" | "auth" | "circuit" | "store" | "interrupted" | "failed"
    readonly message: string
  } | null
}

/**
 * The failures of {@link runFile}: bad input or options, the output (exists, corrupt, is the input, IO), the cache.
 *
 * @since 0.3.0
 * @category errors
 */
export type FileError =
  | Batch.BatchError
  | Batch.OutputIsInput
  | Batch.RemoteBatchFailed
  | Errors.InvalidOptions
  | CacheError
  | Errors.OpenAiError

/**
 * An embeddings job from a file to a file. Every input line is checked first (`BatchInputInvalid` lists every
 * problem; nothing is sent, the output is not touched). The output is written in input order and is the
 * journal: `mode: "resume"` checks it against the input, cuts a torn last line and continues after it. A stop
 * (a terminal condition, `shutdown`, a document that cannot be embedded) returns a summary saying why.
 *
 * @since 0.3.0
 * @category running
 */
export const runFile = (
  options: FileOptions
): Effect.Effect<FileSummary, FileError, OpenAi.OpenAi | import("effect/FileSystem").FileSystem> => Job.runFile(options)
