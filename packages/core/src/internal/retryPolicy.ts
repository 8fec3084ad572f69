/**
 * The bodies of `Retry`: the policy's check, its schedule, and the loop that runs an effect under it.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import { type InvalidOptions, type OpenAiError, retryAfterMsOf } from "../Errors.js"
import type { Policy } from "../Retry.js"
import * as Check from "./options.js"

/** @internal */
export const validate = <P extends Partial<Policy>>(policy: P, prefix: string): Result.Result<P, InvalidOptions> => {
  const problem = Check.first(
    Check.integer(`${prefix}.maxAttempts`, policy.maxAttempts, 1),
    Check.number(`${prefix}.baseDelayMs`, policy.baseDelayMs, { atLeast: 0 }),
    Check.number(`${prefix}.maxDelayMs`, policy.maxDelayMs, { atLeast: 0, infinite: true }),
    Check.number(`${prefix}.maxHintMs`, policy.maxHintMs, { atLeast: 0, infinite: true }),
    Check.number(`${prefix}.deadlineMs`, policy.deadlineMs, { atLeast: 0, infinite: true })
  )
  return problem === undefined ? Result.succeed(policy) : Result.fail(problem)
}

/** @internal */
export const shouldRetry = (policy: Policy, error: OpenAiError): boolean => {
  if (!error.retryable) return false
  const hint = retryAfterMsOf(error)
  return hint === undefined || hint <= policy.maxHintMs
}

/** @internal */
export const ceilingMs = (policy: Policy, retry: number): number =>
  Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry)

/** @internal */
export const schedule = (policy: Policy): Schedule.Schedule<Duration.Duration, OpenAiError> =>
  // One step per failure, in the order the Effect 3 composition applied them: the attempt count, the error's
  // retryability (and hint bound), full jitter on the capped exponential ceiling, the hint as a floor, and the
  // deadline measured from the first failure (`elapsed`) to the end of this delay.
  Schedule.fromStepWithMetadata(
    Effect.succeed((meta: Schedule.InputMetadata<OpenAiError>) => {
      const retry = meta.attempt - 1
      const error = meta.input
      if (retry >= policy.maxAttempts - 1 || !shouldRetry(policy, error)) return Cause.done(Duration.zero)
      return Effect.flatMap(Random.next, (draw) => {
        const hint = retryAfterMsOf(error)
        const backoff = ceilingMs(policy, retry) * draw
        const delayMs = hint === undefined ? backoff : Math.max(backoff, hint)
        if (meta.elapsed + delayMs > policy.deadlineMs) return Cause.done(Duration.zero)
        const delay = Duration.millis(delayMs)
        return Effect.succeed<[Duration.Duration, Duration.Duration]>([delay, delay])
      })
    })
  )

/** A policy's check and schedule, worked out once per policy value (a call's policy is usually the config's). */
interface Prepared {
  readonly checked: Result.Result<Policy, InvalidOptions>
  schedule: Schedule.Schedule<Duration.Duration, OpenAiError> | undefined
}

const prepared = new WeakMap<Policy, Prepared>()

const prepare = (policy: Policy): Prepared => {
  let found = prepared.get(policy)
  if (found === undefined) {
    found = { checked: validate(policy, "retry"), schedule: undefined }
    prepared.set(policy, found)
  }
  return found
}

/** @internal */
export const retry =
  (policy: Policy) =>
  <A, R>(effect: Effect.Effect<A, OpenAiError, R>): Effect.Effect<A, OpenAiError, R> => {
    const found = prepare(policy)
    if (Result.isFailure(found.checked)) return Effect.fail(found.checked.failure)
    if (policy.maxAttempts <= 1) return effect
    // Like `Effect.retry(effect, schedule(policy))`, but the schedule is built once per policy and its step
    // function only on the first failure (the elapsed time and the backoff both start there either way), so a
    // call that succeeds at once pays for neither.
    return Effect.catch(effect, (first) => {
      found.schedule ??= schedule(policy)
      return Effect.flatMap(Schedule.toStepWithSleep(found.schedule), (step) => {
        const loop = (error: OpenAiError): Effect.Effect<A, OpenAiError, R> =>
          Effect.matchEffect(step(error), {
            onFailure: () => Effect.fail(error),
            onSuccess: () => Effect.catch(effect, loop)
          })
        return loop(first)
      })
    })
  }
