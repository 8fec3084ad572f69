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
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Metric from "effect/Metric"
import type * as Scope from "effect/Scope"
import type { CircuitOpen, OpenAiError, StoreUnavailable } from "./Errors.js"
import * as MemoryStore from "./internal/breaker/memoryStore.js"
import * as Metrics from "./internal/breaker/metrics.js"
import * as Service from "./internal/breaker/service.js"
import * as Settings from "./internal/breaker/settings.js"

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
export const memoryStore: () => Store = MemoryStore.memoryStore

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

/**
 * The key id at the start of a scope (`sha256:0123456789ab:gpt-4o` → `sha256:0123456789ab`): a key fingerprint
 * has a colon of its own, so "up to the first colon" would be `sha256` — one fuse for every key, and a rotated-in
 * key would meet the old key's fuse. Other scope shapes: the part before the first colon.
 *
 * @since 0.1.0
 * @category utils
 */
export const keyOfScope: (scope: string) => string = Settings.keyOfScope

/**
 * Gauge of the breaker state per scope: 0 closed, 1 half-open, 2 open, 3 fused.
 *
 * @since 0.1.0
 * @category metrics
 */
export const stateGauge: Metric.Gauge<number> = Metrics.stateGauge

/**
 * Counter of transitions, tagged `scope`, `from`, `to`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const transitions: Metric.Counter<number> = Metrics.transitions

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}, store: Store = memoryStore()): Effect.Effect<CircuitBreaker["Service"]> =>
  Service.make(options, store)

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
