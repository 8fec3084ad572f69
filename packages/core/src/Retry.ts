/**
 * The retry policy of every call: exponential backoff with full jitter, a cap on each delay, a maximum
 * number of attempts, an overall deadline, and the server's hint (`retry-after-ms` / `retry-after`) honoured
 * up to `maxHintMs` by taking the larger of the backoff and the hint. A hint above `maxHintMs` fails fast
 * with the error that carried it, so the caller sees how long the server asked to wait. Only errors with
 * `retryable === true` are retried.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Either, Schedule } from "effect"
import { type InvalidOptions, type OpenAiError, retryAfterMsOf } from "./Errors.js"
import * as Check from "./internal/options.js"

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
 * deadline a number ≥ 0 (`Infinity` allowed for `maxDelayMs`, `maxHintMs` and `deadlineMs`: no limit). `prefix` is how the caller names the policy (`retry` in `OpenAiConfig.Options`).
 * The one place these options are checked: `OpenAiConfig`, per-call overrides and {@link retry} use it.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = <P extends Partial<Policy>>(policy: P, prefix = "retry"): Either.Either<P, InvalidOptions> => {
  const problem = Check.first(
    Check.integer(`${prefix}.maxAttempts`, policy.maxAttempts, 1),
    Check.number(`${prefix}.baseDelayMs`, policy.baseDelayMs, { atLeast: 0 }),
    Check.number(`${prefix}.maxDelayMs`, policy.maxDelayMs, { atLeast: 0, infinite: true }),
    Check.number(`${prefix}.maxHintMs`, policy.maxHintMs, { atLeast: 0, infinite: true }),
    Check.number(`${prefix}.deadlineMs`, policy.deadlineMs, { atLeast: 0, infinite: true })
  )
  return problem === undefined ? Either.right(policy) : Either.left(problem)
}

/**
 * Whether the policy will consider retrying this error at all (retryable, and any hint within `maxHintMs`).
 *
 * @since 0.1.0
 * @category predicates
 */
export const shouldRetry = (policy: Policy, error: OpenAiError): boolean => {
  if (!error.retryable) return false
  const hint = retryAfterMsOf(error)
  return hint === undefined || hint <= policy.maxHintMs
}

/**
 * The backoff ceiling before retry number `retry` (0-based): `min(maxDelayMs, baseDelayMs · 2^retry)`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ceilingMs = (policy: Policy, retry: number): number =>
  Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry)

/**
 * The policy as a `Schedule` over errors. Its output is the delay it chose (so `Schedule.run` can be used to
 * inspect it). Each delay is `max(uniform(0, ceiling), hint)`.
 *
 * @since 0.1.0
 * @category schedules
 */
export const schedule = (policy: Policy): Schedule.Schedule<Duration.Duration, OpenAiError> =>
  Schedule.exponential(Duration.millis(policy.baseDelayMs)).pipe(
    Schedule.modifyDelay((delay) => Duration.min(delay, Duration.millis(policy.maxDelayMs))),
    Schedule.jitteredWith({ min: 0, max: 1 }),
    Schedule.intersect(Schedule.identity<OpenAiError>()),
    Schedule.modifyDelay(([, error], delay) => {
      const hint = retryAfterMsOf(error)
      return hint === undefined ? delay : Duration.max(delay, Duration.millis(hint))
    }),
    Schedule.intersect(Schedule.recurs(Math.max(0, policy.maxAttempts - 1))),
    Schedule.whileInput((error: OpenAiError) => shouldRetry(policy, error)),
    Schedule.delays,
    Schedule.intersect(Schedule.elapsed),
    Schedule.whileOutput(
      ([delay, elapsed]) => Duration.toMillis(elapsed) + Duration.toMillis(delay) <= policy.deadlineMs
    ),
    Schedule.map(([delay]) => delay)
  )

/**
 * Runs `effect` under the policy. Pass a fresh `effect` each time: it is re-run on every retry. A policy out of
 * range ({@link validate}) fails with `InvalidOptions` before `effect` runs at all.
 *
 * @since 0.1.0
 * @category combinators
 */
export const retry =
  (policy: Policy) =>
  <A, R>(effect: Effect.Effect<A, OpenAiError, R>): Effect.Effect<A, OpenAiError, R> => {
    const checked = validate(policy)
    if (Either.isLeft(checked)) return Effect.fail(checked.left)
    if (policy.maxAttempts <= 1) return effect
    // Like `Effect.retry(effect, schedule(policy))`, but the schedule is built once per policy and its driver
    // only on the first failure (the elapsed time and the backoff both start there either way), so a call that
    // succeeds at once pays for neither.
    const retries = cachedSchedule(policy)
    return Effect.catchAll(effect, (first) =>
      Effect.flatMap(Schedule.driver(retries), (driver) => {
        const loop = (error: OpenAiError): Effect.Effect<A, OpenAiError, R> =>
          Effect.matchEffect(driver.next(error), {
            onFailure: () => Effect.fail(error),
            onSuccess: () => Effect.catchAll(effect, loop)
          })
        return loop(first)
      })
    )
  }

const schedules = new WeakMap<Policy, Schedule.Schedule<Duration.Duration, OpenAiError>>()

const cachedSchedule = (policy: Policy): Schedule.Schedule<Duration.Duration, OpenAiError> => {
  let cached = schedules.get(policy)
  if (cached === undefined) {
    cached = schedule(policy)
    schedules.set(policy, cached)
  }
  return cached
}
