/**
 * The numeric flags every job command shares (`sluice batch`, `sluice embed`), checked in one place: the rate
 * and retry gates, the budget and the grace period, with `--concurrency` up to the command's own maximum.
 *
 * @internal
 */
import type * as Flags from "./flags.js"
import type { Checks } from "./usage.js"

/** The checked values (undefined where absent, or wrong: `checks` then has the problem). @internal */
export const checkJobNumbers = (
  checks: Checks,
  raw: Flags.JobGates & Pick<Flags.JobOutput, "graceSeconds">,
  maxConcurrency: number
) => ({
  concurrency: checks.integer("--concurrency", raw.concurrency, { min: 1, max: maxConcurrency }, "requests in flight"),
  rpm: checks.integer("--rpm", raw.rpm, { min: 1, max: 100_000_000 }, "requests per minute of the key"),
  tpm: checks.integer("--tpm", raw.tpm, { min: 1, max: 10_000_000_000 }, "tokens per minute of the key"),
  maxRetries: checks.integer("--max-retries", raw.maxRetries, { min: 0, max: 100 }, "retries per request"),
  budgetUsd: checks.number("--budget-usd", raw.budgetUsd, { above: 0, max: 1_000_000 }, "USD"),
  graceSeconds: checks.number(
    "--grace-seconds",
    raw.graceSeconds,
    { min: 0, max: 3600 },
    "seconds for requests in flight after Ctrl-C"
  )
})
