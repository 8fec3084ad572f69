/**
 * A circuit breaker per scope (`keyId:model`): closed / open / half-open over a sliding time window, plus a fuse
 * for terminal conditions.
 *
 * Defaults follow the incident write-up: when the tripping errors (`RateLimited` by default) exceed 10 % of
 * the calls in the last 60 s — and at least 20 calls were seen, so 1 failure in 3 does not trip — the breaker
 * opens for 60 s; then it lets one probe through (half-open): a success closes it, a tripping failure opens it
 * again. While open, calls fail at once with `CircuitOpen { closesAtMs }`.
 *
 * Terminal errors (`QuotaExceeded`; `AuthenticationFailed`, which the client surfaces only after refreshing the
 * credentials once) blow a fuse for the key (the `keyId` the caller passes, else the key id the scope starts with): every later call on
 * that key fails fast with `CircuitOpen` without `closesAtMs`, so a job stops instead of hammering. Only
 * `reset` clears it.
 *
 * Transitions are logged (`Effect.logWarning`) and metered: the gauge `sluice_breaker_state`
 * (0 closed, 1 half-open, 2 open, 3 fused) and the counter `sluice_breaker_transitions_total`, tagged by scope.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import { CircuitOpen, type OpenAiError, type StoreUnavailable } from "./Errors.js"
import * as SlidingWindow from "./SlidingWindow.js"

/**
 * @since 0.1.0
 * @category models
 */
export type State = "closed" | "half-open" | "open" | "fused"

/**
 * What an attempt ended with, as the breaker sees it.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = { readonly _tag: "Success" } | { readonly _tag: "Failure"; readonly error: OpenAiError }

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Length of the sliding window. Default 60 000 ms. */
  readonly windowMs?: number
  /** Trip when tripping failures / calls exceeds this. Default 0.1. */
  readonly failureRate?: number
  /** Calls in the window before the rate is judged. Default 20. */
  readonly minimumCalls?: number
  /** How long the breaker stays open. Default 60 000 ms. */
  readonly openMs?: number
  /** Error tags that count as failures. Default `["RateLimited"]`. */
  readonly tripOn?: ReadonlyArray<OpenAiError["_tag"]>
  /** Error tags that blow the key's fuse. Default `["QuotaExceeded", "AuthenticationFailed"]`. */
  readonly fuseOn?: ReadonlyArray<OpenAiError["_tag"]>
  /** Concurrent probes while half-open. Default 1. */
  readonly halfOpenProbes?: number
  /** `closesAtMs` hint given to calls refused while a probe is out. Default 1000 ms from now. */
  readonly probeWaitMs?: number
  /** The fuse key of a scope. Default: the key id the scope starts with ({@link keyOfScope}). */
  readonly fuseKey?: (scope: string) => string
}

/**
 * What every process shares about a key and a scope: the key's fuse, and whether any process opened the scope.
 *
 * @since 0.3.0
 * @category models
 */
export interface Shared {
  /** The reason the key's fuse blew; absent while it holds. */
  readonly fuse?: string | undefined
  /** How much longer the scope stays open, when a process opened it. */
  readonly openForMs?: number | undefined
  readonly reason?: string | undefined
}

/**
 * Where the fuse and shared openings live. The breaker's window and its half-open probes stay in each process;
 * a store lets one process's billing 429 blow the fuse for all, and one process's opening hold the others.
 * {@link memoryStore} (the default) keeps fuses in the process and shares no opening; `@sluice/redis` shares both.
 *
 * @since 0.3.0
 * @category models
 */
export interface Store {
  /** The key's fuse and the scope's shared opening, in one read. */
  readonly read: (key: string, scope: string) => Effect.Effect<Shared, StoreUnavailable>
  /** Blows the key's fuse: `true` when this call blew it, `false` when it was blown already. */
  readonly blow: (key: string, reason: string) => Effect.Effect<boolean, StoreUnavailable>
  /** Opens the scope for every process for `forMs`. */
  readonly open: (scope: string, forMs: number, reason: string) => Effect.Effect<void, StoreUnavailable>
  /** Clears the key's fuse and the scope's opening. */
  readonly clear: (key: string, scope: string) => Effect.Effect<void, StoreUnavailable>
}

/**
 * Fuses in this process, no shared opening (this process's own breaker state is its opening).
 *
 * @since 0.3.0
 * @category stores
 */
export const memoryStore = (): Store => {
  const fuses = new Map<string, string>()
  return {
    read: (key) => Effect.sync(() => ({ fuse: fuses.get(key) })),
    blow: (key, reason) =>
      Effect.sync(() => {
        if (fuses.has(key)) return false
        fuses.set(key, reason)
        return true
      }),
    open: () => Effect.void,
    clear: (key) => Effect.sync(() => void fuses.delete(key))
  }
}

/**
 * The circuit breaker.
 *
 * @since 0.1.0
 * @category services
 */
export class CircuitBreaker extends Context.Service<
  CircuitBreaker,
  {
    /**
     * Admits an attempt or fails with `CircuitOpen`. In half-open state it hands out a probe slot that returns
     * when the `Scope` closes without an outcome having been recorded.
     */
    readonly guard: (
      scope: string,
      keyId?: string | undefined
    ) => Effect.Effect<void, CircuitOpen | StoreUnavailable, Scope.Scope>
    /** Fails fast if the scope's key has a blown fuse. */
    readonly checkFuse: (
      scope: string,
      keyId?: string | undefined
    ) => Effect.Effect<void, CircuitOpen | StoreUnavailable>
    /** Records an attempt's outcome; may trip the breaker or blow the fuse (a store that stays unreachable is logged). */
    readonly record: (scope: string, outcome: Outcome, keyId?: string | undefined) => Effect.Effect<void>
    readonly state: (scope: string) => Effect.Effect<State, StoreUnavailable>
    /** Closes the breaker and clears the fuse of the scope's key. */
    readonly reset: (scope: string) => Effect.Effect<void, StoreUnavailable>
  }
>()("@sluice/core/CircuitBreaker") {}

/** The calls of one slot (`windowMs / 60`) of the window, counted in place. */
interface Slot {
  calls: number
  failures: number
}

interface ScopeState {
  readonly state: "closed" | "half-open" | "open"
  /** Slots keyed by their start (a multiple of the slot length). */
  readonly window: SlidingWindow.SlidingWindow<Slot>
  readonly openUntil: number
  readonly reason: string
  readonly probes: number
  /** Bumped on every transition, so a stale probe finalizer does nothing. */
  readonly generation: number
}

interface Transition {
  readonly scope: string
  readonly from: State
  readonly to: State
  readonly reason: string
}

const closed = (windowMs: number, generation: number): ScopeState => ({
  state: "closed",
  window: SlidingWindow.make(windowMs),
  openUntil: 0,
  reason: "",
  probes: 0,
  generation
})

const stateValue: Record<State, number> = { closed: 0, "half-open": 1, open: 2, fused: 3 }

/**
 * The key id at the start of a scope (`sha256:0123456789ab:gpt-4o` → `sha256:0123456789ab`): a key fingerprint
 * has a colon of its own, so "up to the first colon" would be `sha256` — one fuse for every key, and a rotated-in
 * key would meet the old key's fuse. Other scope shapes: the part before the first colon.
 *
 * @since 0.1.0
 * @category utils
 */
export const keyOfScope = (scope: string): string => {
  const fingerprint = /^sha256:[0-9a-f]+/.exec(scope)
  return fingerprint !== null ? fingerprint[0] : (scope.split(":")[0] ?? scope)
}

/**
 * Gauge of the breaker state per scope: 0 closed, 1 half-open, 2 open, 3 fused.
 *
 * @since 0.1.0
 * @category metrics
 */
export const stateGauge = Metric.gauge("sluice_breaker_state", {
  description: "Circuit breaker state per scope: 0 closed, 1 half-open, 2 open, 3 fused"
})
/**
 * Counter of transitions, tagged `scope`, `from`, `to`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const transitions = Metric.counter("sluice_breaker_transitions_total", {
  description: "Circuit breaker state transitions"
})

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}, store: Store = memoryStore()): Effect.Effect<CircuitBreaker["Service"]> =>
  Effect.gen(function* () {
    const windowMs = options.windowMs ?? 60_000
    const slotMs = Math.max(1, Math.floor(windowMs / 60))
    const failureRate = options.failureRate ?? 0.1
    const minimumCalls = options.minimumCalls ?? 20
    const openMs = options.openMs ?? 60_000
    const tripOn = new Set<string>(options.tripOn ?? ["RateLimited"])
    const fuseOn = new Set<string>(options.fuseOn ?? ["QuotaExceeded", "AuthenticationFailed"])
    const halfOpenProbes = options.halfOpenProbes ?? 1
    const probeWaitMs = options.probeWaitMs ?? 1000
    const fuseKey = options.fuseKey ?? keyOfScope

    const initial = closed(windowMs, 0)
    const scopes = yield* Ref.make(new Map<string, ScopeState>())
    const unshared = (what: string, scope: string) => (error: StoreUnavailable) =>
      Effect.logError(`circuit breaker: could not ${what} in the shared store`).pipe(
        Effect.annotateLogs({ scope, error: error.message })
      )

    const announce = (t: Transition | undefined) =>
      t === undefined
        ? Effect.void
        : Effect.all(
            [
              Effect.logWarning(`circuit breaker ${t.from} → ${t.to}`).pipe(
                Effect.annotateLogs({ scope: t.scope, from: t.from, to: t.to, reason: t.reason })
              ),
              Metric.update(stateGauge.pipe(Metric.withAttributes({ scope: t.scope })), stateValue[t.to]),
              Metric.update(transitions.pipe(Metric.withAttributes({ scope: t.scope, from: t.from, to: t.to })), 1)
            ],
            { discard: true }
          )

    // Both maps are only touched inside `Ref.modify` / `Ref.update` or read synchronously after `Ref.get`
    // (one fiber at a time, nothing held across a yield), so they are updated in place, as in RateLimiter and
    // Budget, instead of being copied on every update.
    const modify = <A>(scope: string, f: (state: ScopeState) => readonly [A, ScopeState, Transition | undefined]) =>
      Effect.flatMap(
        Ref.modify(scopes, (map) => {
          const current = map.get(scope)
          const [result, next, transition] = f(current ?? closed(windowMs, 0))
          if (next !== current) map.set(scope, next)
          return [[result, transition] as const, map] as const
        }),
        ([result, transition]) => Effect.as(announce(transition), result)
      )

    /** The shared state, failing with `CircuitOpen` on a blown fuse. */
    /** The fuse key: the call's key id when the caller has it as a value, else parsed from the scope. */
    const keyOf = (scope: string, keyId: string | undefined) => keyId ?? fuseKey(scope)

    const readShared = (scope: string, keyId: string | undefined) =>
      Effect.flatMap(store.read(keyOf(scope, keyId), scope), (shared) =>
        shared.fuse === undefined
          ? Effect.succeed(shared)
          : Effect.fail(new CircuitOpen({ scope: keyOf(scope, keyId), reason: shared.fuse }))
      )

    const checkFuse = (scope: string, keyId?: string | undefined) => Effect.asVoid(readShared(scope, keyId))

    const guard = (scope: string, keyId?: string | undefined) =>
      Effect.gen(function* () {
        const shared = yield* readShared(scope, keyId)
        const now = yield* Clock.currentTimeMillis
        const verdict = yield* modify(
          scope,
          (s): readonly [CircuitOpen | number | undefined, ScopeState, Transition | undefined] => {
            if (s.state === "closed" && shared.openForMs !== undefined && shared.openForMs > 0) {
              // Another process opened this scope: hold off until its opening ends.
              const reason = shared.reason ?? "opened by another process"
              return [new CircuitOpen({ scope, closesAtMs: now + shared.openForMs, reason }), s, undefined]
            }
            if (s.state === "closed") return [undefined, s, undefined]
            if (s.state === "open" && now < s.openUntil) {
              return [new CircuitOpen({ scope, closesAtMs: s.openUntil, reason: s.reason }), s, undefined]
            }
            if (s.state === "open") {
              const next: ScopeState = { ...s, state: "half-open", probes: 1, generation: s.generation + 1 }
              return [next.generation, next, { scope, from: "open", to: "half-open", reason: s.reason }]
            }
            if (s.probes < halfOpenProbes) return [s.generation, { ...s, probes: s.probes + 1 }, undefined]
            return [new CircuitOpen({ scope, closesAtMs: now + probeWaitMs, reason: s.reason }), s, undefined]
          }
        )
        if (verdict instanceof CircuitOpen) return yield* verdict
        if (typeof verdict === "number") {
          // A probe that ends without an outcome (interrupted, failed before sending) frees its slot.
          yield* Effect.addFinalizer(() =>
            modify(scope, (s) => [
              undefined,
              s.state === "half-open" && s.generation === verdict ? { ...s, probes: Math.max(0, s.probes - 1) } : s,
              undefined
            ])
          )
        }
      })

    const record = (scope: string, outcome: Outcome, keyId?: string | undefined) =>
      Effect.gen(function* () {
        if (outcome._tag === "Failure" && fuseOn.has(outcome.error._tag)) {
          const key = keyOf(scope, keyId)
          const blown = yield* store
            .blow(key, outcome.error._tag)
            .pipe(Effect.catch((error) => Effect.as(unshared("blow the fuse", key)(error), true)))
          if (blown) {
            yield* announce({ scope: key, from: "closed", to: "fused", reason: outcome.error._tag })
            yield* Effect.logError("circuit breaker fuse blown: every later call on this key fails fast").pipe(
              Effect.annotateLogs({ scope: key, reason: outcome.error._tag })
            )
          }
          return
        }
        const failed = outcome._tag === "Failure" && tripOn.has(outcome.error._tag)
        const reason = outcome._tag === "Failure" ? outcome.error._tag : ""
        const now = yield* Clock.currentTimeMillis
        const opened = yield* modify(scope, (s): readonly [string | undefined, ScopeState, Transition | undefined] => {
          if (s.state === "half-open") {
            if (failed) {
              const next: ScopeState = {
                ...s,
                state: "open",
                openUntil: now + openMs,
                reason,
                probes: 0,
                generation: s.generation + 1
              }
              return [reason, next, { scope, from: "half-open", to: "open", reason }]
            }
            const next = closed(windowMs, s.generation + 1)
            return [undefined, next, { scope, from: "half-open", to: "closed", reason: "probe succeeded" }]
          }
          if (s.state === "open") return [undefined, s, undefined]
          const start = Math.floor(now / slotMs) * slotMs
          s.window.prune(now)
          const newest = s.window.newest
          if (newest !== undefined && newest.at === start) {
            newest.value.calls++
            if (failed) newest.value.failures++
          } else {
            s.window.push(start, { calls: 1, failures: failed ? 1 : 0 })
          }
          let calls = 0
          let failures = 0
          s.window.forEach((slot) => {
            calls += slot.calls
            failures += slot.failures
          })
          if (failed && calls >= minimumCalls && failures / calls > failureRate) {
            const why = `${failures} of ${calls} calls failed with ${reason} in ${windowMs} ms`
            const next: ScopeState = {
              ...s,
              state: "open",
              window: SlidingWindow.make(windowMs),
              openUntil: now + openMs,
              reason: why,
              probes: 0,
              generation: s.generation + 1
            }
            return [why, next, { scope, from: "closed", to: "open", reason: why }]
          }
          return [undefined, s, undefined]
        })
        if (opened !== undefined) {
          yield* store.open(scope, openMs, opened).pipe(Effect.catch(unshared("share the opening", scope)))
        }
      })

    const state = (scope: string) =>
      Effect.gen(function* () {
        if ((yield* store.read(fuseKey(scope), scope)).fuse !== undefined) return "fused" as State
        const s = (yield* Ref.get(scopes)).get(scope) ?? initial
        return s.state as State
      })

    const reset = (scope: string) =>
      Effect.gen(function* () {
        const from = yield* state(scope)
        yield* store.clear(fuseKey(scope), scope)
        yield* modify(scope, (s) => [
          undefined,
          closed(windowMs, s.generation + 1),
          from === "closed" ? undefined : { scope, from, to: "closed", reason: "reset" }
        ])
      })

    return CircuitBreaker.of({ guard, checkFuse, record, state, reset })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<CircuitBreaker> =>
  // suspended: `make`'s default store is created per build, not once per layer value (a module-level layer like
  // `Gates.defaults` would otherwise share one fuse table between every program that provides it)
  Layer.effect(
    CircuitBreaker,
    Effect.suspend(() => make(options))
  )

/**
 * A breaker over a store (shared fuses and openings: `@sluice/redis`).
 *
 * @since 0.3.0
 * @category layers
 */
export const layerStore = <E, R>(
  options: Options,
  store: Effect.Effect<Store, E, R>
): Layer.Layer<CircuitBreaker, E, Exclude<R, Scope.Scope>> =>
  Layer.effect(
    CircuitBreaker,
    Effect.flatMap(store, (s) => make(options, s))
  )
