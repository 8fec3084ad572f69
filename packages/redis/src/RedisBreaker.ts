/**
 * One circuit breaker state for every process on one Redis: a key's fuse (a billing 429 or a refused key in any
 * process stops every process on that key) and each scope's opening (a 429 spike one process sees holds all of
 * them until it ends). Each process keeps its own sliding window and half-open probes.
 *
 * Keys: `<prefix>:fuse:<key id>` (expires `fuseTtlMs` after it blew, default 1 h; `CircuitBreaker.reset` clears it)
 * and `<prefix>:open:<key id>:<model>` (expires when the opening ends, on Redis's clock).
 *
 * @since 0.3.0
 */
import type * as CircuitBreaker from "@sluice/core/CircuitBreaker"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as internal from "./internal/breaker.js"
import type { RedisStore } from "./RedisStore.js"

/**
 * @since 0.3.0
 * @category models
 */
export interface Options extends CircuitBreaker.Options {
  /** How long a blown fuse lasts in Redis. Default 3 600 000 ms (1 h). */
  readonly fuseTtlMs?: number | undefined
}

/**
 * The shared store, for `CircuitBreaker.make(options, store)`.
 *
 * @since 0.3.0
 * @category constructors
 */
export const store: (options?: Options) => Effect.Effect<CircuitBreaker.Store, never, RedisStore> = internal.store

/**
 * The `CircuitBreaker` service over the shared store (replaces `CircuitBreaker.layer`).
 *
 * @since 0.3.0
 * @category layers
 */
export const layer: (options?: Options) => Layer.Layer<CircuitBreaker.CircuitBreaker, never, RedisStore> =
  internal.layer
