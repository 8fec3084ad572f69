/**
 * A client-side rate limiter that spends a request's requests AND tokens before it is sent, per scope
 * (by default `keyId:model`), so a job paces itself instead of discovering the limits through 429s.
 *
 * - Two buckets per scope, requests and tokens, quantized like the server: a per-minute limit `L` refills at
 *   `L / 60` per second and may burst at most `L / 60 × burstFactor` (default factor 0.8 — a little under the
 *   one second's worth the server's ~1 s window tolerates, leaving room for requests that arrive bunched).
 *   A request larger than the burst waits for the bucket to be empty and then goes alone; a request larger than `L` itself can never be admitted and fails at once
 *   with `RequestTooLarge`.
 * - Limits may be configured, learned from `x-ratelimit-limit-*` headers, or both (the configured value is a
 *   ceiling). While a scope knows no limit at all, one probe request goes first and the rest wait for its
 *   response; after that, a bucket whose limit is still unknown admits everything.
 * - `x-ratelimit-remaining-*` / `reset-*` only ever correct the local bucket downward. When a scope's
 *   `remaining` and `reset` disagree (a `remaining` scaled from a one-second window, a `reset` to the next unit
 *   or to a fixed window's end), the limiter takes the least pessimistic reading they admit: headers are
 *   evidence, 429s are ground truth (and their pause corrects what the reading missed).
 * - `pause` (called on a 429) closes the scope's gate for every fiber until the server's hint passes, then
 *   restarts the buckets empty so traffic resumes at the rate instead of in a burst.
 * - Waiting is FIFO per scope (a big request is not starved by small ones) and interruptible (an interrupted
 *   waiter leaves no debt).
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as Result from "effect/Result"
import * as SynchronizedRef from "effect/SynchronizedRef"
import type * as Scope from "effect/Scope"
import { type InvalidOptions, RequestTooLarge, type StoreUnavailable } from "./Errors.js"
import * as Bucket from "./internal/gates/bucket.js"
import * as Reconcile from "./internal/gates/reconcile.js"
import * as Check from "./internal/options.js"
import type { RateLimitSnapshot } from "./RateLimitHeaders.js"

/**
 * What one request spends.
 *
 * @since 0.1.0
 * @category models
 */
export interface Cost {
  readonly requests: number
  readonly tokens: number
}

/**
 * Per-minute limits. `undefined` means unknown (not limited until learned).
 *
 * @since 0.1.0
 * @category models
 */
export interface Limits {
  readonly requestsPerMinute?: number | undefined
  readonly tokensPerMinute?: number | undefined
}

/**
 * Limits in force for a scope, as a store sees them.
 *
 * @since 0.1.0
 * @category models
 */
export interface EffectiveLimits {
  readonly requests: number | undefined
  readonly tokens: number | undefined
  /** Burst allowance as a multiple of one second's worth (`limit / 60`). */
  readonly burstFactor: number
}

/**
 * What `acquire` spent; hand it back to `settle`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Permit {
  readonly scope: string
  readonly requests: number
  readonly tokens: number
  /** When it was admitted (epoch ms), so `observe` can tell the server's view lagging behind the limiter's. */
  readonly admittedAtMs?: number | undefined
}

/**
 * A store's answer to a take.
 *
 * @since 0.1.0
 * @category models
 */
export type Decision = { readonly _tag: "Admitted" } | { readonly _tag: "Wait"; readonly waitMs: number }

/**
 * The state of a scope, for telemetry.
 *
 * @since 0.1.0
 * @category models
 */
export interface Status {
  readonly limits: EffectiveLimits
  /** Per-minute units available now (`undefined` when the limit is unknown). */
  readonly remainingRequests: number | undefined
  readonly remainingTokens: number | undefined
  /** Epoch ms until which the gate is closed (0 when open). */
  readonly pausedUntilMs: number
}

/**
 * Where bucket state lives. Every operation must be atomic per scope. The memory store is the default; a
 * shared store (Redis, on server time: `@sluice/redis`) lets several processes share one key's limits, and fails
 * with `StoreUnavailable` when it stays unreachable (an `acquire` then fails with it; the other operations log it).
 *
 * @since 0.1.0
 * @category models
 */
export interface Store {
  readonly take: (
    scope: string,
    limits: EffectiveLimits,
    cost: Cost,
    nowMs: number
  ) => Effect.Effect<Decision, StoreUnavailable>
  /** Adds `delta` (negative refunds). */
  readonly adjust: (
    scope: string,
    limits: EffectiveLimits,
    delta: Cost,
    nowMs: number
  ) => Effect.Effect<void, StoreUnavailable>
  /** Raises the debts to at least the given values (a server correction). */
  readonly floor: (
    scope: string,
    limits: EffectiveLimits,
    debts: { readonly requests?: number; readonly tokens?: number },
    nowMs: number
  ) => Effect.Effect<void, StoreUnavailable>
  /** Closes the gate until `untilMs`; buckets restart empty from then. */
  readonly pause: (
    scope: string,
    limits: EffectiveLimits,
    untilMs: number,
    nowMs: number
  ) => Effect.Effect<void, StoreUnavailable>
  readonly status: (scope: string, limits: EffectiveLimits, nowMs: number) => Effect.Effect<Status, StoreUnavailable>
}

interface ScopeBuckets {
  readonly requests: Bucket.Bucket
  readonly tokens: Bucket.Bucket
  readonly pausedUntil: number
}

const burstOf = (limit: number, factor: number): number => (limit / 60) * factor

/**
 * The in-process store: a `Ref` of per-scope buckets.
 *
 * @since 0.1.0
 * @category stores
 */
export const makeMemoryStore: Effect.Effect<Store> = Effect.gen(function* () {
  const ref = yield* Ref.make(new Map<string, ScopeBuckets>())
  const current = (map: Map<string, ScopeBuckets>, scope: string, now: number): ScopeBuckets =>
    map.get(scope) ?? { requests: Bucket.empty(now), tokens: Bucket.empty(now), pausedUntil: 0 }
  // The map is only ever touched inside `Ref.modify` (synchronous, one fiber at a time), so it is updated in
  // place rather than copied on every take.
  const update = <A>(scope: string, now: number, f: (state: ScopeBuckets) => readonly [A, ScopeBuckets]) =>
    Ref.modify(ref, (map) => {
      const [result, next] = f(current(map, scope, now))
      return [result, map.set(scope, next)] as const
    })
  const mapBucket = (limit: number | undefined, bucket: Bucket.Bucket, f: (limit: number) => Bucket.Bucket) =>
    limit === undefined ? bucket : f(limit)

  return {
    take: (scope, limits, cost, now) =>
      update(scope, now, (state) => {
        let wait = Math.max(0, state.pausedUntil - now)
        if (limits.requests !== undefined) {
          const burst = burstOf(limits.requests, limits.burstFactor)
          wait = Math.max(wait, Bucket.waitMs(limits.requests, burst, state.requests, cost.requests, now))
        }
        if (limits.tokens !== undefined) {
          const burst = burstOf(limits.tokens, limits.burstFactor)
          wait = Math.max(wait, Bucket.waitMs(limits.tokens, burst, state.tokens, cost.tokens, now))
        }
        if (wait > 0) return [{ _tag: "Wait", waitMs: wait } as Decision, state]
        return [
          { _tag: "Admitted" } as Decision,
          {
            pausedUntil: state.pausedUntil,
            requests: mapBucket(limits.requests, state.requests, (l) =>
              Bucket.adjust(l, state.requests, cost.requests, now)
            ),
            tokens: mapBucket(limits.tokens, state.tokens, (l) => Bucket.adjust(l, state.tokens, cost.tokens, now))
          }
        ]
      }),
    adjust: (scope, limits, delta, now) =>
      update(scope, now, (state) => [
        undefined,
        {
          pausedUntil: state.pausedUntil,
          requests: mapBucket(limits.requests, state.requests, (l) =>
            Bucket.adjust(l, state.requests, delta.requests, now)
          ),
          tokens: mapBucket(limits.tokens, state.tokens, (l) => Bucket.adjust(l, state.tokens, delta.tokens, now))
        }
      ]),
    floor: (scope, limits, debts, now) =>
      update(scope, now, (state) => [
        undefined,
        {
          pausedUntil: state.pausedUntil,
          requests: mapBucket(limits.requests, state.requests, (l) =>
            debts.requests === undefined ? state.requests : Bucket.atLeast(l, state.requests, debts.requests, now)
          ),
          tokens: mapBucket(limits.tokens, state.tokens, (l) =>
            debts.tokens === undefined ? state.tokens : Bucket.atLeast(l, state.tokens, debts.tokens, now)
          )
        }
      ]),
    pause: (scope, limits, until, now) =>
      update(scope, now, (state) => [
        undefined,
        {
          pausedUntil: Math.max(state.pausedUntil, until),
          requests: mapBucket(limits.requests, state.requests, (l) =>
            Bucket.pause(l, burstOf(l, limits.burstFactor), state.requests, until, now)
          ),
          tokens: mapBucket(limits.tokens, state.tokens, (l) =>
            Bucket.pause(l, burstOf(l, limits.burstFactor), state.tokens, until, now)
          )
        }
      ]),
    status: (scope, limits, now) =>
      Effect.map(Ref.get(ref), (map) => {
        const state = current(map, scope, now)
        return {
          limits,
          remainingRequests:
            limits.requests === undefined ? undefined : Bucket.remaining(limits.requests, state.requests, now),
          remainingTokens: limits.tokens === undefined ? undefined : Bucket.remaining(limits.tokens, state.tokens, now),
          pausedUntilMs: state.pausedUntil > now ? state.pausedUntil : 0
        }
      })
  }
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends Limits {
  /** Limits for particular scopes (`keyId:model`); they override the defaults above. */
  readonly limitsFor?: (scope: string) => Limits | undefined
  /** Burst as a multiple of one second's worth of the per-minute limit. Default 0.8 (see the module doc). */
  readonly burstFactor?: number
  /** Learn limits from `x-ratelimit-limit-*` headers. Default true. */
  readonly learn?: boolean
  /**
   * While a scope's limits are entirely unknown (none configured, none learned yet), admit one request and wait
   * for its response before admitting more, so a job's opening burst cannot overrun limits it has not seen yet.
   * A response without rate-limit headers (a local server) ends the probing at once; so does this timeout, in
   * ms, when the first response is slow. Default 10 000; 0 turns probing off.
   */
  readonly probeTimeoutMs?: number
  /**
   * How long, on average, a 429 closes the gate when the server gives no hint: each such pause is drawn from
   * ½–1½ × this (Effect's `Random`), so restarts cannot lock step with another client's periodic requests.
   * Default 1000 ms.
   */
  readonly pauseWithoutHintMs?: number
  /** The longest a single 429 closes the gate. Default 60 000 ms. */
  readonly maxPauseMs?: number
  /**
   * Refund unused tokens on `settle`. Default false: OpenAI charges the token limit at admission from the prompt
   * and `max_tokens` and does not give it back, so refunding would make the limiter believe it has more than
   * the server does. Enable for servers that charge actual usage. Under-estimates are always charged.
   */
  readonly refundUnused?: boolean
  readonly store?: Store
}

/**
 * The rate limiter.
 *
 * @since 0.1.0
 * @category services
 */
export class RateLimiter extends Context.Service<
  RateLimiter,
  {
    /** Waits (FIFO, interruptibly) until the scope can spend `cost`; fails at once if it never can. */
    readonly acquire: (scope: string, cost: Cost) => Effect.Effect<Permit, RequestTooLarge | StoreUnavailable>
    /** Settles a permit against the tokens the server actually counted. */
    readonly settle: (permit: Permit, actualTokens: number) => Effect.Effect<void>
    /**
     * Learns limits and corrects the buckets from a response's rate-limit headers. Pass the `permit` the request
     * went out under when there is one: the server charged it later than the limiter did (on arrival, not on
     * admission), and without it that lag reads as somebody else's usage and slows the job down.
     */
    readonly observe: (scope: string, snapshot: RateLimitSnapshot, permit?: Permit) => Effect.Effect<void>
    /** Closes the scope's gate for every fiber for `ms` (a 429); `undefined` uses the configured default. */
    readonly pause: (scope: string, ms: number | undefined) => Effect.Effect<void>
    readonly status: (scope: string) => Effect.Effect<Status, StoreUnavailable>
  }
>()("@sluice/core/RateLimiter") {}

interface Waiter {
  readonly cost: Cost
  readonly done: Deferred.Deferred<void, RequestTooLarge | StoreUnavailable>
}

interface Lane {
  readonly queue: Queue.Queue<Waiter>
  /** Completed (and replaced) whenever capacity may have grown, to wake the dispatcher early. */
  readonly poke: Ref.Ref<Deferred.Deferred<void>>
  /** Waiters offered to the queue and not yet gone (admitted, refused or left): while > 0 nobody jumps the queue. */
  pending: number
}

/** What the local bucket has drained of a permit's cost that the server, charging it on arrival, has not. */
const lagOf = (limit: number | undefined, cost: number | undefined, lagMs: number): number =>
  limit === undefined || cost === undefined ? 0 : Math.min(cost, lagMs * Bucket.ratePerMs(limit))

const min = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b)

/**
 * Builds a limiter. Each scope gets a FIFO queue and a dispatcher fiber that lives as long as the `Scope`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<RateLimiter["Service"], InvalidOptions, Scope.Scope> =>
  Effect.gen(function* () {
    yield* Effect.fromResult(validate(options))
    const store = options.store ?? (yield* makeMemoryStore)
    const burstFactor = options.burstFactor ?? 0.8
    const learn = options.learn ?? true
    const pauseWithoutHintMs = options.pauseWithoutHintMs ?? 1000
    const maxPauseMs = options.maxPauseMs ?? 60_000
    const refundUnused = options.refundUnused ?? false
    const learned = yield* Ref.make(new Map<string, Limits>())
    const probeTimeoutMs = learn ? (options.probeTimeoutMs ?? 10_000) : 0
    // Scopes that have seen a response (or gave up waiting for one): no more probing there.
    const observedScopes = new Set<string>()
    // Scopes with a probe in flight, and when it was admitted.
    const probing = new Map<string, number>()
    const lanes = yield* SynchronizedRef.make(new Map<string, Lane>())
    // The same lanes for a lookup without the SynchronizedRef (a lane, once made, lives as long as the limiter).
    const laneCache = new Map<string, Lane>()
    const lifetime = yield* Effect.scope
    /** A shared store's error where nobody waits for the answer (a refund, a correction, a pause): logged. */
    const logged =
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
    // What each scope's rate-limit headers have shown (see internal/gates/reconcile.ts).
    const histories = new Map<string, Reconcile.History>()

    const limitsOf = (scope: string): Effect.Effect<EffectiveLimits> =>
      Effect.map(Ref.get(learned), (map) => {
        const configured = options.limitsFor?.(scope)
        const fromHeaders = map.get(scope)
        return {
          requests: min(configured?.requestsPerMinute ?? options.requestsPerMinute, fromHeaders?.requestsPerMinute),
          tokens: min(configured?.tokensPerMinute ?? options.tokensPerMinute, fromHeaders?.tokensPerMinute),
          burstFactor
        }
      })

    const tooLarge = (limits: EffectiveLimits, cost: Cost): RequestTooLarge | undefined => {
      if (limits.requests !== undefined && cost.requests > limits.requests) {
        return new RequestTooLarge({ bucket: "requests", requested: cost.requests, capacity: limits.requests })
      }
      if (limits.tokens !== undefined && cost.tokens > limits.tokens) {
        return new RequestTooLarge({ bucket: "tokens", requested: cost.tokens, capacity: limits.tokens })
      }
      return undefined
    }

    const poke = (lane: Lane) =>
      Effect.flatMap(Deferred.make<void>(), (fresh) =>
        Effect.flatMap(Ref.getAndSet(lane.poke, fresh), (old) => Deferred.succeed(old, undefined))
      )

    const pokeScope = (scope: string) =>
      Effect.flatMap(SynchronizedRef.get(lanes), (map) => {
        const lane = map.get(scope)
        return lane === undefined ? Effect.void : poke(lane)
      })

    // Serves one waiter: retries the take until it is admitted, the waiter leaves, or it can never fit.
    const serve = (scope: string, lane: Lane, waiter: Waiter): Effect.Effect<void> =>
      Effect.gen(function* () {
        while (!(yield* Deferred.isDone(waiter.done))) {
          const limits = yield* limitsOf(scope)
          const error = tooLarge(limits, waiter.cost)
          if (error !== undefined) {
            yield* Deferred.fail(waiter.done, error)
            return
          }
          const wake = yield* Ref.get(lane.poke)
          const now = yield* Clock.currentTimeMillis
          if (
            probeTimeoutMs > 0 &&
            limits.requests === undefined &&
            limits.tokens === undefined &&
            !observedScopes.has(scope)
          ) {
            const since = probing.get(scope)
            if (since !== undefined) {
              const left = since + probeTimeoutMs - now
              if (left > 0) {
                // A probe is out: wait for its response (observe pokes the lane) or the timeout.
                yield* Effect.raceAll([
                  Effect.sleep(left),
                  Deferred.await(wake),
                  Effect.exit(Deferred.await(waiter.done))
                ])
                continue
              }
              observedScopes.add(scope)
            } else {
              probing.set(scope, now)
            }
          }
          const taken = yield* Effect.result(store.take(scope, limits, waiter.cost, now))
          if (taken._tag === "Failure") {
            yield* Deferred.fail(waiter.done, taken.failure)
            return
          }
          const decision = taken.success
          if (decision._tag === "Admitted") {
            const granted = yield* Deferred.succeed(waiter.done, undefined)
            // The waiter left between the check and the take: give the units back.
            if (!granted) {
              yield* store
                .adjust(scope, limits, { requests: -waiter.cost.requests, tokens: -waiter.cost.tokens }, now)
                .pipe(logged("refund", scope))
            }
            return
          }
          yield* Effect.raceAll([
            Effect.sleep(Math.max(1, Math.ceil(decision.waitMs))),
            Deferred.await(wake),
            Effect.exit(Deferred.await(waiter.done))
          ])
        }
      })

    const laneOf = (scope: string): Effect.Effect<Lane> =>
      SynchronizedRef.modifyEffect(lanes, (map) => {
        const existing = map.get(scope)
        if (existing !== undefined) return Effect.succeed([existing, map] as const)
        return Effect.gen(function* () {
          const lane: Lane = {
            queue: yield* Queue.unbounded<Waiter>(),
            poke: yield* Ref.make(yield* Deferred.make<void>()),
            pending: 0
          }
          laneCache.set(scope, lane)
          yield* Queue.take(lane.queue).pipe(
            Effect.flatMap((waiter) => serve(scope, lane, waiter)),
            Effect.forever,
            Effect.forkIn(lifetime)
          )
          return [lane, new Map(map).set(scope, lane)] as const
        })
      })

    const needsProbe = (scope: string, limits: EffectiveLimits) =>
      probeTimeoutMs > 0 && limits.requests === undefined && limits.tokens === undefined && !observedScopes.has(scope)

    // Nobody waiting in this scope and the buckets have room: take directly, without the queue and the
    // dispatcher (the common case under limits that do not bind, and most of the limiter's CPU otherwise).
    // Anything else — a queue, a probe, a pause, an empty bucket — goes through the FIFO queue.
    const acquire = (scope: string, cost: Cost): Effect.Effect<Permit, RequestTooLarge | StoreUnavailable> =>
      Effect.flatMap(limitsOf(scope), (limits) => {
        const error = tooLarge(limits, cost)
        if (error !== undefined) return Effect.fail(error)
        const lane = laneCache.get(scope)
        if (lane === undefined || lane.pending > 0 || needsProbe(scope, limits)) return queued(scope, cost)
        // The take and the hand-over are uninterruptible (admitted units always reach the caller); a wait is not.
        return Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(
            Effect.flatMap(Clock.currentTimeMillis, (now) =>
              Effect.map(store.take(scope, limits, cost, now), (decision) => [decision, now] as const)
            ),
            ([decision, now]): Effect.Effect<Permit, RequestTooLarge | StoreUnavailable> =>
              decision._tag === "Admitted"
                ? Effect.succeed({ scope, requests: cost.requests, tokens: cost.tokens, admittedAtMs: now })
                : restore(queued(scope, cost))
          )
        )
      })

    const queued = (scope: string, cost: Cost): Effect.Effect<Permit, RequestTooLarge | StoreUnavailable> =>
      Effect.gen(function* () {
        const lane = yield* laneOf(scope)
        const done = yield* Deferred.make<void, RequestTooLarge | StoreUnavailable>()
        yield* Effect.uninterruptibleMask((restore) =>
          Effect.suspend(() => {
            lane.pending++
            return Queue.offer(lane.queue, { cost, done })
          }).pipe(
            Effect.andThen(restore(Deferred.await(done))),
            Effect.ensuring(
              Effect.sync(() => {
                lane.pending--
              })
            ),
            Effect.onInterrupt(() =>
              Effect.gen(function* () {
                if (yield* Deferred.interrupt(done)) {
                  // Still queued: the dispatcher skips it; if it was the head, wake the dispatcher.
                  return yield* poke(lane)
                }
                // Admitted just as we were interrupted: no debt may remain.
                const exit = yield* Deferred.poll(done)
                if (Option.isSome(exit)) {
                  const admitted = yield* Effect.exit(exit.value)
                  if (admitted._tag === "Success") yield* refund(scope, cost)
                }
              })
            )
          )
        )
        return { scope, requests: cost.requests, tokens: cost.tokens, admittedAtMs: yield* Clock.currentTimeMillis }
      }).pipe(Effect.withSpan("RateLimiter.acquire", { attributes: { scope } }, { captureStackTrace: false }))

    const refund = (scope: string, cost: Cost) =>
      Effect.gen(function* () {
        const limits = yield* limitsOf(scope)
        const now = yield* Clock.currentTimeMillis
        yield* store
          .adjust(scope, limits, { requests: -cost.requests, tokens: -cost.tokens }, now)
          .pipe(logged("refund", scope))
        yield* pokeScope(scope)
      })

    const settle = (permit: Permit, actualTokens: number) =>
      Effect.gen(function* () {
        const delta = actualTokens - permit.tokens
        if (delta === 0 || (delta < 0 && !refundUnused)) return
        const limits = yield* limitsOf(permit.scope)
        const now = yield* Clock.currentTimeMillis
        yield* store
          .adjust(permit.scope, limits, { requests: 0, tokens: delta }, now)
          .pipe(logged("settle", permit.scope))
        if (delta < 0) yield* pokeScope(permit.scope)
      })

    const observe = (scope: string, snapshot: RateLimitSnapshot, permit?: Permit) =>
      Effect.gen(function* () {
        const firstResponse = !observedScopes.has(scope)
        if (firstResponse) {
          observedScopes.add(scope)
          probing.delete(scope)
        }
        if (learn && (snapshot.limitRequests !== undefined || snapshot.limitTokens !== undefined)) {
          yield* Ref.update(learned, (map) => {
            const previous = map.get(scope)
            const requestsPerMinute = snapshot.limitRequests ?? previous?.requestsPerMinute
            const tokensPerMinute = snapshot.limitTokens ?? previous?.tokensPerMinute
            // The same limits on every response: keep the map (no copy per call).
            if (previous?.requestsPerMinute === requestsPerMinute && previous?.tokensPerMinute === tokensPerMinute) {
              return map
            }
            return new Map(map).set(scope, { requestsPerMinute, tokensPerMinute })
          })
        }
        const limits = yield* limitsOf(scope)
        const serverLimits = (yield* Ref.get(learned)).get(scope)
        const lagMs =
          permit?.admittedAtMs === undefined ? 0 : Math.max(0, (yield* Clock.currentTimeMillis) - permit.admittedAtMs)
        const history = histories.get(scope) ?? { disagreeing: false, stepped: false }
        const requests = Reconcile.correction(
          limits.requests,
          {
            serverLimit: snapshot.limitRequests ?? serverLimits?.requestsPerMinute,
            remaining: snapshot.remainingRequests,
            resetMs: snapshot.resetRequestsMs,
            lag: lagOf(limits.requests, permit?.requests, lagMs)
          },
          history
        )
        const tokens = Reconcile.correction(
          limits.tokens,
          {
            serverLimit: snapshot.limitTokens ?? serverLimits?.tokensPerMinute,
            remaining: snapshot.remainingTokens,
            resetMs: snapshot.resetTokensMs,
            lag: lagOf(limits.tokens, permit?.tokens, lagMs)
          },
          history
        )
        if (requests.lower !== undefined || tokens.lower !== undefined) {
          const stepped = history.stepped || requests.lower === "reset" || tokens.lower === "reset"
          if (!history.disagreeing || stepped !== history.stepped) histories.set(scope, { disagreeing: true, stepped })
        }
        if (requests.floor !== undefined || tokens.floor !== undefined) {
          const now = yield* Clock.currentTimeMillis
          yield* store
            .floor(
              scope,
              limits,
              {
                ...(requests.floor !== undefined ? { requests: requests.floor } : {}),
                ...(tokens.floor !== undefined ? { tokens: tokens.floor } : {})
              },
              now
            )
            .pipe(logged("correct the buckets", scope))
        }
        // Wake the waiters behind the probe only once what it taught (limits, corrections) is in place: a
        // dispatcher woken earlier would admit the next request as if nothing were known.
        if (firstResponse) yield* pokeScope(scope)
      })

    const pause = (scope: string, ms: number | undefined) =>
      Effect.gen(function* () {
        // Without a hint the pause is a guess: spread it over ½–1½ × pauseWithoutHintMs, so the job's restarts
        // cannot lock step with another client's periodic requests (decision 0010).
        const guessed = ms === undefined ? pauseWithoutHintMs * (0.5 + (yield* Random.next)) : ms
        const duration = Math.min(maxPauseMs, Math.max(0, guessed))
        const limits = yield* limitsOf(scope)
        const now = yield* Clock.currentTimeMillis
        yield* store.pause(scope, limits, now + duration, now).pipe(logged("close the gate", scope))
        yield* Effect.logWarning("rate limiter: gate closed after 429").pipe(
          Effect.annotateLogs({ scope, pauseMs: duration })
        )
      })

    const status = (scope: string) =>
      Effect.flatMap(limitsOf(scope), (limits) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => store.status(scope, limits, now))
      )

    return RateLimiter.of({ acquire, settle, observe, pause, status })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<RateLimiter, InvalidOptions> =>
  Layer.effect(RateLimiter, make(options))

/**
 * Checks the options: `requestsPerMinute` and `tokensPerMinute` are numbers > 0 when set (0 or less would make
 * every request `RequestTooLarge`; leave them out for "learn from headers"), `burstFactor` > 0, the probe and
 * pause times ≥ 0. `prefix` is how the caller names them (`rateLimiter` in `Gates.layerDefaults`).
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (options: Options, prefix = "rateLimiter"): Result.Result<Options, InvalidOptions> => {
  const problem = Check.first(
    checkLimits(options, prefix),
    Check.number(`${prefix}.burstFactor`, options.burstFactor, { above: 0 }),
    Check.number(`${prefix}.probeTimeoutMs`, options.probeTimeoutMs, { atLeast: 0 }),
    Check.number(`${prefix}.pauseWithoutHintMs`, options.pauseWithoutHintMs, { atLeast: 0 }),
    Check.number(`${prefix}.maxPauseMs`, options.maxPauseMs, { atLeast: 0 })
  )
  return problem === undefined ? Result.succeed(options) : Result.fail(problem)
}

const checkLimits = (limits: Limits, prefix: string): InvalidOptions | undefined =>
  Check.first(
    Check.number(`${prefix}.requestsPerMinute`, limits.requestsPerMinute, { above: 0 }),
    Check.number(`${prefix}.tokensPerMinute`, limits.tokensPerMinute, { above: 0 })
  )

/**
 * Reads `SLUICE_RPM`, `SLUICE_TPM` and `SLUICE_BURST_FACTOR` (all optional).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config<Options> = Config.all({
    requestsPerMinute: Config.option(Config.Number("SLUICE_RPM")).pipe(Config.map(Option.getOrUndefined)),
    tokensPerMinute: Config.option(Config.Number("SLUICE_TPM")).pipe(Config.map(Option.getOrUndefined)),
    burstFactor: Config.Number("SLUICE_BURST_FACTOR").pipe(Config.withDefault(0.8))
  })
): Layer.Layer<RateLimiter, Config.ConfigError | InvalidOptions> =>
  Layer.effect(RateLimiter, Effect.flatMap(config, make))
