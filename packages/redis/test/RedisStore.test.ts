import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Budget from "@sluice/core/Budget"
import * as RateLimiter from "@sluice/core/RateLimiter"
import { type RedisServer, startRedis } from "@sluice/test-support/Redis"
import { Cause, Context, Effect, Exit, Fiber, Layer, Logger, Schedule, Scope } from "effect"
import * as Redis from "effect/persistence/Redis"
import { createClient } from "redis"
import { RedisBreaker, RedisBudget, RedisLimiter, RedisStore } from "../src/index.js"

let redis: RedisServer
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis.stop()
})

const budgetIn = (scope: Scope.Scope, store: Partial<RedisStore.Options>, name: string) =>
  Effect.gen(function* () {
    const context = yield* Layer.buildWithScope(RedisStore.layer({ url: redis.url, ...store }), scope)
    const built = yield* Layer.buildWithScope(RedisBudget.layer({ name, ceilingUsd: 1 }), scope).pipe(
      Effect.provide(context)
    )
    return Context.get(built, Budget.Budget)
  })

/** Collects log lines. */
const capture = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ message }) => {
    lines.push(Array.isArray(message) ? message.map(String).join(" ") : String(message))
  })
  return { lines, layer: Logger.layer([logger]) }
}

const sleep = (ms: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))

/** Waits, in real time, until `condition` holds: no fixed sleep to guess under load. */
const eventually = (condition: () => boolean) =>
  Effect.gen(function* () {
    while (!condition()) yield* sleep(20)
  })

/**
 * The budget's remaining amount once Redis answers again: past the deadline operations fail at once until one
 * succeeds, and the client reconnects within a second.
 */
const answered = (budget: Budget.Budget["Service"]) =>
  budget.remaining("global").pipe(Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo({ times: 50 }))))

/** Runs a command on the server from a connection of the test's own. */
const command = (...args: Array<string>) =>
  Effect.promise(async () => {
    const client = await createClient({ url: redis.url }).connect()
    try {
      return await client.sendCommand(args)
    } finally {
      await client.close()
    }
  })

describe("RedisStore when Redis goes away", () => {
  it.live("an operation pauses (and says so) while redis-server is killed, and resumes when it is back", () => {
    const logs = capture()
    return Effect.gen(function* () {
      const scope = yield* Scope.make()
      const budget = yield* budgetIn(scope, { waitMs: 20_000 }, "outage")
      yield* Effect.scoped(
        Effect.flatMap(budget.reserve("global", { usd: 0.4, tokens: 0 }), (r) =>
          budget.settle(r, { usd: 0.3, tokens: 0 })
        )
      )
      yield* Effect.promise(() => redis.kill9())
      const waiting = yield* Effect.forkChild(budget.spent("global"))
      yield* eventually(() =>
        logs.lines.some((line) => line.startsWith("redis unreachable") && line.includes("paused"))
      )
      expect(waiting.pollUnsafe()).toBeUndefined()
      yield* Effect.promise(() => redis.restart())
      // The append-only file kept the spend across the kill.
      expect((yield* Fiber.join(waiting)).usd).toBeCloseTo(0.3, 9)
      expect(logs.lines.some((line) => line.startsWith("redis reachable again") && line.includes("resumed"))).toBe(true)
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.provide(logs.layer))
  })

  it.live("past waitMs an operation fails with StoreUnavailable naming it; nothing was reserved", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const budget = yield* budgetIn(scope, { waitMs: 400 }, "deadline")
      yield* Effect.promise(() => redis.kill9())
      const error = yield* Effect.flip(Effect.scoped(budget.reserve("global", { usd: 0.1, tokens: 0 })))
      expect(error).toMatchObject({ _tag: "StoreUnavailable", store: "redis", operation: "budget.reserve" })
      expect(error._tag === "StoreUnavailable" && error.waitedMs).toBeGreaterThanOrEqual(400)
      yield* Effect.promise(() => redis.restart())
      expect(yield* answered(budget)).toEqual({ usd: 1 })
      yield* Scope.close(scope, Exit.void)
    })
  )

  it.live("a Redis that is down at start fails the layer with StoreUnavailable, the URL's password unshown", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Effect.scoped(Layer.build(RedisStore.layer({ url: "redis://user:s3cret@127.0.0.1:1" })))
      )
      expect(error).toMatchObject({ _tag: "StoreUnavailable", operation: "connect 127.0.0.1:1" })
      expect(JSON.stringify(error)).not.toContain("s3cret")
      expect(error.message).not.toContain("s3cret")
    })
  )

  it("checks its options", () => {
    expect(RedisStore.validate({ url: "http://x" })).toMatchObject({ option: "redis.url" })
    expect(RedisStore.validate({ url: "redis://127.0.0.1:6379", waitMs: 0 })).toMatchObject({ option: "redis.waitMs" })
    expect(RedisStore.validate({ url: "redis://127.0.0.1:6379", prefix: "a b" })).toMatchObject({
      option: "redis.prefix"
    })
    expect(RedisStore.validate({ url: "redis://127.0.0.1:6379" })).toBeUndefined()
  })

  // The exit 70 once seen in the scale-out kill -9 test: every store's operations, a hint-less 429's pause among
  // them, run on while redis-server is killed and restarted twice; each must pause and resume, none may die.
  it.live("a stream of every store's operations through two kill -9s and restarts: all resume, none dies", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(RedisStore.layer({ url: redis.url, waitMs: 60_000 }), scope)
      const budget = yield* budgetIn(scope, { waitMs: 60_000 }, "stream")
      const limits = { requests: 6_000, tokens: undefined, burstFactor: 0.8 }
      const [limiterStore, breaker] = yield* Effect.all([RedisLimiter.store, RedisBreaker.store()]).pipe(
        Effect.provide(context)
      )
      const limiter = yield* RateLimiter.make({ store: limiterStore, pauseWithoutHintMs: 50 }).pipe(
        Scope.provide(scope)
      )
      const operations: ReadonlyArray<Effect.Effect<unknown, unknown>> = [
        Effect.scoped(
          Effect.flatMap(budget.reserve("global", { usd: 0.0001, tokens: 1 }), (r) =>
            budget.settle(r, { usd: 0.0001, tokens: 1 })
          )
        ),
        limiter.pause("key:model", undefined),
        limiterStore.take("key:model", limits, { requests: 1, tokens: 0 }, 0),
        breaker.read("key", "key:model")
      ]
      const done = operations.map(() => 0)
      let running = true
      const fibers = yield* Effect.forEach(operations, (operation, i) =>
        Effect.forkChild(
          Effect.gen(function* () {
            while (running) {
              yield* operation
              done[i]! += 1
            }
          })
        )
      )
      // Until every operation has completed three more times, or one of them has stopped (died): that fails below.
      const progressed = () => {
        const from = [...done]
        return () => fibers.some((f) => f.pollUnsafe() !== undefined) || done.every((n, i) => n >= from[i]! + 3)
      }
      const noneStopped = () => {
        for (const fiber of fibers) {
          const exit = fiber.pollUnsafe()
          expect(exit === undefined ? "running" : Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "ended").toBe(
            "running"
          )
        }
      }
      for (let restart = 0; restart < 2; restart++) {
        yield* eventually(progressed())
        noneStopped()
        yield* Effect.promise(() => redis.kill9())
        yield* sleep(200)
        yield* Effect.promise(() => redis.restart())
      }
      yield* eventually(progressed())
      noneStopped()
      running = false
      for (const fiber of fibers) expect(Exit.isSuccess(yield* Fiber.await(fiber))).toBe(true)
      yield* Scope.close(scope, Exit.void)
    })
  )

  it.live(
    "a server refusing writes (OOM over maxmemory) is an outage: StoreUnavailable past waitMs, then resumes",
    () =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const budget = yield* budgetIn(scope, { waitMs: 300 }, "oom")
        yield* command("CONFIG", "SET", "maxmemory", "1")
        const error = yield* Effect.flip(Effect.scoped(budget.reserve("global", { usd: 0.1, tokens: 0 }))).pipe(
          Effect.ensuring(command("CONFIG", "SET", "maxmemory", "0"))
        )
        expect(error).toMatchObject({ _tag: "StoreUnavailable", operation: "budget.reserve" })
        expect(error._tag === "StoreUnavailable" && error.cause).toContain("OOM")
        expect(yield* answered(budget)).toEqual({ usd: 1 })
        yield* Scope.close(scope, Exit.void)
      })
  )

  it.live("a script's own error is a defect, not an outage: it dies at once, without waiting", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(RedisStore.layer({ url: redis.url, waitMs: 60_000 }), scope)
      const store = Context.get(context, RedisStore.RedisStore)
      const buggy = Redis.script(() => [], { lua: "return redis.call('INCRBY', 'k', 'not a number')", numberOfKeys: 0 })
      const exit = yield* Effect.exit(store.eval("test.bug", buggy)())
      expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(true)
      const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      expect(defect).toBeInstanceOf(Redis.RedisError)
      expect(String((defect as Redis.RedisError).cause)).toContain("ERR value is not an integer")
      yield* Scope.close(scope, Exit.void)
    })
  )
})
