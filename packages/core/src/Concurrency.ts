/**
 * Bounds how many requests are in flight: a global `Semaphore` and, optionally, one per scope (`keyId:model`).
 * A permit is held for the `Scope` of one attempt, so interruption always returns it. Both limits can be
 * resized at run time (`resize`), for example from an admin endpoint or when a deployment scales.
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
import type { InvalidOptions } from "./Errors.js"
import * as internal from "./internal/gates/concurrency.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Requests in flight across all scopes. Default 64. */
  readonly permits?: number
  /** Requests in flight per scope; unbounded (only the global limit) when absent. */
  readonly perScope?: number
}

/**
 * The concurrency gate.
 *
 * @since 0.1.0
 * @category services
 */
export class Concurrency extends Context.Service<
  Concurrency,
  {
    /** Waits for a permit (global, then the scope's) and holds it until the enclosing `Scope` closes. */
    readonly acquire: (scope: string) => Effect.Effect<void, never, Scope.Scope>
    /** Runs an effect holding a permit. */
    readonly withPermit: (scope: string) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
    /** Changes the global limit (an integer ≥ 1). Lowering it lets in-flight requests finish; new ones wait. */
    readonly resize: (permits: number) => Effect.Effect<void, InvalidOptions>
    /** Changes the per-scope limit for every scope (an integer ≥ 1). */
    readonly resizePerScope: (permits: number) => Effect.Effect<void, InvalidOptions>
    /** The current global limit. */
    readonly permits: Effect.Effect<number>
  }
>()("@sluice/core/Concurrency") {}

/**
 * Checks the options: `permits` and `perScope` are integers ≥ 1 (0 would let nothing run, ever). `prefix` is how
 * the caller names them (`concurrency` in `Gates.layerDefaults`).
 *
 * @since 0.1.0
 * @category validation
 */
export const validate: (options: Options, prefix?: string) => Result.Result<Options, InvalidOptions> = internal.validate

/**
 * Fails with `InvalidOptions` when the options are out of range ({@link validate}).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Concurrency["Service"], InvalidOptions> =>
  internal.make(options)

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Concurrency, InvalidOptions> =>
  Layer.effect(Concurrency, make(options))

/**
 * Reads `SLUICE_CONCURRENCY` (global, default 64) and `SLUICE_CONCURRENCY_PER_SCOPE` (optional).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config<Options> = Config.all({
    permits: Config.Int("SLUICE_CONCURRENCY").pipe(Config.withDefault(64)),
    perScope: Config.option(Config.Int("SLUICE_CONCURRENCY_PER_SCOPE")).pipe(Config.map(Option.getOrUndefined))
  }).pipe(Config.map(({ permits, perScope }) => (perScope === undefined ? { permits } : { permits, perScope })))
): Layer.Layer<Concurrency, Config.ConfigError | InvalidOptions> =>
  Layer.effect(Concurrency, Effect.flatMap(config, make))
