/**
 * The simulator's configuration: every knob that changes what the server answers, how fast, and how it fails.
 * All fields are optional; `resolve` fills the defaults. `Running.update` merges a patch at run time.
 *
 * @since 0.1.0
 */
import * as internal from "./internal/config.js"
import type { FaultRates, ScriptedFault } from "./Faults.js"
import type { HeaderStyle } from "./RateLimits.js"

/**
 * Re-exported from `Faults`, where they are defined.
 *
 * @since 0.1.0
 * @category models
 */
export type { FaultRates, ScriptedFault } from "./Faults.js"

/**
 * Revokes `key` after it has made `afterRequests` requests, or from the epoch time `atMs` on (whichever comes
 * first). Requests with a revoked key get 401 `invalid_api_key`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Revocation {
  readonly key: string
  readonly afterRequests?: number
  readonly atMs?: number
}

/**
 * Artificial latency in milliseconds; all default to 0 (no timers at all on the hot path).
 * Streaming: `requestMs` before the headers, `firstTokenMs` before the first content chunk, `perChunkMs`
 * between chunks. Non-streaming: the response waits `requestMs + firstTokenMs + perChunkMs × chunks`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Latency {
  readonly requestMs?: number
  readonly firstTokenMs?: number
  readonly perChunkMs?: number
}

/**
 * How SSE bytes are framed and written.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamOptions {
  /** `"lf"`, `"crlf"` or `"mixed"` (seeded per stream, default). */
  readonly lineEnding?: "lf" | "crlf" | "mixed"
  /** Bytes are written in random slices of `minSliceBytes..maxSliceBytes` (default 1..512), which split UTF-8
   * characters and CRLF pairs; each slice is a separate socket write, with an event-loop turn in between. */
  readonly minSliceBytes?: number
  readonly maxSliceBytes?: number
  /** Write the whole stream at once instead of in slices (for benchmarks; default false). */
  readonly noSlicing?: boolean
  /** Tokens per content delta, drawn in `1..maxTokensPerChunk` (default 3). */
  readonly maxTokensPerChunk?: number
}

/**
 * Which rate-limit related headers are sent, and in which style.
 *
 * @since 0.1.0
 * @category models
 */
export interface HeaderSwitches {
  /**
   * How limits are enforced and reported (default `"openai"`); see `RateLimits.HeaderStyle`. `"fixed-window"`
   * also changes the enforcement (a fixed per-minute window instead of the ~1 s buckets).
   *
   * @since 0.3.0
   */
  readonly style?: HeaderStyle
  /** The six `x-ratelimit-*` headers (only for limits that are configured; default true, never with `"none"`). */
  readonly rateLimit?: boolean
  /** `retry-after` (integer seconds, rounded up) on 429 (default true; false with style `"none"`). */
  readonly retryAfter?: boolean
  /** `retry-after-ms` on 429 (default true; false with style `"none"`). */
  readonly retryAfterMs?: boolean
}

/**
 * `/v1/responses` options.
 *
 * @since 0.3.0
 * @category models
 */
export interface ResponsesOptions {
  /** Send `sequence_number` and `output_index` on stream events (default true; false as llama.cpp's server does). */
  readonly sequenceNumbers?: boolean
  /** How long a background response stays `queued` before it runs (default 20 ms). */
  readonly backgroundQueueMs?: number
  /** How many stored responses are kept; past it the oldest is forgotten (default 10,000). */
  readonly maxStored?: number
}

/**
 * Batch lifecycle timing: how long a batch stays in each state (defaults 20 ms each).
 *
 * @since 0.1.0
 * @category models
 */
export interface BatchTiming {
  readonly validatingMs?: number
  readonly inProgressMs?: number
  readonly finalizingMs?: number
}

/**
 * The simulator configuration. Everything is optional.
 *
 * @since 0.1.0
 * @category models
 */
export interface Config {
  /** TCP port (default 0: an ephemeral port). */
  readonly port?: number
  /** Host to listen on. Only loopback is allowed (default and only value "127.0.0.1"). */
  readonly host?: string
  /** Seed of every PRNG (faults, slicing, line endings; not embedding vectors). Default 1. */
  readonly seed?: number
  /** Accepted API keys. When absent, any non-empty bearer key is accepted. */
  readonly keys?: ReadonlyArray<string>
  /** Key revocations (to test key rotation). */
  readonly revoke?: ReadonlyArray<Revocation>
  /** Requests per minute per API key (default unlimited). Enforced over ~1 s windows. */
  readonly rpm?: number
  /** Tokens per minute per API key (default unlimited). Enforced over ~1 s windows. */
  readonly tpm?: number
  /** Completion tokens charged at admission when a request has no `max_tokens`/`max_completion_tokens` (16). */
  readonly defaultMaxTokens?: number
  /** Rate-limit header switches. */
  readonly headers?: HeaderSwitches
  /** Artificial latency. */
  readonly latency?: Latency
  /** SSE framing. */
  readonly stream?: StreamOptions
  /** Probabilistic faults. */
  readonly faults?: FaultRates
  /** Scripted faults (take precedence over probabilistic ones). */
  readonly script?: ReadonlyArray<ScriptedFault>
  /** Once the simulated spend (USD) reaches this, every API request gets 429 `insufficient_quota`. */
  readonly quotaUsd?: number
  /** Models listed by `GET /v1/models` (default: the built-in price table's models). */
  readonly models?: ReadonlyArray<string>
  /** Models that answer 404 `model_not_found` (default `gpt-3.5-turbo-0301`, `text-davinci-003`, …). */
  readonly retiredModels?: ReadonlyArray<string>
  /** When true, models not in `models` answer 404 `model_not_found` (default false: any model is served). */
  readonly strictModels?: boolean
  /** Batch lifecycle timing. */
  readonly batch?: BatchTiming
  /** `/v1/responses` options. */
  readonly responses?: ResponsesOptions
  /** Clock in epoch milliseconds (default `Date.now`); for tests of time-based policy. */
  readonly clock?: () => number
}

/**
 * Models that answer 404 `model_not_found` by default.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultRetiredModels: ReadonlyArray<string> = internal.defaultRetiredModels

/**
 * Built-in price table in USD per 1M tokens (input, output), used for `costUsd` and `quotaUsd`. Unknown models
 * are priced like `gpt-4o-mini`.
 *
 * @since 0.1.0
 * @category constants
 */
export const prices: Readonly<Record<string, { readonly input: number; readonly output: number }>> = internal.prices

/**
 * A configuration with every default filled in.
 *
 * @since 0.1.0
 * @category models
 */
export interface Resolved {
  readonly port: number
  readonly host: string
  readonly seed: number
  readonly keys: ReadonlySet<string> | undefined
  readonly revoke: ReadonlyArray<Revocation>
  readonly rpm: number | undefined
  readonly tpm: number | undefined
  readonly defaultMaxTokens: number
  readonly headers: Required<HeaderSwitches>
  readonly latency: Required<Latency>
  readonly stream: Required<StreamOptions>
  readonly faults: Required<FaultRates>
  readonly script: ReadonlyArray<ScriptedFault>
  readonly quotaUsd: number | undefined
  readonly models: ReadonlyArray<string>
  readonly modelSet: ReadonlySet<string>
  readonly retiredModels: ReadonlySet<string>
  readonly strictModels: boolean
  readonly batch: Required<BatchTiming>
  readonly responses: Required<ResponsesOptions>
  readonly clock: () => number
}

/**
 * Merges `patch` into `base`: top-level fields are replaced, the nested option groups (`headers`, `latency`,
 * `stream`, `faults`, `batch`, `responses`) are merged one level deep.
 *
 * @since 0.1.0
 * @category combinators
 */
export const merge: (base: Config, patch: Config) => Config = internal.merge

/**
 * Fills every default.
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolve: (config: Config) => Resolved = internal.resolve

/**
 * Price of `promptTokens` + `completionTokens` on `model` in USD.
 *
 * @since 0.1.0
 * @category pricing
 */
export const priceOf: (model: string, promptTokens: number, completionTokens: number) => number = internal.priceOf
