/**
 * The one sliding time window of Sluice: timed entries pushed in (roughly) increasing time order and dropped
 * from the front once they are `windowMs` old, in amortised O(1) without sorting. The circuit breaker keeps
 * its per-slot call counts in one (entries coalesced by slot: see {@link SlidingWindow.newest}); the report's
 * alerts keep their samples in others, with `onDrop` keeping running sums and sketches in step.
 *
 * Mutable and synchronous: a window belongs to one owner, which updates it inside one synchronous step
 * (a `Ref.modify`, an event handler).
 *
 * @since 0.4.0
 */
import * as internal from "./internal/window/slidingWindow.js"

/**
 * One timed entry.
 *
 * @since 0.4.0
 * @category models
 */
export interface Entry<A> {
  readonly at: number
  readonly value: A
}

/**
 * A sliding window over values of type `A`.
 *
 * @since 0.4.0
 * @category models
 */
export interface SlidingWindow<A> {
  /** How long an entry stays: one `windowMs` old or older is dropped by {@link SlidingWindow.prune}. */
  readonly windowMs: number
  /** The most entries kept; beyond it the oldest go first (bounds memory at very high rates). */
  readonly maxSamples: number
  /** Entries in the window. */
  readonly size: number
  /** The last entry pushed, if any is left: a caller coalescing entries by slot updates its value in place. */
  readonly newest: Entry<A> | undefined
  /** Adds an entry at the back; past `maxSamples` the oldest is dropped (and handed to `onDrop`). */
  readonly push: (at: number, value: A, onDrop?: (value: A) => void) => void
  /** Drops the entries at or before `now - windowMs`, oldest first, handing each to `onDrop`. */
  readonly prune: (now: number, onDrop?: (value: A) => void) => void
  /** Drops every entry (no `onDrop`). */
  readonly clear: () => void
  /** Visits the entries oldest first. */
  readonly forEach: (f: (value: A, at: number) => void) => void
  /** The values, oldest first. */
  readonly values: () => Array<A>
}

/**
 * An empty window of `windowMs`, keeping at most `maxSamples` entries (default 100 000).
 *
 * @since 0.4.0
 * @category constructors
 */
export const make: <A>(windowMs: number, maxSamples?: number) => SlidingWindow<A> = internal.make
