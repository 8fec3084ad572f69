/**
 * Token-bucket math shared by the limiter's stores, in the "debt" form the server uses: a bucket holds the
 * units spent and not yet refilled; it drains continuously at `limit / 60` units per second. A request of `cost`
 * is admitted when `debt + cost ≤ max(burst, cost)` and `cost ≤ limit`. Every function takes `now` explicitly.
 *
 * @internal
 */

/** @internal */
export interface Bucket {
  readonly debt: number
  /** Time the debt was measured; in the future while the gate is closed (no draining before then). */
  readonly at: number
}

/** @internal */
export const empty = (now: number): Bucket => ({ debt: 0, at: now })

/** @internal */
export const ratePerMs = (limitPerMinute: number): number => limitPerMinute / 60_000

/** @internal */
export const drain = (limit: number, bucket: Bucket, now: number): Bucket => {
  if (now <= bucket.at) return bucket
  return { debt: Math.max(0, bucket.debt - (now - bucket.at) * ratePerMs(limit)), at: now }
}

/** Milliseconds until `cost` fits (0 when it fits now). */
export const waitMs = (limit: number, burst: number, bucket: Bucket, cost: number, now: number): number => {
  const drained = drain(limit, bucket, now)
  const excess = drained.debt + cost - Math.max(burst, cost)
  const frozen = Math.max(0, drained.at - now)
  if (excess <= 1e-9) return frozen
  return frozen + excess / ratePerMs(limit)
}

/** Adds (or, negative, refunds) units; the debt stays in `[0, limit]`. */
export const adjust = (limit: number, bucket: Bucket, delta: number, now: number): Bucket => {
  const drained = drain(limit, bucket, now)
  return { debt: Math.min(limit, Math.max(0, drained.debt + delta)), at: drained.at }
}

/** Raises the debt to at least `floor` (a server correction never lowers it). */
export const atLeast = (limit: number, bucket: Bucket, floor: number, now: number): Bucket => {
  const drained = drain(limit, bucket, now)
  return drained.debt >= floor ? drained : { debt: Math.min(limit, floor), at: drained.at }
}

/** Closes the bucket until `until`, and restarts it empty from then so traffic resumes at the rate. */
export const pause = (limit: number, burst: number, bucket: Bucket, until: number, now: number): Bucket => {
  const drained = drain(limit, bucket, now)
  return { debt: Math.min(limit, Math.max(drained.debt, burst)), at: Math.max(drained.at, until) }
}

/** Units available per minute, as the server reports `remaining`. */
export const remaining = (limit: number, bucket: Bucket, now: number): number =>
  Math.max(0, limit - drain(limit, bucket, now).debt)
