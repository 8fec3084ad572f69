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
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import type { InvalidOptions, RequestTooLarge, StoreUnavailable } from "./Errors.js"
import * as MemoryStore from "./internal/limiter/memoryStore.js"
import * as LimiterOptions from "./internal/limiter/options.js"
import * as Service from "./internal/limiter/service.js"
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

/**
 * The in-process store: a `Ref` of per-scope buckets.
 *
 * @since 0.1.0
 * @category stores
 */
export const makeMemoryStore: Effect.Effect<Store> = MemoryStore.make

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

/**
 * Builds a limiter. Each scope gets a FIFO queue and a dispatcher fiber that lives as long as the `Scope`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<RateLimiter["Service"], InvalidOptions, Scope.Scope> =>
  Service.make(options)

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
export const validate: (options: Options, prefix?: string) => Result.Result<Options, InvalidOptions> =
  LimiterOptions.validate

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
