/**
 * The connection every shared gate uses: one node-redis client (`redis`, the client of Effect 4's platform layers)
 * behind Effect's `persistence/Redis` service (scripts loaded once, `EVALSHA`, reloaded after a Redis restart), a
 * key prefix, and this process's lease id.
 *
 * When Redis goes away mid-run an operation waits and says so: the first failure logs one warning (`redis
 * unreachable: paused …`), the operation is retried with exponential backoff (50 ms doubling, at most 2 s apart,
 * jittered), and the first success after it logs `redis reachable again: resumed after N s`. Past `waitMs` the
 * operation fails with `StoreUnavailable`, which stops a batch job with its unfinished lines pending for a resume.
 * Commands are never queued while disconnected (node-redis's offline queue is off): an operation either ran on the
 * server or is retried, and every script is idempotent under a retry.
 *
 * @since 0.3.0
 */
import type { InvalidOptions, StoreUnavailable } from "@sluice/core/Errors"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Redis from "effect/persistence/Redis"
import * as internal from "./internal/store.js"

/**
 * @since 0.3.0
 * @category models
 */
export interface Options {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  readonly url: string
  /** The first part of every key. Default `"sluice"`. */
  readonly prefix?: string | undefined
  /** How long one operation waits for an unreachable Redis before `StoreUnavailable`. Default 60 000 ms. */
  readonly waitMs?: number | undefined
  /** How long a process's reservations outlive its last heartbeat (a killed worker's). Default 30 000 ms. */
  readonly leaseMs?: number | undefined
  /** How long an idle key lives (spend, learned limits). Default 30 days. */
  readonly ttlMs?: number | undefined
}

/**
 * The shared store.
 *
 * @since 0.3.0
 * @category services
 */
export class RedisStore extends Context.Service<
  RedisStore,
  {
    /** The key prefix, followed by `:`. */
    readonly prefix: string
    /** This process's id in leases and reservation ids. */
    readonly instance: string
    readonly leaseMs: number
    readonly ttlMs: number
    /** Runs a script, waiting out an unreachable Redis (see the module doc); `operation` names it in errors. */
    readonly eval: <Config extends { readonly params: ReadonlyArray<unknown>; readonly result: unknown }>(
      operation: string,
      script: Redis.Script<Config>
    ) => (...params: Config["params"]) => Effect.Effect<Config["result"], StoreUnavailable>
  }
>()("@sluice/redis/RedisStore") {}

/**
 * Connects to Redis (failing with `StoreUnavailable` when it does not answer at start) and closes the client when
 * the layer's scope ends. Options are checked first (`InvalidOptions`).
 *
 * @since 0.3.0
 * @category layers
 */
export const layer: (options: Options) => Layer.Layer<RedisStore, StoreUnavailable | InvalidOptions> = (options) =>
  internal.layer(options)

/**
 * Checks the options: a `redis://` or `rediss://` URL; `waitMs`, `leaseMs`, `ttlMs` finite and > 0; a non-empty
 * prefix without spaces.
 *
 * @since 0.3.0
 * @category validation
 */
export const validate: (options: Options) => InvalidOptions | undefined = (options) => internal.validate(options)
