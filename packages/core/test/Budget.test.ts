import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Schema, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as Budget from "../src/Budget.js"

const amount = (usd: number, tokens = 0) => ({ usd, tokens })
const double = (minimum: number, maximum: number) => Schema.Finite.check(Schema.isBetween({ minimum, maximum }))

describe("Budget", () => {
  it.effect("refuses a request whose worst case would cross the ceiling, without touching spend", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ ceilingUsd: 1 })
      const first = yield* Effect.scoped(
        Effect.flatMap(budget.reserve("global", amount(0.6)), (r) => budget.settle(r, amount(0.5)))
      )
      expect(first).toBeUndefined()
      const refused = yield* Effect.flip(Effect.scoped(budget.reserve("global", amount(0.6))))
      expect(refused).toMatchObject({ _tag: "BudgetExceeded", unit: "usd", ceiling: 1, spent: 0.5, requested: 0.6 })
      expect(yield* budget.spent("global")).toEqual(amount(0.5))
      expect((yield* budget.remaining("global")).usd).toBeCloseTo(0.5)
    })
  )

  it.effect("counts reservations of calls in flight", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ ceilingUsd: 1 })
      const scope = yield* Scope.make()
      yield* budget.reserve("global", amount(0.7)).pipe(Scope.provide(scope))
      const refused = yield* Effect.flip(Effect.scoped(budget.reserve("global", amount(0.4))))
      assert(refused._tag === "BudgetExceeded")
      expect(refused.reserved).toBeCloseTo(0.7)
      // Closing the call scope without settling releases the reservation.
      yield* Scope.close(scope, Exit.void)
      yield* Effect.scoped(budget.reserve("global", amount(0.4)))
      expect(yield* budget.spent("global")).toEqual(amount(0))
    })
  )

  it.effect("release and settle are idempotent and exclusive", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ ceilingUsd: 1 })
      yield* Effect.scoped(
        Effect.gen(function* () {
          const r = yield* budget.reserve("global", amount(0.3))
          yield* budget.settle(r, amount(0.2))
          yield* budget.settle(r, amount(0.2))
          yield* budget.release(r)
        })
      )
      expect((yield* budget.spent("global")).usd).toBeCloseTo(0.2)
      expect((yield* budget.remaining("global")).usd).toBeCloseTo(0.8)
    })
  )

  it.effect("token ceilings and per-scope ceilings", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ ceilingTokens: 1000, ceilings: { team: { usd: 5 } } })
      expect(budget.enforced("global")).toBe(true)
      const refused = yield* Effect.flip(Effect.scoped(budget.reserve("global", amount(0, 1001))))
      expect(refused).toMatchObject({ scope: "global", unit: "tokens", ceiling: 1000, requested: 1001 })
      yield* Effect.scoped(budget.reserve("team", amount(4, 1_000_000)))
      const none = yield* Budget.make({})
      expect(none.enforced("global")).toBe(false)
    })
  )

  it.effect.prop(
    "concurrent fibers never push settled spend over the ceiling",
    [
      Schema.Array(
        Schema.Struct({
          worst: double(0.001, 0.5),
          fraction: double(0, 1),
          sent: Schema.Boolean,
          delay: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 100 }))
        })
      ).check(Schema.isBetweenLength(1, 60)),
      double(0.1, 3)
    ],
    ([calls, ceiling]) =>
      Effect.gen(function* () {
        const budget = yield* Budget.make({ ceilingUsd: ceiling })
        const fiber = yield* Effect.forEach(
          calls,
          (call) =>
            Effect.scoped(
              Effect.gen(function* () {
                const r = yield* budget.reserve("global", amount(call.worst))
                yield* Effect.sleep(call.delay)
                if (call.sent) yield* budget.settle(r, amount(call.worst * call.fraction))
                else yield* budget.release(r)
              })
            ).pipe(Effect.ignore),
          { concurrency: "unbounded", discard: true }
        ).pipe(Effect.forkChild)
        yield* TestClock.adjust(200)
        yield* Fiber.join(fiber)
        expect((yield* budget.spent("global")).usd).toBeLessThanOrEqual(ceiling + 1e-9)
        expect((yield* budget.remaining("global")).usd).toBeGreaterThanOrEqual(0)
      }),
    { arbitrary: { runs: 50 } }
  )

  it.effect("the file store keeps spend across restarts and tolerates a torn last line", () =>
    Effect.gen(function* () {
      const path = join(mkdtempSync(join(tmpdir(), "sluice-budget-")), "spend.jsonl")
      const first = yield* Budget.make({ ceilingUsd: 1 }, yield* Budget.makeFileStore(path))
      yield* Effect.scoped(
        Effect.flatMap(first.reserve("global", amount(0.5)), (r) => first.settle(r, amount(0.25, 100), "gpt-4o"))
      )
      yield* Effect.scoped(
        Effect.flatMap(first.reserve("global", amount(0.5)), (r) => first.settle(r, amount(0.25, 50)))
      )
      // A crash mid-write leaves half a line.
      writeFileSync(path, readFileSync(path, "utf8") + '{"at":1,"scope":"glo', "utf8")
      const resumed = yield* Budget.make({ ceilingUsd: 1 }, yield* Budget.makeFileStore(path))
      expect(yield* resumed.spent("global")).toEqual(amount(0.5, 150))
      yield* Effect.scoped(
        Effect.flatMap(resumed.reserve("global", amount(0.1)), (r) => resumed.settle(r, amount(0.1)))
      )
      const lines = readFileSync(path, "utf8").trimEnd().split("\n")
      expect(lines).toHaveLength(3)
      expect(lines.every((line) => JSON.parse(line).scope === "global")).toBe(true)
      const again = yield* Budget.make({ ceilingUsd: 1 }, yield* Budget.makeFileStore(path))
      expect((yield* again.spent("global")).usd).toBeCloseTo(0.6)
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )
})
