import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Budget from "@sluice/core/Budget"
import { type RedisServer, startRedis } from "@sluice/test-support/Redis"
import { Context, Effect, Exit, Fiber, Layer, Logger, Schedule, Scope } from "effect"
import { RedisBudget, RedisStore } from "../src/index.js"

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
      yield* sleep(500)
      expect(waiting.pollUnsafe()).toBeUndefined()
      expect(logs.lines.some((line) => line.startsWith("redis unreachable") && line.includes("paused"))).toBe(true)
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
      // Past the deadline operations fail at once until one succeeds: the client reconnects within a second.
      const remaining = yield* budget
        .remaining("global")
        .pipe(Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo({ times: 30 }))))
      expect(remaining).toEqual({ usd: 1 })
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
})
