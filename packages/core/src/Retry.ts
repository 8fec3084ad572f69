/**
 * The retry policy of every call: exponential backoff with full jitter, a cap on each delay, a maximum
 * number of attempts, an overall deadline, and the server's hint (`retry-after-ms` / `retry-after`) honoured
 * up to `maxHintMs` by taking the larger of the backoff and the hint. A hint above `maxHintMs` fails fast
 * with the error that carried it, so the caller sees how long the server asked to wait. Only errors with
 * `retryable === true` are retried.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Result from "effect/Result"
import type * as Schedule from "effect/Schedule"
import type { InvalidOptions, OpenAiError } from "./Errors.js"
import * as internal from "./internal/retryPolicy.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Policy {
  /** Attempts in total, including the first. 1 disables retries. */
  readonly maxAttempts: number
  /** The first backoff ceiling; doubles on each retry. */
  readonly baseDelayMs: number
  /** No backoff ceiling exceeds this. */
  readonly maxDelayMs: number
  /** The longest server hint that is honoured; a longer one fails fast. */
  readonly maxHintMs: number
  /** No retry is scheduled whose delay would end more than this long after the first failure. */
  readonly deadlineMs: number
}

/**
 * Defaults for batch work: 6 attempts, 500 ms base, 30 s cap, hints up to 60 s, 5 minute deadline.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults: Policy = {
  maxAttempts: 6,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxHintMs: 60_000,
  deadlineMs: 300_000
}

/**
 * No retries at all.
 *
 * @since 0.1.0
 * @category constructors
 */
export const none: Policy = { ...defaults, maxAttempts: 1 }

/**
 * A policy from defaults and overrides.
 *
 * @since 0.1.0
 * @category constructors
 */
export const policy = (overrides: Partial<Policy> = {}): Policy => ({ ...defaults, ...overrides })

/**
 * Checks a policy (or overrides of one): `maxAttempts` an integer ≥ 1 (1 = no retries), every delay, hint and
 * deadline a number ≥ 0 (`Infinity` allowed for `maxDelayMs`, `maxHintMs` and `deadlineMs`: no limit). `prefix`
 * is how the caller names the policy (`retry` in `OpenAiConfig.Options`). The one place these options are
 * checked: `OpenAiConfig`, per-call overrides and {@link retry} use it.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = <P extends Partial<Policy>>(policy: P, prefix = "retry"): Result.Result<P, InvalidOptions> =>
  internal.validate(policy, prefix)

/**
 * Whether the policy will consider retrying this error at all (retryable, and any hint within `maxHintMs`).
 *
 * @since 0.1.0
 * @category predicates
 */
export const shouldRetry = (policy: Policy, error: OpenAiError): boolean => internal.shouldRetry(policy, error)

/**
 * The backoff ceiling before retry number `retry` (0-based): `min(maxDelayMs, baseDelayMs · 2^retry)`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ceilingMs = (policy: Policy, retry: number): number => internal.ceilingMs(policy, retry)

/**
 * The policy as a `Schedule` over errors. Its output is the delay it chose (so `Schedule.toStep` can be used to
 * inspect it). Each delay is `max(uniform(0, ceiling), hint)`.
 *
 * @since 0.1.0
 * @category schedules
 */
export const schedule = (policy: Policy): Schedule.Schedule<Duration.Duration, OpenAiError> => internal.schedule(policy)

/**
 * Runs `effect` under the policy. Pass a fresh `effect` each time: it is re-run on every retry. A policy out of
 * range ({@link validate}) fails with `InvalidOptions` before `effect` runs at all.
 *
 * @since 0.1.0
 * @category combinators
 */
export const retry: (
  policy: Policy
) => <A, R>(effect: Effect.Effect<A, OpenAiError, R>) => Effect.Effect<A, OpenAiError, R> = internal.retry
