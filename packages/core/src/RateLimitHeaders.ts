/**
 * Parsing of the rate-limit headers an OpenAI-compatible server sends: the six `x-ratelimit-*` headers,
 * `retry-after` (seconds or an HTTP date), `retry-after-ms` and `x-should-retry`. Absent or malformed
 * headers become `undefined`, never a crash.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as internal from "./internal/rateLimitHeaders.js"

/**
 * What the server said about its limits on one response. Durations are in milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export class RateLimitSnapshot extends Schema.Class<RateLimitSnapshot>("@sluice/core/RateLimitSnapshot")({
  limitRequests: Schema.optional(Schema.Number),
  limitTokens: Schema.optional(Schema.Number),
  remainingRequests: Schema.optional(Schema.Number),
  remainingTokens: Schema.optional(Schema.Number),
  resetRequestsMs: Schema.optional(Schema.Number),
  resetTokensMs: Schema.optional(Schema.Number),
  retryAfterMs: Schema.optional(Schema.Number),
  shouldRetry: Schema.optional(Schema.Boolean)
}) {
  /** True when the server sent none of the headers. */
  get isEmpty(): boolean {
    return (
      this.limitRequests === undefined &&
      this.limitTokens === undefined &&
      this.remainingRequests === undefined &&
      this.remainingTokens === undefined &&
      this.resetRequestsMs === undefined &&
      this.resetTokensMs === undefined &&
      this.retryAfterMs === undefined &&
      this.shouldRetry === undefined
    )
  }
}

/**
 * Anything that can answer a header by (lower-case) name: a `Headers`, a plain record, …
 *
 * @since 0.1.0
 * @category models
 */
export type HeaderSource =
  | { readonly get: (name: string) => string | null | undefined }
  | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

/**
 * Parses a Go-style duration (`6m0s`, `17ms`, `1.5s`, `1h2m3.5s`) into milliseconds. A bare number is
 * read as seconds (some compatible servers send `"1"`). Anything else is `undefined`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseDuration = (input: string | undefined): number | undefined => internal.parseDuration(input)

/**
 * Parses `retry-after`: delay-seconds (possibly fractional) or an HTTP date, relative to `nowMs`.
 * A date in the past gives 0.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseRetryAfter = (input: string | undefined, nowMs: number): number | undefined =>
  internal.parseRetryAfter(input, nowMs)

/**
 * Reads every rate-limit header from a response. `nowMs` (the `Clock`'s time) resolves an HTTP-date `retry-after`.
 * `retry-after-ms` wins over `retry-after` when both are present and valid.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (headers: HeaderSource, nowMs: number): RateLimitSnapshot => internal.parse(headers, nowMs)
