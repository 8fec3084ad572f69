/**
 * The body of `CircuitBreaker.make`: the per-scope states in one map, the steps of ./machine.ts run on them,
 * the fuse and shared openings in the store. Every step on the map is synchronous (plain code behind the
 * effects: a guard and a record run on every attempt, decision 0014), so two fibers never interleave within one.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { CircuitBreaker, Options, Outcome, Shared, State, Store } from "../../CircuitBreaker.js"
import { CircuitOpen, type OpenAiError, type StoreUnavailable } from "../../Errors.js"
import * as Machine from "./machine.js"
import * as MemoryStore from "./memoryStore.js"
import { announce } from "./metrics.js"
import { type Settings, settingsOf } from "./settings.js"

/** One breaker: its settings, the per-scope states and the store. */
interface Breaker {
  readonly settings: Settings
  readonly scopes: Map<string, Machine.ScopeState>
  readonly store: Store
  /** The memory store's synchronous read when `store` is one. */
  readonly sync: MemoryStore.SyncStore | undefined
}

/** Where a shared store's error goes when nobody waits for the answer: the log. */
const unshared = (what: string, scope: string) => (error: StoreUnavailable) =>
  Effect.logError(`circuit breaker: could not ${what} in the shared store`).pipe(
    Effect.annotateLogs({ scope, error: error.message })
  )

/**
 * Runs a step on a scope's state, now: its result and the transition to announce. The map, and each scope's
 * window, is updated in place instead of being copied on every update.
 */
const stepNow = <A>(
  { scopes, settings }: Breaker,
  scope: string,
  step: (state: Machine.ScopeState) => Machine.Step<A>
): readonly [A, Machine.Transition | undefined] => {
  const current = scopes.get(scope)
  const [result, next, transition] = step(current ?? Machine.closed(settings.windowMs, 0))
  if (next !== current) scopes.set(scope, next)
  return [result, transition]
}

/** `then` after announcing the transition, if there was one. */
const announced = <A, E, R>(transition: Machine.Transition | undefined, then: Effect.Effect<A, E, R>) =>
  transition === undefined ? then : Effect.andThen(announce(transition), then)

/** Runs a step on a scope's state and announces its transition. */
const run = <A>(b: Breaker, scope: string, step: (state: Machine.ScopeState) => Machine.Step<A>): Effect.Effect<A> =>
  Effect.suspend(() => {
    const [result, transition] = stepNow(b, scope, step)
    return announced(transition, Effect.succeed(result))
  })

/** The fuse key: the call's key id when the caller has it as a value, else parsed from the scope. */
const keyOf = (b: Breaker, scope: string, keyId: string | undefined) => keyId ?? b.settings.fuseKey(scope)

const fusedOr = (b: Breaker, scope: string, keyId: string | undefined, shared: Shared) =>
  shared.fuse === undefined
    ? Effect.succeed(shared)
    : Effect.fail(new CircuitOpen({ scope: keyOf(b, scope, keyId), reason: shared.fuse }))

/** The shared state, failing with `CircuitOpen` on a blown fuse. */
const readShared = (b: Breaker, scope: string, keyId: string | undefined) => {
  const sync = b.sync
  return sync === undefined
    ? Effect.flatMap(b.store.read(keyOf(b, scope, keyId), scope), (shared) => fusedOr(b, scope, keyId, shared))
    : Effect.suspend(() => fusedOr(b, scope, keyId, sync.read(keyOf(b, scope, keyId))))
}

const guard = (b: Breaker, scope: string, keyId: string | undefined) =>
  Effect.flatMap(readShared(b, scope, keyId), (shared) =>
    Clock.clockWith((clock) => {
      const now = clock.currentTimeMillisUnsafe()
      const [verdict, transition] = stepNow(b, scope, Machine.admit(b.settings, scope, shared, now))
      // A probe that ends without an outcome (interrupted, failed before sending) frees its slot.
      const then: Effect.Effect<void, CircuitOpen, Scope.Scope> =
        verdict instanceof CircuitOpen
          ? Effect.fail(verdict)
          : typeof verdict === "number"
            ? Effect.addFinalizer(() => run(b, scope, Machine.freeProbe(verdict)))
            : Effect.void
      return announced(transition, then)
    })
  )

const blow = (b: Breaker, key: string, error: OpenAiError) =>
  Effect.gen(function* () {
    const blown = yield* b.store
      .blow(key, error._tag)
      .pipe(Effect.catch((failure) => Effect.as(unshared("blow the fuse", key)(failure), true)))
    if (!blown) return
    yield* announce({ scope: key, from: "closed", to: "fused", reason: error._tag })
    yield* Effect.logError("circuit breaker fuse blown: every later call on this key fails fast").pipe(
      Effect.annotateLogs({ scope: key, reason: error._tag })
    )
  })

const record = (b: Breaker, scope: string, outcome: Outcome, keyId: string | undefined): Effect.Effect<void> => {
  if (outcome._tag === "Failure" && b.settings.fuseOn.has(outcome.error._tag)) {
    return blow(b, keyOf(b, scope, keyId), outcome.error)
  }
  const failed = outcome._tag === "Failure" && b.settings.tripOn.has(outcome.error._tag)
  const reason = outcome._tag === "Failure" ? outcome.error._tag : ""
  return Clock.clockWith((clock) => {
    const now = clock.currentTimeMillisUnsafe()
    const [opened, transition] = stepNow(b, scope, Machine.record(b.settings, { scope, failed, reason, now }))
    const shared =
      opened === undefined
        ? Effect.void
        : b.store.open(scope, b.settings.openMs, opened).pipe(Effect.catch(unshared("share the opening", scope)))
    return announced(transition, shared)
  })
}

const state = (b: Breaker, scope: string) =>
  Effect.gen(function* () {
    if ((yield* b.store.read(b.settings.fuseKey(scope), scope)).fuse !== undefined) return "fused" as State
    return (b.scopes.get(scope)?.state ?? "closed") as State
  })

const reset = (b: Breaker, scope: string) =>
  Effect.gen(function* () {
    const from = yield* state(b, scope)
    yield* b.store.clear(b.settings.fuseKey(scope), scope)
    yield* run(b, scope, Machine.reset(b.settings, scope, from))
  })

export const make = (options: Options, store: Store): Effect.Effect<CircuitBreaker["Service"]> =>
  Effect.sync(() => {
    const b: Breaker = { settings: settingsOf(options), scopes: new Map(), store, sync: MemoryStore.syncOf(store) }
    return {
      guard: (scope, keyId) => guard(b, scope, keyId),
      checkFuse: (scope, keyId) => Effect.asVoid(readShared(b, scope, keyId)),
      record: (scope, outcome, keyId) => record(b, scope, outcome, keyId),
      state: (scope) => state(b, scope),
      reset: (scope) => reset(b, scope)
    }
  })
