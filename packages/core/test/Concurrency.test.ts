import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Ref } from "effect"
import { TestClock } from "effect/testing"
import * as Concurrency from "../src/Concurrency.js"

const track = (
  gate: Concurrency.Concurrency["Service"],
  scope: string,
  inFlight: Ref.Ref<number>,
  peak: Ref.Ref<number>
) =>
  Effect.scoped(
    Effect.gen(function* () {
      yield* gate.acquire(scope)
      const now = yield* Ref.updateAndGet(inFlight, (n) => n + 1)
      yield* Ref.update(peak, (p) => Math.max(p, now))
      yield* Effect.sleep(100)
      yield* Ref.update(inFlight, (n) => n - 1)
    })
  )

describe("Concurrency", () => {
  it.effect("bounds requests in flight globally", () =>
    Effect.gen(function* () {
      const gate = yield* Concurrency.make({ permits: 3 })
      const inFlight = yield* Ref.make(0)
      const peak = yield* Ref.make(0)
      const fiber = yield* Effect.forkChild(
        Effect.forEach(Array.from({ length: 10 }), () => track(gate, "a", inFlight, peak), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust(1000)
      yield* Fiber.join(fiber)
      expect(yield* Ref.get(peak)).toBe(3)
    })
  )

  it.effect("bounds requests in flight per scope", () =>
    Effect.gen(function* () {
      const gate = yield* Concurrency.make({ permits: 100, perScope: 2 })
      const inFlight = yield* Ref.make(0)
      const peak = yield* Ref.make(0)
      const other = yield* Ref.make(0)
      const fiber = yield* Effect.forkChild(
        Effect.all(
          [
            Effect.forEach(Array.from({ length: 6 }), () => track(gate, "a", inFlight, peak), {
              concurrency: "unbounded"
            }),
            Effect.forEach(Array.from({ length: 6 }), () => track(gate, "b", other, other), {
              concurrency: "unbounded"
            })
          ],
          { concurrency: "unbounded" }
        )
      )
      yield* TestClock.adjust(1000)
      yield* Fiber.join(fiber)
      expect(yield* Ref.get(peak)).toBe(2)
    })
  )

  it.effect("resizes at run time", () =>
    Effect.gen(function* () {
      const gate = yield* Concurrency.make({ permits: 1 })
      const inFlight = yield* Ref.make(0)
      const peak = yield* Ref.make(0)
      const fiber = yield* Effect.forkChild(
        Effect.forEach(Array.from({ length: 8 }), () => track(gate, "a", inFlight, peak), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust(50)
      expect(yield* Ref.get(inFlight)).toBe(1)
      yield* gate.resize(4)
      yield* TestClock.adjust(0)
      yield* Effect.yieldNow
      expect(yield* Ref.get(inFlight)).toBe(4)
      expect(yield* gate.permits).toBe(4)
      yield* TestClock.adjust(1000)
      yield* Fiber.join(fiber)
    })
  )

  it.effect("an interrupted waiter and a finished holder both leave the permit free", () =>
    Effect.gen(function* () {
      const gate = yield* Concurrency.make({ permits: 1 })
      const holder = yield* Effect.forkChild(gate.withPermit("a")(Effect.sleep(1000)))
      yield* TestClock.adjust(1)
      const waiter = yield* Effect.forkChild(gate.withPermit("a")(Effect.void))
      yield* TestClock.adjust(1)
      yield* Fiber.interrupt(waiter)
      yield* Fiber.interrupt(holder)
      // The permit is free again: this completes without time passing.
      yield* gate.withPermit("a")(Effect.void)
    })
  )
})
