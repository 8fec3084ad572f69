import { describe, expect, it } from "@effect/vitest"
import { Errors, Retry } from "@sluice/core"
import { Cause, Duration, Effect, Fiber, Random, Ref, Schedule, Schema } from "effect"
import { TestClock } from "effect/testing"

const serverError = new Errors.ServerError({ status: 500, message: "boom" })
const rateLimited = (retryAfterMs?: number) =>
  new Errors.RateLimited({ status: 429, message: "slow", ...(retryAfterMs === undefined ? {} : { retryAfterMs }) })

/** A `Random` that cycles through `values` (what Effect 3's `Random.fixed` did). */
const fixedRandom = (values: ReadonlyArray<number>): Random.Random => {
  let i = 0
  const next = () => values[i++ % values.length]!
  return { nextDoubleUnsafe: next, nextIntUnsafe: () => Math.floor(next() * Number.MAX_SAFE_INTEGER) }
}
const withFixedRandom = (values: ReadonlyArray<number>) => Effect.provideService(Random.Random, fixedRandom(values))

/**
 * The delays the policy chooses for a sequence of errors, stepping the schedule like the retry driver does
 * (the clock advances to each decision's end), without sleeping. Stops where the policy stops.
 */
const delaysOf = (policy: Retry.Policy, errors: ReadonlyArray<Errors.OpenAiError>, seed: ReadonlyArray<number>) =>
  Effect.gen(function* () {
    const step = yield* Schedule.toStep(Retry.schedule(policy))
    let now = 0
    const delays: Array<number> = []
    for (const error of errors) {
      const decision = yield* Effect.result(step(now, error))
      if (decision._tag === "Failure") {
        expect(Cause.isDone(decision.failure)).toBe(true)
        break
      }
      const [output, delay] = decision.success
      expect(Duration.toMillis(output)).toBe(Duration.toMillis(delay))
      delays.push(Duration.toMillis(delay))
      now += Duration.toMillis(delay)
    }
    return delays
  }).pipe(withFixedRandom(seed))

const int = (minimum: number, maximum: number) => Schema.Int.check(Schema.isBetween({ minimum, maximum }))
const policyArb = Schema.Struct({
  maxAttempts: int(1, 10),
  baseDelayMs: int(1, 2000),
  maxDelayMs: int(1, 60_000),
  maxHintMs: int(0, 120_000),
  deadlineMs: int(1, 3_600_000)
})
const seedArb = Schema.Array(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 0.999_999 }))).check(
  Schema.isBetweenLength(1, 5)
)

describe("Retry", () => {
  it.effect.prop(
    "every delay is within [0, min(cap, base·2^n)] when no hint is given, and attempts never exceed max",
    [policyArb, seedArb, int(1, 20)],
    ([policy, seed, failures]) =>
      Effect.gen(function* () {
        const delays = yield* delaysOf(
          policy,
          Array.from({ length: failures }, () => serverError),
          seed
        )
        expect(delays.length).toBeLessThanOrEqual(policy.maxAttempts - 1)
        delays.forEach((delay, n) => {
          expect(delay).toBeGreaterThanOrEqual(0)
          expect(delay).toBeLessThanOrEqual(Retry.ceilingMs(policy, n) + 1e-6)
        })
        expect(delays.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(policy.deadlineMs + 1e-6)
      })
  )

  it.effect.prop(
    "a hint within maxHintMs is honoured (delay ≥ hint); a longer one stops at once",
    [policyArb, seedArb, int(0, 200_000)],
    ([policy, seed, hint]) =>
      Effect.gen(function* () {
        const delays = yield* delaysOf({ ...policy, deadlineMs: 10_000_000 }, [rateLimited(hint)], seed)
        if (policy.maxAttempts === 1 || hint > policy.maxHintMs) expect(delays).toEqual([])
        else {
          expect(delays.length).toBe(1)
          expect(delays[0]).toBeGreaterThanOrEqual(hint)
          expect(delays[0]).toBe(Math.max(hint, delays[0]!))
        }
      })
  )

  it.effect.prop("non-retryable errors are never retried", [policyArb, seedArb], ([policy, seed]) =>
    Effect.gen(function* () {
      for (const error of [
        new Errors.QuotaExceeded({ status: 429, message: "q" }),
        new Errors.BadRequest({ status: 400, message: "b" }),
        new Errors.AuthenticationFailed({ status: 401, message: "a" }),
        new Errors.RateLimited({ status: 429, message: "no", shouldRetry: false })
      ]) {
        expect(yield* delaysOf(policy, [error], seed)).toEqual([])
      }
    })
  )

  it.effect("full jitter: Random 0.5 gives half the ceiling, capped at maxDelayMs", () =>
    Effect.gen(function* () {
      const policy = Retry.policy({ baseDelayMs: 1000, maxDelayMs: 5000, maxAttempts: 6 })
      const delays = yield* delaysOf(
        policy,
        Array.from({ length: 5 }, () => serverError),
        [0.5]
      )
      expect(delays).toEqual([500, 1000, 2000, 2500, 2500])
    })
  )

  it.effect("retry runs the effect maxAttempts times under TestClock, waiting the hint", () =>
    Effect.gen(function* () {
      const calls = yield* Ref.make(0)
      const policy = Retry.policy({ maxAttempts: 3, baseDelayMs: 100, maxHintMs: 10_000 })
      const fiber = yield* Ref.updateAndGet(calls, (n) => n + 1).pipe(
        Effect.flatMap(() => Effect.fail(rateLimited(2000))),
        Retry.retry(policy),
        Effect.flip,
        withFixedRandom([0.5]),
        Effect.forkChild
      )
      yield* TestClock.adjust("1999 millis")
      expect(yield* Ref.get(calls)).toBe(1)
      yield* TestClock.adjust("1 millis")
      expect(yield* Ref.get(calls)).toBe(2)
      yield* TestClock.adjust("2 seconds")
      const error = yield* Fiber.join(fiber)
      expect(yield* Ref.get(calls)).toBe(3)
      expect(error._tag).toBe("RateLimited")
    })
  )

  it.effect("a hint above maxHintMs fails fast with the error carrying it", () =>
    Effect.gen(function* () {
      const calls = yield* Ref.make(0)
      const error = yield* Ref.update(calls, (n) => n + 1).pipe(
        Effect.andThen(Effect.fail(rateLimited(120_000))),
        Retry.retry(Retry.defaults),
        Effect.flip
      )
      expect(yield* Ref.get(calls)).toBe(1)
      expect(error._tag === "RateLimited" && error.retryAfterMs).toBe(120_000)
    })
  )
})
