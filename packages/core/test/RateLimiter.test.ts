import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Exit, Fiber, Ref, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as RateLimiter from "../src/RateLimiter.js"
import { RateLimitSnapshot } from "../src/RateLimitHeaders.js"

const scope = "key:gpt-4o"

/** Advances the test clock in small steps so freshly scheduled sleeps run in order. */
const advance = (ms: number, step = 50) =>
  Effect.gen(function* () {
    for (let t = 0; t < ms; t += step) yield* TestClock.adjust(Math.min(step, ms - t))
  })

interface Admission {
  readonly at: number
  readonly tokens: number
  readonly requests: number
}

/** Starts one fiber per arrival; each records when it was admitted. */
const runArrivals = (
  limiter: RateLimiter.RateLimiter["Service"],
  arrivals: ReadonlyArray<{ readonly at: number; readonly tokens: number }>
) =>
  Effect.gen(function* () {
    const log = yield* Ref.make<Array<Admission>>([])
    const fibers = yield* Effect.forEach(arrivals, (arrival) =>
      Effect.sleep(arrival.at).pipe(
        Effect.andThen(limiter.acquire(scope, { requests: 1, tokens: arrival.tokens })),
        Effect.andThen(Clock.currentTimeMillis),
        Effect.flatMap((at) => Ref.update(log, (xs) => [...xs, { at, tokens: arrival.tokens, requests: 1 }])),
        Effect.forkChild
      )
    )
    return { log, fibers }
  })

/** The most any window [a, b] admitted, minus what the rate allows over it: must stay within the burst. */
const worstExcess = (admissions: ReadonlyArray<Admission>, ratePerMs: number, key: "tokens" | "requests") => {
  const sorted = [...admissions].sort((a, b) => a.at - b.at)
  let worst = Number.NEGATIVE_INFINITY
  for (let i = 0; i < sorted.length; i++) {
    let sum = 0
    for (let j = i; j < sorted.length; j++) {
      sum += sorted[j]![key]
      worst = Math.max(worst, sum - ratePerMs * (sorted[j]!.at - sorted[i]!.at))
    }
  }
  return worst
}

const int = (minimum: number, maximum: number) => Schema.Int.check(Schema.isBetween({ minimum, maximum }))

describe("RateLimiter", () => {
  it.effect("while no limit is known: one probe, then everything once a response shows no limits", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter.make()
      const cost = { requests: 1, tokens: 10_000 }
      yield* limiter.acquire(scope, cost)
      // The opening burst waits for the probe's response instead of overrunning limits not yet seen.
      const second = yield* Effect.forkChild(limiter.acquire(scope, cost))
      yield* TestClock.adjust(1000)
      expect(second.pollUnsafe()).toBeUndefined()
      yield* limiter.observe(scope, RateLimitSnapshot.make({})) // a local server: no rate-limit headers
      yield* Fiber.join(second)
      for (let i = 0; i < 100; i++) yield* limiter.acquire(scope, cost)
    })
  )

  it.effect("a slow probe ends probing after probeTimeoutMs; probeTimeoutMs: 0 never probes", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter.make({ probeTimeoutMs: 5000 })
      const cost = { requests: 1, tokens: 1 }
      yield* limiter.acquire(scope, cost)
      const second = yield* Effect.forkChild(limiter.acquire(scope, cost))
      yield* TestClock.adjust(4999)
      expect(second.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust(1)
      yield* Fiber.join(second)
      const unprobed = yield* RateLimiter.make({ probeTimeoutMs: 0 })
      for (let i = 0; i < 100; i++) yield* unprobed.acquire(scope, cost)
    })
  )

  it.effect("the probe's headers teach the limits that pace everything after it", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter.make()
      yield* limiter.acquire(scope, { requests: 1, tokens: 0 })
      const { fibers, log } = yield* runArrivals(
        limiter,
        [0, 0, 0].map(() => ({ at: 0, tokens: 0 }))
      )
      yield* TestClock.adjust(10)
      expect(yield* Ref.get(log)).toEqual([])
      yield* limiter.observe(scope, RateLimitSnapshot.make({ limitRequests: 60 })) // 1 per second
      yield* advance(5000)
      yield* Fiber.joinAll(fibers)
      const times = (yield* Ref.get(log)).map((a) => a.at)
      expect(times.length).toBe(3)
      // Paced at one a second from the probe's admission at 0, not released together.
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(900)
      expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(900)
    })
  )

  it.effect("paces per-minute limits per second: 60 RPM admits one request per second", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter.make({ requestsPerMinute: 60 })
      const { fibers, log } = yield* runArrivals(
        limiter,
        [0, 0, 0, 0].map(() => ({ at: 0, tokens: 0 }))
      )
      yield* advance(5000)
      yield* Fiber.joinAll(fibers)
      expect((yield* Ref.get(log)).map((a) => a.at)).toEqual([0, 1000, 2000, 3000])
    })
  )

  it.effect("fails at once with RequestTooLarge when a request exceeds the per-minute limit", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter.make({ tokensPerMinute: 1000 })
      const error = yield* Effect.flip(limiter.acquire(scope, { requests: 1, tokens: 1001 }))
      expect(error._tag).toBe("RequestTooLarge")
      expect(error).toMatchObject({ bucket: "tokens", requested: 1001, capacity: 1000 })
      // A request larger than one second's worth (but within the limit) waits for an empty bucket, not forever.
      yield* limiter.acquire(scope, { requests: 1, tokens: 900 })
    })
  )

  it.effect("a 429 closes the gate for every fiber until the hint, then resumes at the rate, not in a burst", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter.make({ requestsPerMinute: 600 }) // 10/s, burst 10
      yield* limiter.pause(scope, 5000)
      const { fibers, log } = yield* runArrivals(
        limiter,
        Array.from({ length: 10 }, () => ({ at: 0, tokens: 0 }))
      )
      yield* advance(4900, 100)
      yield* TestClock.adjust(99)
      expect(yield* Ref.get(log)).toEqual([])
      yield* advance(2000)
      yield* Fiber.joinAll(fibers)
      const times = (yield* Ref.get(log)).map((a) => a.at)
      expect(times[0]).toBeGreaterThanOrEqual(5000)
      // Refilled from empty: 10 requests spread over ~1 s at 100 ms each.
      expect(times[9]! - times[0]!).toBeGreaterThanOrEqual(900)
      const status = yield* limiter.status(scope)
      expect(status.pausedUntilMs).toBe(0)
    })
  )

  it.effect("learns limits from headers; a configured limit acts as a ceiling", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter.make({ tokensPerMinute: 6000 })
      yield* limiter.observe(scope, RateLimitSnapshot.make({ limitRequests: 120, limitTokens: 1_000_000 }))
      const status = yield* limiter.status(scope)
      expect(status.limits.requests).toBe(120)
      expect(status.limits.tokens).toBe(6000)
    })
  )

  it.effect("header corrections never admit more than the server said remained", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter.make({ requestsPerMinute: 6000 }) // burst 100/s
      yield* limiter.observe(scope, RateLimitSnapshot.make({ limitRequests: 6000, remainingRequests: 5903 }))
      const { fibers, log } = yield* runArrivals(
        limiter,
        Array.from({ length: 20 }, () => ({ at: 0, tokens: 0 }))
      )
      yield* TestClock.adjust(0)
      yield* Effect.yieldNow
      expect((yield* Ref.get(log)).length).toBeLessThanOrEqual(3)
      yield* advance(1000)
      yield* Fiber.joinAll(fibers)
    })
  )

  it.effect("derives the correction from reset-* when remaining-* is absent", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter.make()
      // 60 RPM, empty for another 60 s: nothing left.
      yield* limiter.observe(scope, RateLimitSnapshot.make({ limitRequests: 60, resetRequestsMs: 60_000 }))
      const status = yield* limiter.status(scope)
      expect(status.remainingRequests).toBe(0)
    })
  )

  it.effect("an interrupted waiter leaves no debt", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter.make({ tokensPerMinute: 60_000 }) // 1000/s
      yield* limiter.acquire(scope, { requests: 1, tokens: 1000 })
      const waiter = yield* Effect.forkChild(limiter.acquire(scope, { requests: 1, tokens: 1000 }))
      yield* TestClock.adjust(500)
      yield* Fiber.interrupt(waiter)
      yield* TestClock.adjust(500)
      // Had the waiter left debt, this would have to wait another second.
      const exit = yield* limiter
        .acquire(scope, { requests: 1, tokens: 1000 })
        .pipe(Effect.timeout(1), Effect.forkChild, Effect.flatMap(Fiber.await))
      expect(Exit.isSuccess(exit)).toBe(true)
    })
  )

  it.effect("waiting is FIFO: a big request is not starved by small ones behind it", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter.make({ tokensPerMinute: 60_000 }) // 1000/s, burst 1000
      yield* limiter.acquire(scope, { requests: 1, tokens: 1000 })
      const order = yield* Ref.make<Array<string>>([])
      const big = yield* Effect.forkChild(
        limiter
          .acquire(scope, { requests: 1, tokens: 1000 })
          .pipe(Effect.andThen(Ref.update(order, (o) => [...o, "big"])))
      )
      yield* Effect.yieldNow
      const smalls = yield* Effect.forEach(Array.from({ length: 5 }), (_, i) =>
        limiter
          .acquire(scope, { requests: 1, tokens: 10 })
          .pipe(Effect.andThen(Ref.update(order, (o) => [...o, `small${i}`])), Effect.forkChild)
      )
      yield* advance(3000)
      yield* Fiber.join(big)
      yield* Fiber.joinAll(smalls)
      expect((yield* Ref.get(order))[0]).toBe("big")
    })
  )

  it.effect("settle charges under-estimates; refunds only when enabled", () =>
    Effect.gen(function* () {
      const strict = yield* RateLimiter.make({ tokensPerMinute: 60_000 })
      const permit = yield* strict.acquire(scope, { requests: 1, tokens: 500 })
      yield* strict.settle(permit, 100)
      expect((yield* strict.status(scope)).remainingTokens).toBe(59_500)
      yield* strict.settle(permit, 700)
      expect((yield* strict.status(scope)).remainingTokens).toBe(59_300)
      const refunding = yield* RateLimiter.make({ tokensPerMinute: 60_000, refundUnused: true })
      const p2 = yield* refunding.acquire(scope, { requests: 1, tokens: 500 })
      yield* refunding.settle(p2, 100)
      expect((yield* refunding.status(scope)).remainingTokens).toBe(59_900)
    })
  )

  it.effect.prop(
    "over any window, admitted requests and tokens never exceed rate × window + burst, and nobody starves",
    [
      Schema.Array(Schema.Struct({ at: int(0, 3000), tokens: int(1, 1500) })).check(Schema.isBetweenLength(1, 25)),
      int(60, 1200),
      Schema.Literals([0.5, 1, 2])
    ],
    ([arrivals, rpm, burstFactor]) =>
      Effect.scoped(
        Effect.gen(function* () {
          const tpm = 60_000
          const limiter = yield* RateLimiter.make({ requestsPerMinute: rpm, tokensPerMinute: tpm, burstFactor })
          const { fibers, log } = yield* runArrivals(limiter, arrivals)
          // Enough time for everything to drain: the worst case is every request waiting its turn.
          const horizon = 3000 + arrivals.length * Math.max(60_000 / rpm, 1500) + 2000
          yield* advance(horizon, 1000)
          yield* Fiber.joinAll(fibers)
          const admitted = yield* Ref.get(log)
          expect(admitted.length).toBe(arrivals.length)
          const maxTokens = Math.max(...arrivals.map((a) => a.tokens))
          expect(worstExcess(admitted, tpm / 60_000, "tokens")).toBeLessThanOrEqual(
            Math.max((tpm / 60) * burstFactor, maxTokens) + 1e-6
          )
          expect(worstExcess(admitted, rpm / 60_000, "requests")).toBeLessThanOrEqual(
            Math.max((rpm / 60) * burstFactor, 1) + 1e-6
          )
        })
      ),
    { arbitrary: { runs: 30 } }
  )

  it.effect.prop(
    "after a correction, the limiter admits at most what the server said remained",
    [int(60, 60_000), int(0, 200), int(1, 300)],
    ([limit, remainingRaw, attempts]) =>
      Effect.scoped(
        Effect.gen(function* () {
          const remaining = Math.min(remainingRaw, limit)
          const limiter = yield* RateLimiter.make({ requestsPerMinute: limit })
          yield* limiter.observe(scope, RateLimitSnapshot.make({ limitRequests: limit, remainingRequests: remaining }))
          let admitted = 0
          for (let i = 0; i < attempts; i++) {
            const got = yield* limiter.acquire(scope, { requests: 1, tokens: 0 }).pipe(Effect.timeout(0), Effect.option)
            if (got._tag === "Some") admitted++
          }
          expect(admitted).toBeLessThanOrEqual(remaining)
        })
      ),
    { arbitrary: { runs: 25 } }
  )
})
