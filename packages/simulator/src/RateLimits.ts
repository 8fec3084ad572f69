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
export const empty = (now: number): Bucket => ({ debt: 0, at: now })

/**
 * Units drained per millisecond for a per-minute `limit`.
 *
 * @since 0.1.0
 * @category math
 */
export const ratePerMs = (limit: number): number => limit / 60_000

/**
 * The burst allowance: one ~1 s window's worth of a per-minute `limit`.
 *
 * @since 0.1.0
 * @category math
 */
export const windowSize = (limit: number): number => limit / 60

/**
 * The bucket drained up to `now`.
 *
 * @since 0.1.0
 * @category math
 */
export const drain = (limit: number, bucket: Bucket, now: number): Bucket => {
  const elapsed = Math.max(0, now - bucket.at)
  return { debt: Math.max(0, bucket.debt - elapsed * ratePerMs(limit)), at: Math.max(now, bucket.at) }
}

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
export const take = (limit: number, bucket: Bucket, cost: number, now: number): Decision => {
  const drained = drain(limit, bucket, now)
  if (cost > limit) return { admitted: false, bucket: drained, waitMs: Number.POSITIVE_INFINITY }
  const ceiling = Math.max(windowSize(limit), cost)
  const excess = drained.debt + cost - ceiling
  // Tolerate float noise so a bucket that drained exactly to the line admits.
  if (excess <= 1e-9) return { admitted: true, bucket: { debt: drained.debt + cost, at: drained.at }, waitMs: 0 }
  return { admitted: false, bucket: drained, waitMs: excess / ratePerMs(limit) }
}

/**
 * Charges `cost` units unconditionally (a rejected request still counts against the request limit). The debt is
 * capped at one minute's worth.
 *
 * @since 0.1.0
 * @category math
 */
export const charge = (limit: number, bucket: Bucket, cost: number, now: number): Bucket => {
  const drained = drain(limit, bucket, now)
  return { debt: Math.min(limit, drained.debt + cost), at: drained.at }
}

/**
 * Remaining units as reported in `x-ratelimit-remaining-*` (per minute, floored).
 *
 * @since 0.1.0
 * @category math
 */
export const remaining = (limit: number, bucket: Bucket, now: number): number =>
  Math.max(0, Math.floor(limit - drain(limit, bucket, now).debt))

/**
 * Milliseconds until the bucket is full again, as reported in `x-ratelimit-reset-*`.
 *
 * @since 0.1.0
 * @category math
 */
export const resetMs = (limit: number, bucket: Bucket, now: number): number =>
  drain(limit, bucket, now).debt / ratePerMs(limit)

/**
 * Formats milliseconds as a Go duration string, like the real headers: `0s`, `17ms`, `1s`, `1.5s`, `6m0s`,
 * `1h2m3.5s`. Sub-second values are rounded up to whole milliseconds, larger ones to milliseconds.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatDuration = (ms: number): string => {
  if (!(ms > 0)) return "0s"
  if (ms < 1000) return `${Math.ceil(ms)}ms`
  const total = Math.round(ms)
  const hours = Math.floor(total / 3_600_000)
  const minutes = Math.floor((total % 3_600_000) / 60_000)
  const millis = total % 60_000
  const seconds = `${Math.floor(millis / 1000)}${
    millis % 1000 === 0
      ? ""
      : `.${String(millis % 1000)
          .padStart(3, "0")
          .replace(/0+$/, "")}`
  }s`
  if (hours > 0) return `${hours}h${minutes}m${seconds}`
  if (minutes > 0) return `${minutes}m${seconds}`
  return seconds
}

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
export const admit = (limits: Limits, buckets: KeyBuckets, tokens: number, now: number): Admission => {
  const req = limits.rpm === undefined ? undefined : take(limits.rpm, buckets.requests, 1, now)
  const tok = limits.tpm === undefined ? undefined : take(limits.tpm, buckets.tokens, tokens, now)
  if ((req === undefined || req.admitted) && (tok === undefined || tok.admitted)) {
    return {
      admitted: true,
      scope: undefined,
      buckets: { requests: req?.bucket ?? buckets.requests, tokens: tok?.bucket ?? buckets.tokens },
      waitMs: 0
    }
  }
  const scope = req !== undefined && !req.admitted ? "requests" : "tokens"
  const waitMs = Math.max(req?.admitted === false ? req.waitMs : 0, tok?.admitted === false ? tok.waitMs : 0)
  return {
    admitted: false,
    scope,
    buckets: {
      requests: limits.rpm === undefined ? buckets.requests : charge(limits.rpm, buckets.requests, 1, now),
      tokens: tok?.bucket ?? buckets.tokens
    },
    waitMs
  }
}

/**
 * The `x-ratelimit-*` headers for the configured limits at `now`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const headers = (limits: Limits, buckets: KeyBuckets, now: number): Record<string, string> => {
  const out: Record<string, string> = {}
  if (limits.rpm !== undefined) {
    out["x-ratelimit-limit-requests"] = String(limits.rpm)
    out["x-ratelimit-remaining-requests"] = String(remaining(limits.rpm, buckets.requests, now))
    out["x-ratelimit-reset-requests"] = formatDuration(resetMs(limits.rpm, buckets.requests, now))
  }
  if (limits.tpm !== undefined) {
    out["x-ratelimit-limit-tokens"] = String(limits.tpm)
    out["x-ratelimit-remaining-tokens"] = String(remaining(limits.tpm, buckets.tokens, now))
    out["x-ratelimit-reset-tokens"] = formatDuration(resetMs(limits.tpm, buckets.tokens, now))
  }
  return out
}
