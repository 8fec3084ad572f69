/**
 * Pure rate-limit math: a per-minute limit enforced over ~1 s windows, like the real service.
 *
 * A bucket is a debt that drains continuously at `limit / 60` units per second. A request of `cost` is admitted
 * when `debt + cost ≤ max(limit / 60, cost)` (so at most one second's worth can burst, and a request larger than
 * one second's worth waits for the debt to drain completely) and `cost ≤ limit`. Remaining and reset are reported
 * per minute, as the real headers are: `remaining = limit − debt`, `reset` = time until the debt is gone.
 * Every function takes `now` (epoch ms) explicitly.
 *
 * @since 0.1.0
 */
import * as internal from "./internal/rateLimits.js"

/**
 * The state of one bucket: accumulated debt at time `at`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Bucket {
  readonly debt: number
  readonly at: number
}

/**
 * A fresh (full) bucket.
 *
 * @since 0.1.0
 * @category constructors
 */
export const empty: (now: number) => Bucket = internal.empty

/**
 * Units drained per millisecond for a per-minute `limit`.
 *
 * @since 0.1.0
 * @category math
 */
export const ratePerMs: (limit: number) => number = internal.ratePerMs

/**
 * The burst allowance: one ~1 s window's worth of a per-minute `limit`.
 *
 * @since 0.1.0
 * @category math
 */
export const windowSize: (limit: number) => number = internal.windowSize

/**
 * The bucket drained up to `now`.
 *
 * @since 0.1.0
 * @category math
 */
export const drain: (limit: number, bucket: Bucket, now: number) => Bucket = internal.drain

/**
 * The outcome of asking a bucket for `cost` units.
 *
 * @since 0.1.0
 * @category models
 */
export interface Decision {
  readonly admitted: boolean
  /** The bucket after the decision (debt includes `cost` only when admitted). */
  readonly bucket: Bucket
  /** Milliseconds until the same request would be admitted (0 when admitted, Infinity when it never can). */
  readonly waitMs: number
}

/**
 * Asks for `cost` units at `now`. Does not charge a rejected request.
 *
 * @since 0.1.0
 * @category math
 */
export const take: (limit: number, bucket: Bucket, cost: number, now: number) => Decision = internal.take

/**
 * Charges `cost` units unconditionally (a rejected request still counts against the request limit). The debt is
 * capped at one minute's worth.
 *
 * @since 0.1.0
 * @category math
 */
export const charge: (limit: number, bucket: Bucket, cost: number, now: number) => Bucket = internal.charge

/**
 * Remaining units as reported in `x-ratelimit-remaining-*` (per minute, floored).
 *
 * @since 0.1.0
 * @category math
 */
export const remaining: (limit: number, bucket: Bucket, now: number) => number = internal.remaining

/**
 * Milliseconds until the bucket is full again, as reported in `x-ratelimit-reset-*`.
 *
 * @since 0.1.0
 * @category math
 */
export const resetMs: (limit: number, bucket: Bucket, now: number) => number = internal.resetMs

/**
 * Formats milliseconds as a Go duration string, like the real headers: `0s`, `17ms`, `1s`, `1.5s`, `6m0s`,
 * `1h2m3.5s`. Sub-second values are rounded up to whole milliseconds, larger ones to milliseconds.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatDuration: (ms: number) => string = internal.formatDuration

/**
 * The per-key pair of buckets.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyBuckets {
  readonly requests: Bucket
  readonly tokens: Bucket
}

/**
 * Limits in effect (undefined = unlimited).
 *
 * @since 0.1.0
 * @category models
 */
export interface Limits {
  readonly rpm: number | undefined
  readonly tpm: number | undefined
}

/**
 * The outcome of admitting one request against both buckets.
 *
 * @since 0.1.0
 * @category models
 */
export interface Admission {
  readonly admitted: boolean
  /** Which limit rejected the request, if any (requests is checked first). */
  readonly scope: "requests" | "tokens" | undefined
  readonly buckets: KeyBuckets
  readonly waitMs: number
}

/**
 * Admits a request costing one request and `tokens` tokens. Admitted: both buckets are charged. Rejected: only the
 * request bucket is charged (rejected requests count against the limit), never the token bucket.
 *
 * @since 0.1.0
 * @category math
 */
export const admit: (limits: Limits, buckets: KeyBuckets, tokens: number, now: number) => Admission = internal.admit

/**
 * The `x-ratelimit-*` headers for the configured limits at `now`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const headers: (limits: Limits, buckets: KeyBuckets, now: number) => Record<string, string> = internal.headers

/**
 * How a server reports its limits:
 *
 * - `"openai"`: OpenAI's headers over the ~1 s buckets: `remaining = limit − debt` per minute, `reset` the time
 *   until the debt is gone (they agree).
 * - `"scaled-remaining"`: the same buckets, but `remaining` is the one-second bucket's fill scaled to the minute
 *   (`limit − 60 × debt`, floored at 0) while `reset` is still the true refill time: the headers disagree, and a
 *   client that believes the most pessimistic reading runs far below the allowed rate.
 * - `"none"`: the same buckets and 429s, without any `x-ratelimit-*` header (and, unless switched on explicitly,
 *   without `retry-after`/`retry-after-ms`).
 * - `"fixed-window"`: a fixed per-minute window aligned to the clock's minutes, as gateways use: a whole minute's
 *   limit may burst at once, `remaining` counts down within the minute, `reset` is the time to the window's end.
 *
 * @since 0.3.0
 * @category models
 */
export type HeaderStyle = "openai" | "scaled-remaining" | "none" | "fixed-window"

/**
 * Every header style.
 *
 * @since 0.3.0
 * @category constants
 */
export const headerStyles: ReadonlyArray<HeaderStyle> = internal.headerStyles

/**
 * Remaining units as the `"scaled-remaining"` style reports them: the one-second bucket's room scaled to the minute,
 * `floor(max(0, (limit / 60 − debt) × 60))`.
 *
 * @since 0.3.0
 * @category math
 */
export const scaledRemaining: (limit: number, bucket: Bucket, now: number) => number = internal.scaledRemaining

/**
 * The `x-ratelimit-*` headers in a bucket style (`"openai"`, `"scaled-remaining"`; `"none"` gives none).
 *
 * @since 0.3.0
 * @category formatting
 */
export const headersIn: (
  style: Exclude<HeaderStyle, "fixed-window">,
  limits: Limits,
  buckets: KeyBuckets,
  now: number
) => Record<string, string> = internal.headersIn

/**
 * One fixed window: `used` units since the window began at `start` (epoch ms, a multiple of `windowMs`).
 *
 * @since 0.3.0
 * @category models
 */
export interface Window {
  readonly start: number
  readonly used: number
}

/**
 * The length of a fixed window: one minute.
 *
 * @since 0.3.0
 * @category constants
 */
export const windowMs: number = internal.windowMs

/**
 * The window that holds `now`: `window` itself while it lasts, a fresh one after.
 *
 * @since 0.3.0
 * @category math
 */
export const current: (window: Window | undefined, now: number) => Window = internal.current

/**
 * Asks a fixed window for `cost` units at `now`: admitted while `used + cost ≤ limit`; otherwise the wait is the
 * time to the window's end (Infinity when `cost > limit`). A rejected request is not counted.
 *
 * @since 0.3.0
 * @category math
 */
export const takeFixed: (
  limit: number,
  window: Window | undefined,
  cost: number,
  now: number
) => { readonly admitted: boolean; readonly window: Window; readonly waitMs: number } = internal.takeFixed

/**
 * The per-key pair of fixed windows.
 *
 * @since 0.3.0
 * @category models
 */
export interface KeyWindows {
  readonly requests: Window | undefined
  readonly tokens: Window | undefined
}

/**
 * The outcome of admitting one request against both fixed windows.
 *
 * @since 0.3.0
 * @category models
 */
export interface WindowAdmission {
  readonly admitted: boolean
  readonly scope: "requests" | "tokens" | undefined
  readonly windows: KeyWindows
  readonly waitMs: number
}

/**
 * Admits a request costing one request and `tokens` tokens against fixed per-minute windows; both are charged
 * only when both admit.
 *
 * @since 0.3.0
 * @category math
 */
export const admitFixed: (limits: Limits, windows: KeyWindows, tokens: number, now: number) => WindowAdmission =
  internal.admitFixed

/**
 * The `x-ratelimit-*` headers of the `"fixed-window"` style: `remaining = limit − used` in the current minute,
 * `reset` = the time to the minute's end.
 *
 * @since 0.3.0
 * @category formatting
 */
export const fixedHeaders: (limits: Limits, windows: KeyWindows, now: number) => Record<string, string> =
  internal.fixedHeaders
