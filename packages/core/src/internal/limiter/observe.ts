/**
 * What a response's rate-limit headers teach: limits learned from `x-ratelimit-limit-*`, and a downward
 * correction of the buckets from `remaining` / `reset` (internal/gates/reconcile.ts), minus the permit's lag.
 * The first response of a scope also ends its probing.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { EffectiveLimits, Limits, Permit } from "../../RateLimiter.js"
import type { RateLimitSnapshot } from "../../RateLimitHeaders.js"
import * as Bucket from "../gates/bucket.js"
import * as Reconcile from "../gates/reconcile.js"
import { pokeScope } from "./lanes.js"
import { type Limiter, limitsNow, logged } from "./limiter.js"

/** What the local bucket has drained of a permit's cost that the server, charging it on arrival, has not. */
const lagOf = (limit: number | undefined, cost: number | undefined, lagMs: number): number =>
  limit === undefined || cost === undefined ? 0 : Math.min(cost, lagMs * Bucket.ratePerMs(limit))

const learn = (self: Limiter, scope: string, snapshot: RateLimitSnapshot): void => {
  const previous = self.learned.get(scope)
  const requestsPerMinute = snapshot.limitRequests ?? previous?.requestsPerMinute
  const tokensPerMinute = snapshot.limitTokens ?? previous?.tokensPerMinute
  // The same limits on every response: nothing to write.
  if (previous?.requestsPerMinute === requestsPerMinute && previous?.tokensPerMinute === tokensPerMinute) return
  self.learned.set(scope, { requestsPerMinute, tokensPerMinute })
}

/** A bucket's fields in the headers and in the limits. */
const fields = {
  requests: {
    limit: "limitRequests",
    remaining: "remainingRequests",
    reset: "resetRequestsMs",
    perMinute: "requestsPerMinute"
  },
  tokens: { limit: "limitTokens", remaining: "remainingTokens", reset: "resetTokensMs", perMinute: "tokensPerMinute" }
} as const

/** Both buckets' corrections; a scope whose headers disagree is remembered as such (its `History`). */
const corrections = (
  self: Limiter,
  scope: string,
  limits: EffectiveLimits,
  snapshot: RateLimitSnapshot,
  serverLimits: Limits | undefined,
  lag: { readonly requests: number; readonly tokens: number }
) => {
  const history = self.histories.get(scope) ?? { disagreeing: false, stepped: false }
  const of = (which: "requests" | "tokens") => {
    const field = fields[which]
    const reading = {
      serverLimit: snapshot[field.limit] ?? serverLimits?.[field.perMinute],
      remaining: snapshot[field.remaining],
      resetMs: snapshot[field.reset],
      lag: lag[which]
    }
    return Reconcile.correction(limits[which], reading, history)
  }
  const requests = of("requests")
  const tokens = of("tokens")
  if (requests.lower !== undefined || tokens.lower !== undefined) {
    const stepped = history.stepped || requests.lower === "reset" || tokens.lower === "reset"
    if (!history.disagreeing || stepped !== history.stepped) self.histories.set(scope, { disagreeing: true, stepped })
  }
  return { requests, tokens }
}

type Debts = { readonly requests?: number; readonly tokens?: number }

/** The debts the headers say the buckets hold at least (a downward correction), or `undefined` for none. */
const debtsOf = (
  self: Limiter,
  scope: string,
  limits: EffectiveLimits,
  snapshot: RateLimitSnapshot,
  permit: Permit | undefined,
  now: number
): Debts | undefined => {
  const lagMs = permit?.admittedAtMs === undefined ? 0 : Math.max(0, now - permit.admittedAtMs)
  const lag = {
    requests: lagOf(limits.requests, permit?.requests, lagMs),
    tokens: lagOf(limits.tokens, permit?.tokens, lagMs)
  }
  const { requests, tokens } = corrections(self, scope, limits, snapshot, self.learned.get(scope), lag)
  if (requests.floor === undefined && tokens.floor === undefined) return undefined
  return {
    ...(requests.floor !== undefined ? { requests: requests.floor } : {}),
    ...(tokens.floor !== undefined ? { tokens: tokens.floor } : {})
  }
}

/** Raises the buckets' debts: at once on the memory store, through the store's effect on a shared one. */
const floor = (self: Limiter, scope: string, limits: EffectiveLimits, debts: Debts, now: number) => {
  if (self.sync === undefined)
    return self.store.floor(scope, limits, debts, now).pipe(logged("correct the buckets", scope))
  self.sync.floor(scope, limits, debts, now)
  return Effect.void
}

/**
 * Synchronous up to the store (plain code behind the effect: this runs on every response, decision 0014), in
 * the order: end of probing, learned limits, the correction.
 */
export const observe = (
  self: Limiter,
  scope: string,
  snapshot: RateLimitSnapshot,
  permit: Permit | undefined
): Effect.Effect<void> =>
  Clock.clockWith((clock) => {
    const firstResponse = !self.observedScopes.has(scope)
    if (firstResponse) {
      self.observedScopes.add(scope)
      self.probing.delete(scope)
    }
    if (self.learn && (snapshot.limitRequests !== undefined || snapshot.limitTokens !== undefined)) {
      learn(self, scope, snapshot)
    }
    const limits = limitsNow(self, scope)
    const now = clock.currentTimeMillisUnsafe()
    const debts = debtsOf(self, scope, limits, snapshot, permit, now)
    const corrected = debts === undefined ? Effect.void : floor(self, scope, limits, debts, now)
    // Wake the waiters behind the probe only once what it taught (limits, corrections) is in place: a
    // dispatcher woken earlier would admit the next request as if nothing were known.
    return firstResponse ? Effect.andThen(corrected, pokeScope(self, scope)) : corrected
  })
