import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Metric, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import { AuthenticationFailed, BadRequest, QuotaExceeded, RateLimited } from "../src/Errors.js"

const scope = "key1:gpt-4o"
const ok: CircuitBreaker.Outcome = { _tag: "Success" }
const throttled: CircuitBreaker.Outcome = {
  _tag: "Failure",
  error: new RateLimited({ message: "slow down", status: 429 })
}

const feed = (breaker: CircuitBreaker.CircuitBreaker["Service"], successes: number, failures: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < successes; i++) yield* breaker.record(scope, ok)
    for (let i = 0; i < failures; i++) yield* breaker.record(scope, throttled)
  })

const guardOnce = (breaker: CircuitBreaker.CircuitBreaker["Service"]) => Effect.scoped(breaker.guard(scope))

describe("CircuitBreaker", () => {
  it.effect("does not trip below the minimum number of calls (1 of 3 is not a storm)", () =>
    Effect.gen(function* () {
      const breaker = yield* CircuitBreaker.make()
      yield* feed(breaker, 2, 1)
      expect(yield* breaker.state(scope)).toBe("closed")
      yield* guardOnce(breaker)
    })
  )

  it.effect("opens when 429s exceed 10 % of ≥ 20 calls in 60 s, stays open 60 s, then probes", () =>
    Effect.gen(function* () {
      const breaker = yield* CircuitBreaker.make()
      yield* feed(breaker, 18, 2) // 10 %: not more than 10 %
      expect(yield* breaker.state(scope)).toBe("closed")
      yield* feed(breaker, 0, 1) // 3 of 21 > 10 %
      expect(yield* breaker.state(scope)).toBe("open")
      const refused = yield* Effect.flip(guardOnce(breaker))
      expect(refused._tag).toBe("CircuitOpen")
      assert(refused._tag === "CircuitOpen")
      expect(refused.closesAtMs).toBe(60_000)
      yield* TestClock.adjust(59_999)
      expect((yield* Effect.exit(guardOnce(breaker)))._tag).toBe("Failure")
      yield* TestClock.adjust(1)
      // Half-open: one probe goes through, a second caller is refused meanwhile.
      const probeScope = yield* Scope.make()
      yield* breaker.guard(scope).pipe(Scope.provide(probeScope))
      expect(yield* breaker.state(scope)).toBe("half-open")
      expect((yield* Effect.exit(guardOnce(breaker)))._tag).toBe("Failure")
      yield* breaker.record(scope, ok)
      yield* Scope.close(probeScope, Exit.void)
      expect(yield* breaker.state(scope)).toBe("closed")
      yield* guardOnce(breaker)
    })
  )

  it.effect("a failed probe opens it again for another period", () =>
    Effect.gen(function* () {
      const breaker = yield* CircuitBreaker.make({ minimumCalls: 1, openMs: 1000 })
      yield* feed(breaker, 0, 1)
      yield* TestClock.adjust(1000)
      yield* guardOnce(breaker)
      yield* breaker.record(scope, throttled)
      expect(yield* breaker.state(scope)).toBe("open")
      const refused = yield* Effect.flip(guardOnce(breaker))
      assert(refused._tag === "CircuitOpen")
      expect(refused.closesAtMs).toBe(2000)
    })
  )

  it.effect("an abandoned probe frees its slot when its scope closes", () =>
    Effect.gen(function* () {
      const breaker = yield* CircuitBreaker.make({ minimumCalls: 1, openMs: 1000 })
      yield* feed(breaker, 0, 1)
      yield* TestClock.adjust(1000)
      yield* guardOnce(breaker) // probe taken, scope closed without an outcome
      yield* guardOnce(breaker) // so the next caller may probe
    })
  )

  it.effect("failures slide out of the window", () =>
    Effect.gen(function* () {
      const breaker = yield* CircuitBreaker.make({ minimumCalls: 4 })
      yield* feed(breaker, 0, 3)
      yield* TestClock.adjust(61_000)
      yield* feed(breaker, 30, 1) // 1 of 31 now in the window
      expect(yield* breaker.state(scope)).toBe("closed")
    })
  )

  it.effect("errors outside tripOn never trip; tripOn is configurable", () =>
    Effect.gen(function* () {
      const breaker = yield* CircuitBreaker.make({ minimumCalls: 1 })
      const bad: CircuitBreaker.Outcome = { _tag: "Failure", error: new BadRequest({ message: "no" }) }
      for (let i = 0; i < 30; i++) yield* breaker.record(scope, bad)
      expect(yield* breaker.state(scope)).toBe("closed")
      const strict = yield* CircuitBreaker.make({ minimumCalls: 1, tripOn: ["BadRequest"] })
      yield* strict.record(scope, bad)
      expect(yield* strict.state(scope)).toBe("open")
    })
  )

  it.effect("QuotaExceeded and AuthenticationFailed blow a fuse for the key: every later call fails fast", () =>
    Effect.gen(function* () {
      const breaker = yield* CircuitBreaker.make()
      yield* breaker.record(scope, { _tag: "Failure", error: new QuotaExceeded({ message: "pay up", status: 429 }) })
      const refused = yield* Effect.flip(breaker.checkFuse("key1:gpt-4o-mini"))
      expect(refused).toMatchObject({ _tag: "CircuitOpen", scope: "key1", reason: "QuotaExceeded" })
      assert(refused._tag === "CircuitOpen")
      expect(refused.closesAtMs).toBeUndefined()
      expect((yield* Effect.exit(guardOnce(breaker)))._tag).toBe("Failure")
      yield* TestClock.adjust(3_600_000)
      expect(yield* breaker.state(scope)).toBe("fused")
      // Another key is unaffected.
      yield* breaker.checkFuse("key2:gpt-4o")
      yield* breaker.record("key2:gpt-4o", {
        _tag: "Failure",
        error: new AuthenticationFailed({ message: "bad key", status: 401 })
      })
      expect(yield* breaker.state("key2:x")).toBe("fused")
      yield* breaker.reset(scope)
      yield* guardOnce(breaker)
    })
  )

  it.effect("state changes are metered", () =>
    Effect.gen(function* () {
      const breaker = yield* CircuitBreaker.make({ minimumCalls: 1 })
      yield* breaker.record("metered:m", throttled)
      const gauge = yield* Metric.value(CircuitBreaker.stateGauge.pipe(Metric.withAttributes({ scope: "metered:m" })))
      expect(gauge.value).toBe(2)
      const count = yield* Metric.value(
        CircuitBreaker.transitions.pipe(Metric.withAttributes({ scope: "metered:m", from: "closed", to: "open" }))
      )
      expect(count.count).toBe(1)
    })
  )
})
