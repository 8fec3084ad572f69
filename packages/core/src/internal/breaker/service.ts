/**
 * The body of `CircuitBreaker.make`: the per-scope states in one `Ref`, the steps of ./machine.ts run on them,
 * the fuse and shared openings in the store.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import type { CircuitBreaker, Options, Outcome, State, Store } from "../../CircuitBreaker.js"
import { CircuitOpen, type OpenAiError, type StoreUnavailable } from "../../Errors.js"
import * as Machine from "./machine.js"
import { announce } from "./metrics.js"
import { type Settings, settingsOf } from "./settings.js"

/** One breaker: its settings, the per-scope states and the store. */
interface Breaker {
  readonly settings: Settings
  readonly scopes: Ref.Ref<Map<string, Machine.ScopeState>>
  readonly store: Store
}

/** Where a shared store's error goes when nobody waits for the answer: the log. */
const unshared = (what: string, scope: string) => (error: StoreUnavailable) =>
  Effect.logError(`circuit breaker: could not ${what} in the shared store`).pipe(
    Effect.annotateLogs({ scope, error: error.message })
  )

/**
 * Runs a step on a scope's state and announces its transition. The map is only touched inside `Ref.modify` or
 * read synchronously after `Ref.get` (one fiber at a time, nothing held across a yield), so it, and each scope's
 * window, is updated in place instead of being copied on every update.
 */
const run = <A>(
  { scopes, settings }: Breaker,
  scope: string,
  step: (state: Machine.ScopeState) => Machine.Step<A>
): Effect.Effect<A> =>
  Effect.flatMap(
    Ref.modify(scopes, (map) => {
      const current = map.get(scope)
      const [result, next, transition] = step(current ?? Machine.closed(settings.windowMs, 0))
      if (next !== current) map.set(scope, next)
      return [[result, transition] as const, map] as const
    }),
    ([result, transition]) => Effect.as(announce(transition), result)
  )

/** The fuse key: the call's key id when the caller has it as a value, else parsed from the scope. */
const keyOf = (b: Breaker, scope: string, keyId: string | undefined) => keyId ?? b.settings.fuseKey(scope)

/** The shared state, failing with `CircuitOpen` on a blown fuse. */
const readShared = (b: Breaker, scope: string, keyId: string | undefined) =>
  Effect.flatMap(b.store.read(keyOf(b, scope, keyId), scope), (shared) =>
    shared.fuse === undefined
      ? Effect.succeed(shared)
      : Effect.fail(new CircuitOpen({ scope: keyOf(b, scope, keyId), reason: shared.fuse }))
  )

const guard = (b: Breaker, scope: string, keyId: string | undefined) =>
  Effect.gen(function* () {
    const shared = yield* readShared(b, scope, keyId)
    const now = yield* Clock.currentTimeMillis
    const verdict = yield* run(b, scope, Machine.admit(b.settings, scope, shared, now))
    if (verdict instanceof CircuitOpen) return yield* verdict
    // A probe that ends without an outcome (interrupted, failed before sending) frees its slot.
    if (typeof verdict === "number") yield* Effect.addFinalizer(() => run(b, scope, Machine.freeProbe(verdict)))
  })

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

const record = (b: Breaker, scope: string, outcome: Outcome, keyId: string | undefined) =>
  Effect.gen(function* () {
    if (outcome._tag === "Failure" && b.settings.fuseOn.has(outcome.error._tag)) {
      return yield* blow(b, keyOf(b, scope, keyId), outcome.error)
    }
    const failed = outcome._tag === "Failure" && b.settings.tripOn.has(outcome.error._tag)
    const reason = outcome._tag === "Failure" ? outcome.error._tag : ""
    const now = yield* Clock.currentTimeMillis
    const opened = yield* run(b, scope, Machine.record(b.settings, { scope, failed, reason, now }))
    if (opened !== undefined) {
      yield* b.store.open(scope, b.settings.openMs, opened).pipe(Effect.catch(unshared("share the opening", scope)))
    }
  })

const state = (b: Breaker, scope: string) =>
  Effect.gen(function* () {
    if ((yield* b.store.read(b.settings.fuseKey(scope), scope)).fuse !== undefined) return "fused" as State
    return ((yield* Ref.get(b.scopes)).get(scope)?.state ?? "closed") as State
  })

const reset = (b: Breaker, scope: string) =>
  Effect.gen(function* () {
    const from = yield* state(b, scope)
    yield* b.store.clear(b.settings.fuseKey(scope), scope)
    yield* run(b, scope, Machine.reset(b.settings, scope, from))
  })

export const make = (options: Options, store: Store): Effect.Effect<CircuitBreaker["Service"]> =>
  Effect.map(
    Effect.suspend(() => Ref.make(new Map<string, Machine.ScopeState>())),
    (scopes) => {
      const b: Breaker = { settings: settingsOf(options), scopes, store }
      return {
        guard: (scope, keyId) => guard(b, scope, keyId),
        checkFuse: (scope, keyId) => Effect.asVoid(readShared(b, scope, keyId)),
        record: (scope, outcome, keyId) => record(b, scope, outcome, keyId),
        state: (scope) => state(b, scope),
        reset: (scope) => reset(b, scope)
      }
    }
  )
