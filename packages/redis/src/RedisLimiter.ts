/**
 * One set of rate-limit buckets per key and model for every process on one Redis: the request and token buckets
 * and the 429 gate (`pause`). Processes that see no rate-limit headers still pace each other: with `--rpm`/`--tpm`
 * (or limits learned from headers) the limit is the key's, not each process's. The limits a process knows are kept
 * with the buckets, so a process that knows none yet (it has not seen a header) is paced by them too. Each operation is one Lua script on
 * Redis's clock (`TIME`), core's bucket math (`internal/gates/bucket.ts`) in Lua.
 *
 * Keys: `<prefix>:limit:<key id>:<model>` (a hash), expiring two minutes after its last write.
 *
 * @since 0.3.0
 */
import * as RateLimiter from "@sluice/core/RateLimiter"
import type { InvalidOptions } from "@sluice/core/Errors"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as internal from "./internal/limiter.js"
import type { RedisStore } from "./RedisStore.js"

/**
 * The shared store, for `RateLimiter.make({ ...options, store })`.
 *
 * @since 0.3.0
 * @category constructors
 */
export const store: Effect.Effect<RateLimiter.Store, never, RedisStore> = internal.store

/**
 * The `RateLimiter` service over the shared store (replaces `RateLimiter.layer`).
 *
 * @since 0.3.0
 * @category layers
 */
export const layer = (
  options: RateLimiter.Options = {}
): Layer.Layer<RateLimiter.RateLimiter, InvalidOptions, RedisStore> =>
  Layer.effect(
    RateLimiter.RateLimiter,
    Effect.flatMap(store, (shared) => RateLimiter.make({ ...options, store: shared }))
  )
