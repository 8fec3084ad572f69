/**
 * A job's progress snapshot from its summary so far, and the summary as the JSON that `sluice batch --json` prints.
 *
 * @internal
 */
import type * as Api from "../../Batch.js"
import type { Tally } from "./tally.js"

/** @internal */
export interface Counts extends Tally {
  readonly succeeded: number
  readonly failed: number
}

/**
 * The summary of a job of `total` requests, `skipped` of them already done and `toDo` to run, from this run's
 * counts and attempts after `wallMs`.
 *
 * @internal
 */
export const summaryOf = (
  job: { readonly total: number; readonly skipped: number; readonly toDo: number },
  counts: Counts,
  attempts: { readonly requestsSent: number; readonly rateLimited: number; readonly retries: number },
  wallMs: number,
  stopped: Api.Stopped | null
): Api.Summary => ({
  total: job.total,
  succeeded: counts.succeeded,
  failed: counts.failed,
  skipped: job.skipped,
  pending: job.toDo - counts.succeeded - counts.failed,
  requests_sent: attempts.requestsSent,
  rate_limited: attempts.rateLimited,
  retries: attempts.retries,
  prompt_tokens: counts.promptTokens,
  completion_tokens: counts.completionTokens,
  cost_usd: counts.costUsd,
  wall_s: wallMs / 1000,
  stopped
})

/**
 * The summary with rate and ETA: `finished` of the `toDo` requests of this run are done, `inFlight` started and not
 * finished.
 *
 * @internal
 */
export const progressOf = (summary: Api.Summary, finished: number, toDo: number, inFlight: number): Api.Progress => {
  const rate = summary.wall_s > 0 ? finished / summary.wall_s : 0
  return {
    ...summary,
    done: summary.skipped + finished,
    in_flight: inFlight,
    rate_per_s: rate,
    eta_s: rate > 0 ? (toDo - finished) / rate : null
  }
}

/** @internal */
export const summaryJson = (summary: Api.Summary): Record<string, unknown> => ({
  total: summary.total,
  succeeded: summary.succeeded,
  failed: summary.failed,
  skipped: summary.skipped,
  pending: summary.pending,
  requests_sent: summary.requests_sent,
  rate_limited: summary.rate_limited,
  retries: summary.retries,
  prompt_tokens: summary.prompt_tokens,
  completion_tokens: summary.completion_tokens,
  cost_usd: Math.round(summary.cost_usd * 1e6) / 1e6,
  wall_s: Math.round(summary.wall_s * 100) / 100,
  stopped: summary.stopped === null ? null : { reason: summary.stopped.reason, message: summary.stopped.message }
})
