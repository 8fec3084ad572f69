/**
 * Percentiles of a sorted sample, for the alerts. Not public.
 */

/** Nearest-rank percentile of an ascending array; `undefined` when empty. */
export const percentileSorted = (sorted: ReadonlyArray<number>, p: number): number | undefined => {
  if (sorted.length === 0) return undefined
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]
}
