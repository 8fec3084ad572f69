import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Budget from "@sluice/core/Budget"
import { type RedisServer, startRedis } from "@sluice/test-support/Redis"
import { Clock, Context, Effect, Exit, Layer, Scope } from "effect"
import { createClient } from "redis"
import { RedisBudget, RedisStore } from "../src/index.js"

let redis: RedisServer
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis.stop()
})

let names = 0
/** A budget name of its own per test, so tests never see each other's spend. */
const fresh = () => `t${++names}-${Math.random().toString(36).slice(2, 8)}`

/** One "process": its own connection and instance id, in `scope`. */
const processIn = (scope: Scope.Scope, options: Partial<RedisStore.Options> = {}) =>
  Layer.buildWithScope(RedisStore.layer({ url: redis.url, ...options }), scope)

const budgetIn = (scope: Scope.Scope, budget: RedisBudget.Options, store: Partial<RedisStore.Options> = {}) =>
  Effect.gen(function* () {
    const context = yield* processIn(scope, store)
    const built = yield* Layer.buildWithScope(RedisBudget.layer(budget), scope).pipe(Effect.provide(context))
    return Context.get(built, Budget.Budget)
  })

const amount = (usd: number, tokens = 0) => ({ usd, tokens })

/** The test's own connection: it reads Redis's clock (TIME, what the scripts judge leases by) and the leases. */
const inspector = Effect.acquireRelease(
  Effect.promise(() => createClient({ url: redis.url }).connect()),
  (client) => Effect.promise(() => client.close())
)
type Inspector = Effect.Success<typeof inspector>

/** Redis's clock in ms, as the scripts read it. */
const redisNow = (client: Inspector) =>
  Effect.promise(async () => {
    const [seconds, micros] = (await client.sendCommand(["TIME"])) as [string, string]
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
  })

/** A lease field of budget `name` (a process's lease end, or '~seen': when any process last touched them). */
const leaseField = (client: Inspector, name: string, field: string) =>
  Effect.promise(() => client.hGet(`sluice:budget:${name}:leases`, field)).pipe(
    Effect.map((value) => (value === null ? undefined : Number(value)))
  )

/** Waits, in real time (TestClock may stand still), until `condition` holds: no fixed sleep to guess under load. */
const eventually = (condition: Effect.Effect<boolean>) =>
  Effect.gen(function* () {
    while (!(yield* condition)) yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
  })

const instanceOf = (context: Context.Context<RedisStore.RedisStore>) =>
  Context.get(context, RedisStore.RedisStore).instance

describe("RedisBudget against a real redis-server", () => {
  it.live("20 processes reserving at once never hold more than the ceiling, and settle it exactly", () =>
    Effect.gen(function* () {
      const name = fresh()
      const scope = yield* Scope.make()
      const budgets = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        () => budgetIn(scope, { name, ceilingUsd: 1 })
      )
      // Each of 20 processes tries 10 reservations of $0.03 at once, holding them: 200 × 0.03 = $6 asked, $1 allowed.
      const callScope = yield* Scope.make()
      const results = yield* Effect.forEach(
        budgets.flatMap((budget) => Array.from({ length: 10 }, () => budget)),
        (budget) =>
          budget.reserve("global", amount(0.03)).pipe(
            Scope.provide(callScope),
            Effect.map((reservation) => ({ budget, reservation })),
            Effect.exit
          ),
        { concurrency: "unbounded" }
      )
      const held = results.filter(Exit.isSuccess).map((exit) => exit.value)
      expect(held.length).toBe(33) // floor(1 / 0.03)
      const remaining = yield* budgets[0]!.remaining("global")
      expect(remaining.usd).toBeCloseTo(1 - 33 * 0.03, 9)
      // Settle every held one at $0.02 from the process that holds it; retried settles change nothing.
      yield* Effect.forEach(
        held,
        ({ budget, reservation }) =>
          Effect.andThen(budget.settle(reservation, amount(0.02)), budget.settle(reservation, amount(0.02))),
        { concurrency: "unbounded" }
      )
      yield* Scope.close(callScope, Exit.void)
      const spent = yield* budgets[5]!.spent("global")
      expect(spent.usd).toBeCloseTo(33 * 0.02, 9)
      expect((yield* budgets[7]!.remaining("global")).usd).toBeCloseTo(1 - 33 * 0.02, 9)
      yield* Scope.close(scope, Exit.void)
    })
  )

  it.live("a released reservation comes back to every process; spend survives the processes", () =>
    Effect.gen(function* () {
      const name = fresh()
      const a = yield* Scope.make()
      const first = yield* budgetIn(a, { name, ceilingUsd: 1 })
      yield* Effect.scoped(Effect.flatMap(first.reserve("global", amount(0.6)), (r) => first.settle(r, amount(0.5))))
      yield* Effect.scoped(first.reserve("global", amount(0.4))) // released when its scope closes
      yield* Scope.close(a, Exit.void)
      const b = yield* Scope.make()
      const second = yield* budgetIn(b, { name, ceilingUsd: 1 })
      expect(yield* second.spent("global")).toEqual(amount(0.5))
      const refused = yield* Effect.flip(Effect.scoped(second.reserve("global", amount(0.6))))
      expect(refused).toMatchObject({ _tag: "BudgetExceeded", unit: "usd", spent: 0.5, reserved: 0, requested: 0.6 })
      yield* Scope.close(b, Exit.void)
    })
  )

  it.effect(
    "a killed process's holds are dropped after its lease, within two (one more if nobody touched the budget for a lease), on Redis's clock",
    () =>
      Effect.gen(function* () {
        const leaseMs = 300
        const name = fresh()
        // Redis's clock, read with TIME: what the scripts judge leases by. Counting the test's own tries paced by
        // setTimeout measured the test's pacing, not the lease (2 tries instead of ≥ 3 on a loaded machine).
        const now = redisNow(yield* inspector)
        const dead = yield* Scope.make()
        const context = yield* processIn(dead, { leaseMs })
        const ledger = yield* RedisBudget.ledger(name).pipe(Effect.provide(context), Scope.provide(dead))
        // The dead process's lease was last renewed between `heldFrom` and `diedAt` (on Redis's clock).
        const heldFrom = yield* now
        const held = yield* ledger.reserve({ id: 1, scope: "global", usd: 0.9, tokens: 0 }, { usd: 1 })
        expect(held.held).toBe(true)
        // The process "dies": its heartbeat stops, its reservation is never released.
        yield* Scope.close(dead, Exit.void)
        const diedAt = yield* now
        // The latest Redis time the dead lease may legitimately end at: its last renewal + a lease, or — when a touch
        // of the leases may have come after a silence longer than a lease (this loop stalled, or the live process
        // took that long to connect), which gives every lease one more — that touch + a lease.
        let endsBy = diedAt + leaseMs
        let previousTouch = heldFrom
        const touched = (before: number, after: number) => {
          if (after - previousTouch > leaseMs) endsBy = Math.max(endsBy, after + leaseMs)
          previousTouch = before
        }
        const live = yield* Scope.make()
        const other = yield* budgetIn(live, { name, ceilingUsd: 1 }, { leaseMs })
        const early = yield* Effect.flip(Effect.scoped(other.reserve("global", amount(0.5))))
        touched(diedAt, yield* now)
        expect(early).toMatchObject({ _tag: "BudgetExceeded", reserved: 0.9 })
        // Real time passes (TestClock does not move, so only these reservations touch the leases). A live process
        // keeps renewing, the dead one does not.
        for (;;) {
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
          const before = yield* now
          const exit = yield* Effect.exit(Effect.scoped(other.reserve("global", amount(0.5))))
          const after = yield* now
          touched(before, after)
          if (Exit.isSuccess(exit)) {
            // Within two leases of its last renewal when the live process came back in time, else of its return.
            expect(after - Math.max(diedAt, endsBy - leaseMs)).toBeLessThanOrEqual(2 * leaseMs + (after - before))
            // Not before its lease ran out: the script that dropped it ran before `after`, the lease began after
            // `heldFrom`.
            expect(after - heldFrom).toBeGreaterThanOrEqual(leaseMs)
            break
          }
          expect(String(exit.cause)).toContain("BudgetExceeded")
          // Dropped by the first reservation after its lease (plus a grace lease when one was due): a refusal judged
          // later (after `before`) is a hold kept too long.
          expect(before).toBeLessThanOrEqual(endsBy)
        }
        expect(yield* Clock.currentTimeMillis).toBe(0)
        yield* Scope.close(live, Exit.void)
      })
  )

  // Regression: a heartbeat that found a dead lease deleted it without dropping the dead process's holds (only a
  // reserve drops them, in its scope), so a later reserve no longer knew the process was dead: its holds stayed until
  // the held hash expired (ttlMs, 30 days by default), and the budget looked spent.
  it.live("a killed process's holds are dropped even when another process's heartbeat judged its lease first", () =>
    Effect.gen(function* () {
      const leaseMs = 300
      const name = fresh()
      const client = yield* inspector
      const dead = yield* Scope.make()
      const context = yield* processIn(dead, { leaseMs })
      const ledger = yield* RedisBudget.ledger(name).pipe(Effect.provide(context), Scope.provide(dead))
      expect((yield* ledger.reserve({ id: 1, scope: "global", usd: 0.9, tokens: 0 }, { usd: 1 })).held).toBe(true)
      yield* Scope.close(dead, Exit.void)
      // A live process that only heartbeats (every lease / 3) until its heartbeat has judged the dead lease.
      const live = yield* Scope.make()
      const other = yield* RedisBudget.ledger(name).pipe(
        Effect.provide(yield* processIn(live, { leaseMs })),
        Scope.provide(live)
      )
      yield* eventually(Effect.map(leaseField(client, name, instanceOf(context)), (ends) => ends === undefined))
      // The next reservation drops the dead process's hold.
      const mine = yield* other.reserve({ id: 1, scope: "global", usd: 0.5, tokens: 0 }, { usd: 1 })
      expect(mine).toMatchObject({ held: true, totals: { reservedUsd: 0.5 } })
      yield* Scope.close(live, Exit.void)
    }).pipe(Effect.scoped)
  )

  it.effect("an outage longer than the lease keeps the holds of live processes (each gets a lease to renew)", () =>
    Effect.gen(function* () {
      // TestClock stands still, so a heartbeat renews once when it starts and never again: only the steps below
      // touch the leases, each judged on Redis's clock against the one before, whatever the machine's load.
      const leaseMs = 300
      const name = fresh()
      const client = yield* inspector
      const connection = yield* Scope.make()
      const heartbeat = yield* Scope.make()
      const context = yield* processIn(connection, { leaseMs })
      const ledger = yield* RedisBudget.ledger(name).pipe(Effect.provide(context), Scope.provide(heartbeat))
      expect((yield* ledger.reserve({ id: 1, scope: "global", usd: 0.9, tokens: 0 }, { usd: 1 })).held).toBe(true)
      // Nobody renews for longer than the lease, as when every process is paused by an outage.
      yield* Scope.close(heartbeat, Exit.void)
      yield* eventually(
        Effect.gen(function* () {
          const seen = (yield* leaseField(client, name, "~seen")) ?? 0
          return (yield* redisNow(client)) - seen > leaseMs
        })
      )
      // The first process to come back (its heartbeat's first renewal) does not judge the first one dead: every
      // lease gets one more, ending when its own does.
      const other = yield* Scope.make()
      const otherContext = yield* processIn(other, { leaseMs })
      const otherLedger = yield* RedisBudget.ledger(name).pipe(Effect.provide(otherContext), Scope.provide(other))
      const otherLease = leaseField(client, name, instanceOf(otherContext))
      yield* eventually(Effect.map(otherLease, (ends) => ends !== undefined))
      const graceEnds = (yield* otherLease)!
      expect(yield* leaseField(client, name, instanceOf(context))).toBe(graceEnds)
      // The first process renews its lease with its next operation, late in that lease (if later than its end, after
      // another silence, it gets another grace), and its hold is still there…
      yield* eventually(Effect.map(redisNow(client), (now) => now > graceEnds - leaseMs / 2))
      const renewed = yield* ledger.reserve({ id: 2, scope: "global", usd: 0.05, tokens: 0 }, { usd: 1 })
      expect(renewed).toMatchObject({ held: true, totals: { reservedUsd: 0.95 } })
      // …and past the lease the grace gave, the renewed lease keeps it: the other process's reserve is refused.
      yield* eventually(Effect.map(redisNow(client), (now) => now > graceEnds))
      const later = yield* otherLedger.reserve({ id: 1, scope: "global", usd: 0.5, tokens: 0 }, { usd: 1 })
      expect(later.held).toBe(false)
      expect(later.totals.reservedUsd).toBeCloseTo(0.95, 9)
      expect(yield* Clock.currentTimeMillis).toBe(0)
      yield* Scope.close(other, Exit.void)
      yield* Scope.close(connection, Exit.void)
    })
  )

  it.live("a settle whose hold was dropped (its lease ran out) still counts its spend, once", () =>
    Effect.gen(function* () {
      const name = fresh()
      const connection = yield* Scope.make()
      const heartbeat = yield* Scope.make()
      const context = yield* processIn(connection, { leaseMs: 200 })
      const ledger = yield* RedisBudget.ledger(name).pipe(Effect.provide(context), Scope.provide(heartbeat))
      const reservation = { id: 7, scope: "global", usd: 0.5, tokens: 10 }
      expect((yield* ledger.reserve(reservation, { usd: 1 })).held).toBe(true)
      // Its heartbeat stops (a process stalled past its lease, by Redis's clock); another process's reservation then
      // drops its hold.
      yield* Scope.close(heartbeat, Exit.void)
      const client = yield* inspector
      yield* eventually(
        Effect.gen(function* () {
          const ends = (yield* leaseField(client, name, instanceOf(context))) ?? 0
          return (yield* redisNow(client)) > ends
        })
      )
      const other = yield* Scope.make()
      const otherLedger = yield* RedisBudget.ledger(name).pipe(
        Effect.provide(yield* processIn(other)),
        Scope.provide(other)
      )
      const theirs = yield* otherLedger.reserve({ id: 1, scope: "global", usd: 0.1, tokens: 0 }, { usd: 1 })
      expect(theirs.totals).toMatchObject({ reservedUsd: 0.1 })
      // The stalled process's answer arrives: its spend is counted, once.
      expect(yield* ledger.settle(reservation, { usd: 0.25, tokens: 8 })).toMatchObject({
        spentUsd: 0.25,
        spentTokens: 8
      })
      expect(yield* ledger.settle(reservation, { usd: 0.25, tokens: 8 })).toBeUndefined()
      expect(yield* otherLedger.totals("global")).toMatchObject({ spentUsd: 0.25, spentTokens: 8, reservedUsd: 0.1 })
      yield* Scope.close(other, Exit.void)
      yield* Scope.close(connection, Exit.void)
    })
  )

  it.live("a reservation released before its (retried) reserve arrives is never held", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const ledger = yield* RedisBudget.ledger(fresh()).pipe(
        Effect.provide(yield* processIn(scope)),
        Scope.provide(scope)
      )
      const reservation = { id: 3, scope: "global", usd: 0.5, tokens: 0 }
      // An interrupted reserve releases its id; a retry of that reserve reaching Redis afterwards holds nothing.
      expect(yield* ledger.release(reservation)).toMatchObject({ reservedUsd: 0 })
      expect((yield* ledger.reserve(reservation, { usd: 1 })).held).toBe(false)
      expect(yield* ledger.totals("global")).toMatchObject({ reservedUsd: 0, spentUsd: 0 })
      yield* Scope.close(scope, Exit.void)
    })
  )
})
