import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as CircuitBreaker from "@sluice/core/CircuitBreaker"
import { QuotaExceeded, RateLimited } from "@sluice/core/Errors"
import { type RedisServer, startRedis } from "@sluice/test-support/Redis"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { RedisBreaker, RedisStore } from "../src/index.js"

let redis: RedisServer
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis.stop()
})

/** One "process": its own connection and breaker. */
const breakerIn = (scope: Scope.Scope, prefix: string, options: RedisBreaker.Options = {}) =>
  Effect.gen(function* () {
    const store = yield* Layer.buildWithScope(RedisStore.layer({ url: redis.url, prefix }), scope)
    const built = yield* Layer.buildWithScope(RedisBreaker.layer(options), scope).pipe(Effect.provide(store))
    return Context.get(built, CircuitBreaker.CircuitBreaker)
  })

describe("RedisBreaker against a real redis-server", () => {
  it.live("one process's billing 429 blows the fuse for every process on the key; reset clears it for all", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const [a, b, c] = yield* Effect.all([
        breakerIn(scope, "fuse"),
        breakerIn(scope, "fuse"),
        breakerIn(scope, "fuse")
      ])
      yield* b!.checkFuse("key1:gpt-4o-mini")
      yield* a!.record("key1:gpt-4o-mini", {
        _tag: "Failure",
        error: new QuotaExceeded({ message: "pay up", status: 429 })
      })
      const refused = yield* Effect.flip(b!.checkFuse("key1:gpt-4o"))
      expect(refused).toMatchObject({ _tag: "CircuitOpen", scope: "key1", reason: "QuotaExceeded" })
      expect(yield* c!.state("key1:other-model")).toBe("fused")
      // Another key is untouched.
      yield* c!.checkFuse("key2:gpt-4o-mini")
      yield* c!.reset("key1:gpt-4o")
      yield* a!.checkFuse("key1:gpt-4o-mini")
      expect(yield* b!.state("key1:gpt-4o-mini")).toBe("closed")
      yield* Scope.close(scope, Exit.void)
    })
  )

  it.live("an opening in one process holds the others until it ends (Redis's clock)", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const options = { minimumCalls: 2, failureRate: 0.1, openMs: 400 }
      const [a, b] = yield* Effect.all([breakerIn(scope, "open", options), breakerIn(scope, "open", options)])
      const limited = new RateLimited({ message: "slow down", status: 429 })
      yield* a!.record("k:m", { _tag: "Failure", error: limited })
      yield* a!.record("k:m", { _tag: "Failure", error: limited })
      expect(yield* a!.state("k:m")).toBe("open")
      const refused = yield* Effect.flip(Effect.scoped(b!.guard("k:m")))
      expect(refused._tag).toBe("CircuitOpen")
      expect(refused).toHaveProperty("closesAtMs")
      yield* Effect.scoped(b!.guard("other:m"))
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 450)))
      yield* Effect.scoped(b!.guard("k:m"))
      yield* Scope.close(scope, Exit.void)
    })
  )
})
