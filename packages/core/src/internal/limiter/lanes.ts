/**
 * The limiter's waiting: one FIFO lane per scope, served by a dispatcher fiber that retries the head waiter's
 * take until it is admitted, leaves, or can never fit. Waiting is interruptible; `poke` wakes the dispatcher
 * early when capacity may have grown.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as SynchronizedRef from "effect/SynchronizedRef"
import type { RequestTooLarge, StoreUnavailable } from "../../Errors.js"
import type { Cost } from "../../RateLimiter.js"
import { giveBack, type Limiter, limitsOf, needsProbe, tooLarge } from "./limiter.js"

export interface Waiter {
  readonly cost: Cost
  readonly done: Deferred.Deferred<void, RequestTooLarge | StoreUnavailable>
}

export interface Lane {
  readonly queue: Queue.Queue<Waiter>
  /** Completed (and replaced) whenever capacity may have grown, to wake the dispatcher early. */
  readonly poke: Ref.Ref<Deferred.Deferred<void>>
  /** Waiters offered to the queue and not yet gone (admitted, refused or left): while > 0 nobody jumps the queue. */
  pending: number
}

export const poke = (lane: Lane): Effect.Effect<void> =>
  Effect.flatMap(Deferred.make<void>(), (fresh) =>
    Effect.flatMap(Ref.getAndSet(lane.poke, fresh), (old) => Effect.asVoid(Deferred.succeed(old, undefined)))
  )

export const pokeScope = (self: Limiter, scope: string): Effect.Effect<void> =>
  Effect.suspend(() => {
    const lane = self.laneCache.get(scope)
    return lane === undefined ? Effect.void : poke(lane)
  })

/** Sleeps `ms`, or until the lane is poked or the waiter leaves. */
const waitFor = (ms: number, wake: Deferred.Deferred<void>, waiter: Waiter) =>
  Effect.raceAll([Effect.sleep(ms), Deferred.await(wake), Effect.exit(Deferred.await(waiter.done))])

/**
 * While a probe is out in a scope that knows no limit, how long to wait for its response (`observe` pokes the
 * lane); `undefined` to go ahead (as the probe, or because the probe timed out).
 */
const probeWait = (self: Limiter, scope: string, now: number): number | undefined => {
  const since = self.probing.get(scope)
  if (since === undefined) {
    self.probing.set(scope, now)
    return undefined
  }
  const left = since + self.probeTimeoutMs - now
  if (left > 0) return left
  self.observedScopes.add(scope)
  return undefined
}

/** One try at the head waiter: `true` when it is settled (admitted or refused), else after waiting. */
const serveOnce = (self: Limiter, scope: string, lane: Lane, waiter: Waiter): Effect.Effect<boolean> =>
  Effect.gen(function* () {
    const limits = yield* limitsOf(self, scope)
    const error = tooLarge(limits, waiter.cost)
    if (error !== undefined) return yield* Effect.as(Deferred.fail(waiter.done, error), true)
    const wake = yield* Ref.get(lane.poke)
    const now = yield* Clock.currentTimeMillis
    const probing = needsProbe(self, scope, limits) ? probeWait(self, scope, now) : undefined
    if (probing !== undefined) return yield* Effect.as(waitFor(probing, wake, waiter), false)
    const taken = yield* Effect.result(self.store.take(scope, limits, waiter.cost, now))
    if (taken._tag === "Failure") return yield* Effect.as(Deferred.fail(waiter.done, taken.failure), true)
    if (taken.success._tag === "Wait") {
      return yield* Effect.as(waitFor(Math.max(1, Math.ceil(taken.success.waitMs)), wake, waiter), false)
    }
    // The waiter left between the check and the take: give the units back.
    if (!(yield* Deferred.succeed(waiter.done, undefined))) yield* giveBack(self, scope, limits, waiter.cost, now)
    return true
  })

/** Serves one waiter until it is admitted, leaves, or can never fit. */
const serve = (self: Limiter, scope: string, lane: Lane, waiter: Waiter): Effect.Effect<void> =>
  Effect.gen(function* () {
    while (!(yield* Deferred.isDone(waiter.done))) {
      if (yield* serveOnce(self, scope, lane, waiter)) return
    }
  })

/** The scope's lane, made (with its dispatcher fiber) on first use. */
export const laneOf = (self: Limiter, scope: string): Effect.Effect<Lane> =>
  SynchronizedRef.modifyEffect(self.lanes, (map) => {
    const existing = map.get(scope)
    if (existing !== undefined) return Effect.succeed([existing, map] as const)
    return Effect.gen(function* () {
      const lane: Lane = {
        queue: yield* Queue.unbounded<Waiter>(),
        poke: yield* Ref.make(yield* Deferred.make<void>()),
        pending: 0
      }
      self.laneCache.set(scope, lane)
      yield* Queue.take(lane.queue).pipe(
        Effect.flatMap((waiter) => serve(self, scope, lane, waiter)),
        Effect.forever,
        Effect.forkIn(self.lifetime)
      )
      return [lane, new Map(map).set(scope, lane)] as const
    })
  })
