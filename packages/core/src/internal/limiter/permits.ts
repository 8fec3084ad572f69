/**
 * Permits: `acquire` (a direct take when nobody waits and the buckets have room, else the scope's FIFO lane),
 * the refund of an interrupted admission, and `settle` against the tokens the server counted.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type { RequestTooLarge, StoreUnavailable } from "../../Errors.js"
import type { Cost, Decision, Permit } from "../../RateLimiter.js"
import { type Lane, laneOf, poke, pokeScope } from "./lanes.js"
import { giveBack, type Limiter, limitsNow, limitsOf, logged, needsProbe, tooLarge } from "./limiter.js"

type Acquired = Effect.Effect<Permit, RequestTooLarge | StoreUnavailable>

const permitOf = (scope: string, cost: Cost, admittedAtMs: number): Permit => ({
  scope,
  requests: cost.requests,
  tokens: cost.tokens,
  admittedAtMs
})

/**
 * Nobody waiting in this scope and the buckets have room: take directly, without the queue and the dispatcher
 * (the common case under limits that do not bind, and most of the limiter's CPU otherwise). Anything else — a
 * queue, a probe, a pause, an empty bucket — goes through the FIFO queue. The take and the hand-over are
 * uninterruptible (admitted units always reach the caller); a wait is not. On the memory store the direct take is
 * one synchronous step (decision 0014).
 */
export const acquire = (self: Limiter, scope: string, cost: Cost): Acquired =>
  Effect.uninterruptibleMask((restore) =>
    Clock.clockWith((clock) => {
      const limits = limitsNow(self, scope)
      const error = tooLarge(limits, cost)
      if (error !== undefined) return Effect.fail(error)
      const lane = self.laneCache.get(scope)
      if (lane === undefined || lane.pending > 0 || needsProbe(self, scope, limits)) {
        return restore(queued(self, scope, cost))
      }
      const now = clock.currentTimeMillisUnsafe()
      const admit = (decision: Decision): Acquired =>
        decision._tag === "Admitted" ? Effect.succeed(permitOf(scope, cost, now)) : restore(queued(self, scope, cost))
      return self.sync === undefined
        ? Effect.flatMap(self.store.take(scope, limits, cost, now), admit)
        : admit(self.sync.take(scope, limits, cost, now))
    })
  )

/** An interrupted waiter: skipped if still queued (waking the dispatcher), refunded if admitted meanwhile. */
const leave = (
  self: Limiter,
  scope: string,
  cost: Cost,
  lane: Lane,
  done: Deferred.Deferred<void, RequestTooLarge | StoreUnavailable>
) =>
  Effect.gen(function* () {
    if (yield* Deferred.interrupt(done)) return yield* poke(lane)
    // Admitted just as we were interrupted: no debt may remain.
    const exit = yield* Deferred.poll(done)
    if (Option.isSome(exit)) {
      const admitted = yield* Effect.exit(exit.value)
      if (admitted._tag === "Success") yield* refund(self, scope, cost)
    }
  })

const queued = (self: Limiter, scope: string, cost: Cost): Acquired =>
  Effect.gen(function* () {
    const lane = yield* laneOf(self, scope)
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
        Effect.onInterrupt(() => leave(self, scope, cost, lane, done))
      )
    )
    return permitOf(scope, cost, yield* Clock.currentTimeMillis)
  }).pipe(Effect.withSpan("RateLimiter.acquire", { attributes: { scope } }, { captureStackTrace: false }))

const refund = (self: Limiter, scope: string, cost: Cost) =>
  Effect.gen(function* () {
    const limits = yield* limitsOf(self, scope)
    yield* giveBack(self, scope, limits, cost, yield* Clock.currentTimeMillis)
    yield* pokeScope(self, scope)
  })

export const settle = (self: Limiter, permit: Permit, actualTokens: number): Effect.Effect<void> => {
  const delta = actualTokens - permit.tokens
  if (delta === 0 || (delta < 0 && !self.refundUnused)) return Effect.void
  return Effect.gen(function* () {
    const limits = yield* limitsOf(self, permit.scope)
    const now = yield* Clock.currentTimeMillis
    yield* self.store
      .adjust(permit.scope, limits, { requests: 0, tokens: delta }, now)
      .pipe(logged("settle", permit.scope))
    if (delta < 0) yield* pokeScope(self, permit.scope)
  })
}
