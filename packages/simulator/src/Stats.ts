/**
 * What the simulator observed: the counters behind `GET /__sim/stats` and `Running.stats`.
 *
 * @since 0.1.0
 */

/**
 * A snapshot of the counters since start or the last reset.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  /** Every HTTP request under `/v1` (the `/__sim` endpoints are not counted). */
  readonly requests: number
  /** Requests by path template, e.g. `"POST /v1/chat/completions"`, `"GET /v1/files/{id}"`. */
  readonly byPath: Readonly<Record<string, number>>
  /** Responses by status code (`"200"`, `"429"`, …); resets, hangs and aborts have no status. */
  readonly byStatus: Readonly<Record<string, number>>
  /** Injected faults by kind (`"500"`, `"reset"`, …). */
  readonly faults: Readonly<Record<string, number>>
  /** Requests answered with a 2xx status and a complete body (a completed stream counts once finished). */
  readonly successes: number
  /** Successes whose exact request body (hash) had already succeeded before: a double-billed retry. */
  readonly duplicateSuccesses: number
  /** 429 `rate_limit_exceeded` from the buckets (not the injected `"429"` fault). */
  readonly rateLimited: number
  /** 429 `insufficient_quota`. */
  readonly quotaExceeded: number
  /** 401 answers. */
  readonly unauthorized: number
  /**
   * Inputs in successful `/v1/embeddings` answers (and batch lines).
   *
   * @since 0.3.0
   */
  readonly embeddedInputs: number
  /**
   * Of those, inputs whose (model, input, dimensions) had already been embedded successfully since the last reset:
   * paid for twice (a 53-bit hash per input is remembered, so about 16 bytes each).
   *
   * @since 0.3.0
   */
  readonly duplicateEmbeddedInputs: number
  readonly promptTokens: number
  readonly completionTokens: number
  readonly totalTokens: number
  /** Simulated spend in USD of every success (built-in price table). */
  readonly costUsd: number
  /** The most requests in flight at once. */
  readonly maxConcurrent: number
  /** Requests in flight now. */
  readonly inFlight: number
  /** Streaming responses started / finished with `[DONE]`. */
  readonly streamsStarted: number
  readonly streamsCompleted: number
  /** Streams whose socket the client closed before `[DONE]` was written. */
  readonly streamsAborted: number
  /** Requests (streaming or not, including hangs) whose client went away before the response was complete. */
  readonly clientAborts: number
  /** Epoch ms (the server's `Date.now()`) when the latest client abort was seen; 0 if none. */
  readonly lastClientAbortAtMs: number
}

/**
 * All counters at zero.
 *
 * @since 0.1.0
 * @category constructors
 */
export const zero = (): Stats => ({
  requests: 0,
  byPath: {},
  byStatus: {},
  faults: {},
  successes: 0,
  duplicateSuccesses: 0,
  rateLimited: 0,
  quotaExceeded: 0,
  unauthorized: 0,
  embeddedInputs: 0,
  duplicateEmbeddedInputs: 0,
  promptTokens: 0,
  completionTokens: 0,
  totalTokens: 0,
  costUsd: 0,
  maxConcurrent: 0,
  inFlight: 0,
  streamsStarted: 0,
  streamsCompleted: 0,
  streamsAborted: 0,
  clientAborts: 0,
  lastClientAbortAtMs: 0
})
