/**
 * One rate limiter's state, shared by its parts (./lanes.ts, ./permits.ts, ./observe.ts): the options with
 * their defaults, the store, the limits learned from headers, the probing state, the per-scope lanes, and the
 * limits in force for a scope.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as SynchronizedRef from "effect/SynchronizedRef"
import { RequestTooLarge, type StoreUnavailable } from "../../Errors.js"
import type { Cost, EffectiveLimits, Limits, Options, Store } from "../../RateLimiter.js"
import type * as Reconcile from "../gates/reconcile.js"
import type { Lane } from "./lanes.js"
import * as MemoryStore from "./memoryStore.js"

export interface Limiter {
  readonly options: Options
  readonly store: Store
  readonly burstFactor: number
  readonly learn: boolean
  readonly pauseWithoutHintMs: number
  readonly maxPauseMs: number
  readonly refundUnused: boolean
  /** 0: no probing. */
  readonly probeTimeoutMs: number
  /** The memory store's synchronous operations when `store` is one (the direct path of `acquire`, `observe`). */
  readonly sync: MemoryStore.SyncStore | undefined
  /** The limits each scope's `x-ratelimit-limit-*` headers have shown (only touched synchronously). */
  readonly learned: Map<string, Limits>
  /** Scopes that have seen a response (or gave up waiting for one): no more probing there. */
  readonly observedScopes: Set<string>
  /** Scopes with a probe in flight, and when it was admitted. */
  readonly probing: Map<string, number>
  readonly lanes: SynchronizedRef.SynchronizedRef<Map<string, Lane>>
  /** The same lanes for a lookup without the SynchronizedRef (a lane, once made, lives as long as the limiter). */
  readonly laneCache: Map<string, Lane>
  /** Where the dispatcher fibers live. */
  readonly lifetime: Scope.Scope
  /** What each scope's rate-limit headers have shown (see internal/gates/reconcile.ts). */
  readonly histories: Map<string, Reconcile.History>
}

export const make = (options: Options, store: Store): Effect.Effect<Limiter, never, Scope.Scope> =>
  Effect.gen(function* () {
    const learn = options.learn ?? true
    return {
      options,
      store,
      burstFactor: options.burstFactor ?? 0.8,
      learn,
      pauseWithoutHintMs: options.pauseWithoutHintMs ?? 1000,
      maxPauseMs: options.maxPauseMs ?? 60_000,
      refundUnused: options.refundUnused ?? false,
      probeTimeoutMs: learn ? (options.probeTimeoutMs ?? 10_000) : 0,
      sync: MemoryStore.syncOf(store),
      learned: new Map<string, Limits>(),
      observedScopes: new Set<string>(),
      probing: new Map<string, number>(),
      lanes: yield* SynchronizedRef.make(new Map<string, Lane>()),
      laneCache: new Map<string, Lane>(),
      lifetime: yield* Effect.scope,
      histories: new Map<string, Reconcile.History>()
    }
  })

const min = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b)

/** The limits in force: the configured ones (per scope, else the defaults) capped by the learned ones. */
export const limitsNow = (self: Limiter, scope: string): EffectiveLimits => {
  const configured = self.options.limitsFor?.(scope)
  const fromHeaders = self.learned.get(scope)
  return {
    requests: min(configured?.requestsPerMinute ?? self.options.requestsPerMinute, fromHeaders?.requestsPerMinute),
    tokens: min(configured?.tokensPerMinute ?? self.options.tokensPerMinute, fromHeaders?.tokensPerMinute),
    burstFactor: self.burstFactor
  }
}

/** {@link limitsNow} as an effect. */
export const limitsOf = (self: Limiter, scope: string): Effect.Effect<EffectiveLimits> =>
  Effect.sync(() => limitsNow(self, scope))

/** The `RequestTooLarge` of a cost that can never fit, else `undefined`. */
export const tooLarge = (limits: EffectiveLimits, cost: Cost): RequestTooLarge | undefined => {
  if (limits.requests !== undefined && cost.requests > limits.requests) {
    return new RequestTooLarge({ bucket: "requests", requested: cost.requests, capacity: limits.requests })
  }
  if (limits.tokens !== undefined && cost.tokens > limits.tokens) {
    return new RequestTooLarge({ bucket: "tokens", requested: cost.tokens, capacity: limits.tokens })
  }
  return undefined
}

/** While a scope knows no limit at all and has seen no response, its requests go one probe at a time. */
export const needsProbe = (self: Limiter, scope: string, limits: EffectiveLimits): boolean =>
  self.probeTimeoutMs > 0 &&
  limits.requests === undefined &&
  limits.tokens === undefined &&
  !self.observedScopes.has(scope)

/** A shared store's error where nobody waits for the answer (a refund, a correction, a pause): logged. */
export const logged =
  (what: string, scope: string) =>
  <A>(effect: Effect.Effect<A, StoreUnavailable>): Effect.Effect<A | undefined> =>
    Effect.catch(effect, (error) =>
      Effect.as(
        Effect.logError(`rate limiter: could not ${what} in the shared store`).pipe(
          Effect.annotateLogs({ scope, error: error.message })
        ),
        undefined
      )
    )

/** Gives a cost back to the scope's buckets. */
export const giveBack = (self: Limiter, scope: string, limits: EffectiveLimits, cost: Cost, now: number) =>
  self.store
    .adjust(scope, limits, { requests: -cost.requests, tokens: -cost.tokens }, now)
    .pipe(logged("refund", scope))
