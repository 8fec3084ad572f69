/**
 * What a response's rate-limit headers teach: limits learned from `x-ratelimit-limit-*`, and a downward
 * correction of the buckets from `remaining` / `reset` (internal/gates/reconcile.ts), minus the permit's lag.
 * The first response of a scope also ends its probing.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import type { EffectiveLimits, Limits, Permit } from "../../RateLimiter.js"
import type { RateLimitSnapshot } from "../../RateLimitHeaders.js"
import * as Bucket from "../gates/bucket.js"
import * as Reconcile from "../gates/reconcile.js"
import { pokeScope } from "./lanes.js"
import { type Limiter, limitsOf, logged } from "./limiter.js"

/** What the local bucket has drained of a permit's cost that the server, charging it on arrival, has not. */
const lagOf = (limit: number | undefined, cost: number | undefined, lagMs: number): number =>
  limit === undefined || cost === undefined ? 0 : Math.min(cost, lagMs * Bucket.ratePerMs(limit))

const learn = (self: Limiter, scope: string, snapshot: RateLimitSnapshot): Effect.Effect<void> =>
  Ref.update(self.learned, (map) => {
    const previous = map.get(scope)
    const requestsPerMinute = snapshot.limitRequests ?? previous?.requestsPerMinute
    const tokensPerMinute = snapshot.limitTokens ?? previous?.tokensPerMinute
    // The same limits on every response: keep the map (no copy per call).
    if (previous?.requestsPerMinute === requestsPerMinute && previous?.tokensPerMinute === tokensPerMinute) {
      return map
    }
    return new Map(map).set(scope, { requestsPerMinute, tokensPerMinute })
  })

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

/** Corrects the buckets to what the headers show (downward only). */
const correct = (self: Limiter, scope: string, snapshot: RateLimitSnapshot, permit: Permit | undefined) =>
  Effect.gen(function* () {
    const limits = yield* limitsOf(self, scope)
    const serverLimits = (yield* Ref.get(self.learned)).get(scope)
    const now = yield* Clock.currentTimeMillis
    const lagMs = permit?.admittedAtMs === undefined ? 0 : Math.max(0, now - permit.admittedAtMs)
    const lag = {
      requests: lagOf(limits.requests, permit?.requests, lagMs),
      tokens: lagOf(limits.tokens, permit?.tokens, lagMs)
    }
    const { requests, tokens } = corrections(self, scope, limits, snapshot, serverLimits, lag)
    if (requests.floor === undefined && tokens.floor === undefined) return
    const debts = {
      ...(requests.floor !== undefined ? { requests: requests.floor } : {}),
      ...(tokens.floor !== undefined ? { tokens: tokens.floor } : {})
    }
    yield* self.store.floor(scope, limits, debts, now).pipe(logged("correct the buckets", scope))
  })

export const observe = (
  self: Limiter,
  scope: string,
  snapshot: RateLimitSnapshot,
  permit: Permit | undefined
): Effect.Effect<void> =>
  Effect.gen(function* () {
    const firstResponse = !self.observedScopes.has(scope)
    if (firstResponse) {
      self.observedScopes.add(scope)
      self.probing.delete(scope)
    }
    if (self.learn && (snapshot.limitRequests !== undefined || snapshot.limitTokens !== undefined)) {
      yield* learn(self, scope, snapshot)
    }
    yield* correct(self, scope, snapshot, permit)
    // Wake the waiters behind the probe only once what it taught (limits, corrections) is in place: a
    // dispatcher woken earlier would admit the next request as if nothing were known.
    if (firstResponse) yield* pokeScope(self, scope)
  })
