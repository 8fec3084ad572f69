/**
 * The limiter's in-process store: a `Ref` of per-scope request and token buckets.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { Cost, Decision, EffectiveLimits, Status, Store } from "../../RateLimiter.js"
import * as Bucket from "../gates/bucket.js"

interface ScopeBuckets {
  readonly requests: Bucket.Bucket
  readonly tokens: Bucket.Bucket
  readonly pausedUntil: number
}

type Which = "requests" | "tokens"

const burstOf = (limit: number, factor: number): number => (limit / 60) * factor

/** Applies `f` to each bucket whose limit is known (a bucket without a limit stays as it is). */
const eachBucket = (
  limits: EffectiveLimits,
  state: ScopeBuckets,
  pausedUntil: number,
  f: (limit: number, bucket: Bucket.Bucket, which: Which) => Bucket.Bucket
): ScopeBuckets => ({
  pausedUntil,
  requests: limits.requests === undefined ? state.requests : f(limits.requests, state.requests, "requests"),
  tokens: limits.tokens === undefined ? state.tokens : f(limits.tokens, state.tokens, "tokens")
})

/** How long `cost` must wait: the pause, and each bucket with a known limit. */
const waitOf = (limits: EffectiveLimits, state: ScopeBuckets, cost: Cost, now: number): number => {
  let wait = Math.max(0, state.pausedUntil - now)
  if (limits.requests !== undefined) {
    const burst = burstOf(limits.requests, limits.burstFactor)
    wait = Math.max(wait, Bucket.waitMs(limits.requests, burst, state.requests, cost.requests, now))
  }
  if (limits.tokens !== undefined) {
    const burst = burstOf(limits.tokens, limits.burstFactor)
    wait = Math.max(wait, Bucket.waitMs(limits.tokens, burst, state.tokens, cost.tokens, now))
  }
  return wait
}

const admitted: Decision = { _tag: "Admitted" }

const take = (limits: EffectiveLimits, cost: Cost, now: number) => (state: ScopeBuckets) => {
  const wait = waitOf(limits, state, cost, now)
  if (wait > 0) return [{ _tag: "Wait", waitMs: wait } as Decision, state] as const
  const next = eachBucket(limits, state, state.pausedUntil, (l, b, which) => Bucket.adjust(l, b, cost[which], now))
  return [admitted, next] as const
}

const floor =
  (limits: EffectiveLimits, debts: { readonly requests?: number; readonly tokens?: number }, now: number) =>
  (state: ScopeBuckets) =>
    eachBucket(limits, state, state.pausedUntil, (l, b, which) => {
      const debt = debts[which]
      return debt === undefined ? b : Bucket.atLeast(l, b, debt, now)
    })

const pause = (limits: EffectiveLimits, until: number, now: number) => (state: ScopeBuckets) =>
  eachBucket(limits, state, Math.max(state.pausedUntil, until), (l, b) =>
    Bucket.pause(l, burstOf(l, limits.burstFactor), b, until, now)
  )

/**
 * The memory store's operations as plain functions: the limiter calls these directly for its own store (no
 * effect per take), and the `Store` below wraps each in `Effect.sync`. Every call is synchronous, so two fibers
 * never interleave within one.
 */
export interface SyncStore {
  readonly take: (scope: string, limits: EffectiveLimits, cost: Cost, now: number) => Decision
  readonly adjust: (scope: string, limits: EffectiveLimits, delta: Cost, now: number) => void
  readonly floor: (
    scope: string,
    limits: EffectiveLimits,
    debts: { readonly requests?: number; readonly tokens?: number },
    now: number
  ) => void
  readonly pause: (scope: string, limits: EffectiveLimits, until: number, now: number) => void
  readonly status: (scope: string, limits: EffectiveLimits, now: number) => Status
}

const makeSync = (): SyncStore => {
  // Updated in place: only ever touched synchronously.
  const map = new Map<string, ScopeBuckets>()
  const current = (scope: string, now: number): ScopeBuckets =>
    map.get(scope) ?? { requests: Bucket.empty(now), tokens: Bucket.empty(now), pausedUntil: 0 }
  const replace = (scope: string, now: number, f: (state: ScopeBuckets) => ScopeBuckets) => {
    map.set(scope, f(current(scope, now)))
  }
  return {
    take: (scope, limits, cost, now) => {
      const [decision, next] = take(limits, cost, now)(current(scope, now))
      map.set(scope, next)
      return decision
    },
    adjust: (scope, limits, delta, now) =>
      replace(scope, now, (state) =>
        eachBucket(limits, state, state.pausedUntil, (l, b, which) => Bucket.adjust(l, b, delta[which], now))
      ),
    floor: (scope, limits, debts, now) => replace(scope, now, floor(limits, debts, now)),
    pause: (scope, limits, until, now) => replace(scope, now, pause(limits, until, now)),
    status: (scope, limits, now) => {
      const state = current(scope, now)
      return {
        limits,
        remainingRequests:
          limits.requests === undefined ? undefined : Bucket.remaining(limits.requests, state.requests, now),
        remainingTokens: limits.tokens === undefined ? undefined : Bucket.remaining(limits.tokens, state.tokens, now),
        pausedUntilMs: state.pausedUntil > now ? state.pausedUntil : 0
      }
    }
  }
}

/** The synchronous operations behind the memory stores made here. */
const syncStores = new WeakMap<Store, SyncStore>()

/** The synchronous operations of `store` when it is a memory store, else `undefined` (a shared store). */
export const syncOf = (store: Store): SyncStore | undefined => syncStores.get(store)

export const make: Effect.Effect<Store> = Effect.sync(() => {
  const sync = makeSync()
  const store: Store = {
    take: (scope, limits, cost, now) => Effect.sync(() => sync.take(scope, limits, cost, now)),
    adjust: (scope, limits, delta, now) => Effect.sync(() => sync.adjust(scope, limits, delta, now)),
    floor: (scope, limits, debts, now) => Effect.sync(() => sync.floor(scope, limits, debts, now)),
    pause: (scope, limits, until, now) => Effect.sync(() => sync.pause(scope, limits, until, now)),
    status: (scope, limits, now) => Effect.sync(() => sync.status(scope, limits, now))
  }
  syncStores.set(store, sync)
  return store
})
