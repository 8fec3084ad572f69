/**
 * Reconciling what one response's rate-limit headers say about one bucket into a correction of the local one.
 *
 * A response carries up to three readings per bucket: `limit`, `remaining` and `reset` (the time until the
 * bucket is full again). A consistent server's `remaining` and `reset` agree: `limit − remaining` is the debt that
 * takes `reset` to drain at `limit / 60 000` per ms, and the local bucket takes that debt as its floor.
 *
 * Servers that disagree exist: a `remaining` that is the one-second window's fill scaled to the minute, a `reset`
 * that is the time to the next unit, or to the end of a fixed window. Headers are evidence and 429s are ground
 * truth, so once a scope's headers have disagreed, the limiter takes the **least** pessimistic of the readings
 * they admit, and leaves the rest to 429s (whose pause closes the gate until the server's hint):
 * - a continuous refill, read from `remaining`: a debt of `limit − remaining`;
 * - a continuous refill, read from `reset`: a debt of `reset × rate` (what drains by then);
 * - a step refill (a fixed window), once `reset` has said less than `remaining` (see `History`): what
 *   `remaining` leaves, spread evenly over the time to `reset`: a debt of `reset × rate − remaining`, less the one
 *   second's worth the local bucket already holds for the job's latest sends.
 * Headers that contradict each other thus cannot hold a job below the rate without a 429 to show for it.
 *
 * @internal
 */
import { ratePerMs } from "./bucket.js"

/** @internal */
export interface Reading {
  /** The server's per-minute limit (its header, or the last one learned). */
  readonly serverLimit: number | undefined
  readonly remaining: number | undefined
  readonly resetMs: number | undefined
  /**
   * How much of the observed request's own cost the server still counts and the local bucket has drained: the
   * server charged it on arrival, the limiter on admission. Not somebody else's usage: it is not corrected.
   */
  readonly lag: number
}

/** @internal */
export interface Correction {
  /** The debt the local bucket must carry at least (`undefined`: nothing to correct). */
  readonly floor: number | undefined
  /** When `remaining` and `reset` were both present and disagreed beyond rounding: the one that said less. */
  readonly lower: "remaining" | "reset" | undefined
}

/**
 * How far `remaining` and the `reset`-derived remaining may differ and still count as one reading: integer
 * flooring of `remaining`, millisecond rounding of `reset`, plus 1 % of the limit for servers that round coarser.
 *
 * @internal
 */
export const tolerance = (serverLimit: number): number => 2 + serverLimit * 0.01

const positive = (debt: number): number | undefined => (debt > 0 ? debt : undefined)

/**
 * What a scope's headers have shown so far: `disagreeing`, they have disagreed (a fixed window's readings agree by
 * coincidence once a window, and must not be believed then either); `stepped`, `reset` has said less than
 * `remaining` (a refill that has not started though much remains: only a step refill does that, so only then is
 * the step reading admitted; a `remaining` scaled from a one-second window is always the lower one).
 *
 * @internal
 */
export interface History {
  readonly disagreeing: boolean
  readonly stepped: boolean
}

/**
 * The correction for a local bucket of `localLimit` from one response's `reading`.
 *
 * @internal
 */
export const correction = (localLimit: number | undefined, reading: Reading, history: History): Correction => {
  const { remaining, resetMs, serverLimit } = reading
  const fromReset =
    serverLimit !== undefined && resetMs !== undefined
      ? Math.max(0, serverLimit - resetMs * ratePerMs(serverLimit))
      : undefined
  const lower =
    remaining === undefined || fromReset === undefined || Math.abs(remaining - fromReset) <= tolerance(serverLimit!)
      ? undefined
      : remaining < fromReset
        ? "remaining"
        : "reset"
  if (localLimit === undefined) return { floor: undefined, lower }
  if (remaining === undefined || fromReset === undefined || (lower === undefined && !history.disagreeing)) {
    const believed = remaining ?? fromReset
    return { floor: believed === undefined ? undefined : positive(localLimit - believed - reading.lag), lower }
  }
  const rate = ratePerMs(localLimit)
  const continuousFromRemaining = localLimit - remaining
  const continuousFromReset = resetMs! * rate
  const continuous = Math.min(continuousFromRemaining, continuousFromReset)
  const stepped = history.stepped || lower === "reset"
  const floor = stepped ? Math.min(continuous, resetMs! * rate - remaining - localLimit / 60) : continuous
  return { floor: positive(floor - reading.lag), lower }
}
