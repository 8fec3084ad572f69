/**
 * Fault injection: the fault kinds, the seeded PRNG and the pure choice of a fault for one request.
 *
 * @since 0.1.0
 */
import * as internal from "./internal/faults.js"

/**
 * Every fault the simulator can inject.
 *
 * - `"500"`: 500 `server_error` JSON
 * - `"503"`: 503 overloaded JSON
 * - `"502Html"`: 502 with an HTML body
 * - `"429"`: 429 `rate_limit_exceeded` (independent of the buckets)
 * - `"reset"`: connection reset before any response byte
 * - `"hang"`: no answer until the client aborts
 * - `"truncatedJson"`: non-streaming body cut in half, then the socket is destroyed
 * - `"streamDrop"`: stream cut after some chunks, without `[DONE]`
 * - `"streamError"`: after some chunks an `event: error` with an error object, then the response ends cleanly
 *   without `[DONE]`
 * - `"slowFirstToken"`: stream's first token delayed by `slowFirstTokenMs`
 * - `"responseFailed"`: a `/v1/responses` stream (or background response) ends with `response.failed` after some
 *   events (no effect on chat streams)
 *
 * @since 0.1.0
 * @category models
 */
export type FaultKind =
  | "500"
  | "503"
  | "502Html"
  | "429"
  | "reset"
  | "hang"
  | "truncatedJson"
  | "streamDrop"
  | "streamError"
  | "slowFirstToken"
  | "responseFailed"

/**
 * A scripted fault: the `request`-th request (1-based) overall, or to `path` when given, gets `fault`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ScriptedFault {
  readonly request: number
  readonly path?: string
  readonly fault: FaultKind
}

/**
 * Fault probabilities (each 0..1, drawn from the seeded PRNG, one draw per request) and fault parameters.
 *
 * @since 0.1.0
 * @category models
 */
export interface FaultRates {
  /** 500 `server_error` JSON body. */
  readonly rate500?: number
  /** 503 "overloaded" JSON body. */
  readonly rate503?: number
  /** 502 with an HTML body (a proxy error page), `content-type: text/html`. */
  readonly rate502Html?: number
  /** 429 `rate_limit_exceeded` regardless of the buckets (a spurious throttle). */
  readonly rate429?: number
  /** The connection is reset (RST) before any byte of the response is sent. */
  readonly rateReset?: number
  /** The request is never answered; the server waits until the client gives up (counted as aborted). */
  readonly rateHang?: number
  /** Non-streaming: headers with the full `content-length`, half the JSON body, then the socket is destroyed. */
  readonly rateTruncatedJson?: number
  /** Streaming: some chunks are sent, then the socket is destroyed without `data: [DONE]`. */
  readonly rateStreamDrop?: number
  /** Streaming: some chunks, then `event: error` with a `server_error` object; the response ends without `[DONE]`. */
  readonly rateStreamError?: number
  /** Streaming: the first token is delayed by `slowFirstTokenMs`. */
  readonly rateSlowFirstToken?: number
  /** `/v1/responses` streams and background responses: `response.failed` after some events. */
  readonly rateResponseFailed?: number
  /**
   * The error of the `streamError` fault: `"server_error"` (default), `"insufficient_quota"` or
   * `"rate_limit_exceeded"` (chat: the `event: error` body's type and code; responses: the `error` event's code).
   */
  readonly streamErrorCode?: "server_error" | "insufficient_quota" | "rate_limit_exceeded"
  /** Delay used by the `slowFirstToken` fault (default 2000 ms). */
  readonly slowFirstTokenMs?: number
  /** Send `x-should-retry: true` on injected 5xx/429 faults (default false). */
  readonly shouldRetryHeader?: boolean
}

/**
 * All fault kinds, in the order their probabilities are laid out on [0, 1).
 *
 * @since 0.1.0
 * @category constants
 */
export const kinds: ReadonlyArray<FaultKind> = internal.kinds

/**
 * mulberry32: a tiny, fast, seeded PRNG returning floats in [0, 1).
 *
 * @since 0.1.0
 * @category random
 */
export const mulberry32: (seed: number) => () => number = internal.mulberry32

/**
 * Whether a fault kind applies to a request: stream faults only to streams, `truncatedJson` only to
 * non-streaming responses.
 *
 * @since 0.1.0
 * @category predicates
 */
export const applies: (kind: FaultKind, streaming: boolean) => boolean = internal.applies

/**
 * What {@link choose} decides from: the rates, the script, the request's overall number and its number on `path`,
 * whether it streams, and one PRNG draw `u` in [0, 1).
 *
 * @since 0.3.0
 * @category models
 */
export interface ChooseOptions {
  readonly rates: FaultRates
  readonly script: ReadonlyArray<ScriptedFault>
  readonly requestNumber: number
  readonly path: string
  readonly pathRequestNumber: number
  readonly streaming: boolean
  readonly u: number
}

/**
 * Picks the fault for one request. A script entry matching the request's overall number (or its number on
 * `path`) wins; otherwise one PRNG draw `u` is compared with the cumulative rates. Exactly one draw is consumed
 * per call, so the sequence of faults depends only on the seed and the order of requests.
 *
 * @since 0.1.0
 * @category combinators
 */
export const choose: (options: ChooseOptions) => FaultKind | undefined = internal.choose

/**
 * A total fault rate spread evenly over the common transport faults: 500, 503, 502 with an HTML body,
 * connection reset, truncated JSON and a dropped stream (what `--fault-rate 0.05` means).
 *
 * @since 0.1.0
 * @category constructors
 */
export const spread: (total: number) => FaultRates = internal.spread
