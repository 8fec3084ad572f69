import * as CircuitBreaker from "@sluice/core/CircuitBreaker"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Redis from "effect/persistence/Redis"
import type { Options } from "../RedisBreaker.js"
import { RedisStore } from "../RedisStore.js"

/*
 * Keys (prefix p): p:fuse:<key id> = reason (expires fuseTtlMs after it blew), p:open:<scope> = reason (expires when
 * the opening ends: PTTL is how much longer, on Redis's clock).
 */

/** KEYS fuse, open → [fuse reason | false, open ms left, open reason | false]. */
const readScript = Redis.script((fuse: string, open: string) => [fuse, open], {
  numberOfKeys: 2,
  lua: `return { redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[2]), redis.call('GET', KEYS[2]) }`
}).withReturnType<readonly [string | null, number, string | null]>()

/** KEYS fuse; ARGV reason, ttlMs → 1 when this call blew it. */
const blowScript = Redis.script((fuse: string, reason: string, ttlMs: string) => [fuse, reason, ttlMs], {
  numberOfKeys: 1,
  lua: `if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 else return 0 end`
}).withReturnType<number>()

/** KEYS open; ARGV reason, forMs. */
const openScript = Redis.script((open: string, reason: string, forMs: string) => [open, reason, forMs], {
  numberOfKeys: 1,
  lua: `redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1`
}).withReturnType<number>()

/** KEYS fuse, open. */
const clearScript = Redis.script((fuse: string, open: string) => [fuse, open], {
  numberOfKeys: 2,
  lua: `return redis.call('DEL', KEYS[1], KEYS[2])`
}).withReturnType<number>()

/** @internal */
export const store = (options: Options = {}): Effect.Effect<CircuitBreaker.Store, never, RedisStore> =>
  Effect.gen(function* () {
    const redis = yield* RedisStore
    const fuseKey = (key: string) => `${redis.prefix}fuse:${key}`
    const openKey = (scope: string) => `${redis.prefix}open:${scope}`
    const fuseTtl = String(Math.round(options.fuseTtlMs ?? 3_600_000))
    const read = redis.eval("breaker.read", readScript)
    const blow = redis.eval("breaker.blow", blowScript)
    const open = redis.eval("breaker.open", openScript)
    const clear = redis.eval("breaker.clear", clearScript)
    return {
      read: (key, scope) =>
        Effect.map(read(fuseKey(key), openKey(scope)), ([fuse, openMs, reason]) => ({
          fuse: fuse ?? undefined,
          openForMs: openMs > 0 ? openMs : undefined,
          reason: reason ?? undefined
        })),
      blow: (key, reason) => Effect.map(blow(fuseKey(key), reason, fuseTtl), (n) => n === 1),
      open: (scope, forMs, reason) =>
        Effect.asVoid(open(openKey(scope), reason, String(Math.max(1, Math.round(forMs))))),
      clear: (key, scope) => Effect.asVoid(clear(fuseKey(key), openKey(scope)))
    } satisfies CircuitBreaker.Store
  })

/** @internal */
export const layer = (options: Options = {}): Layer.Layer<CircuitBreaker.CircuitBreaker, never, RedisStore> =>
  CircuitBreaker.layerStore(options, store(options))
