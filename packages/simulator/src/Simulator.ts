/**
 * The simulator server: start it in a `Scope` (Effect), as a `Layer`, or with plain Promises.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import type * as Scope from "effect/Scope"
import type { Config } from "./Config.js"
import { embeddingOf as embeddingOfInternal } from "./internal/embeddings.js"
import * as Internal from "./internal/server.js"
import type { Stats } from "./Stats.js"

/**
 * A running simulator.
 *
 * @since 0.1.0
 * @category models
 */
export interface Running {
  /** Base URL for OpenAI clients, e.g. `http://127.0.0.1:53124/v1`. */
  readonly url: string
  readonly port: number
  /** A snapshot of the counters. */
  readonly stats: Effect.Effect<Stats>
  /** Zeroes the counters, the rate-limit buckets, request numbering (scripts) and re-seeds the PRNGs. */
  readonly reset: Effect.Effect<void>
  /** Changes the configuration at run time (nested option groups are merged one level deep). */
  readonly update: (patch: Config) => Effect.Effect<void>
}

/**
 * The running simulator as a service.
 *
 * @since 0.1.0
 * @category tags
 */
export class Simulator extends Context.Service<Simulator, Running>()("@sluice/simulator/Simulator") {}

const toRunning = (handle: Internal.Handle): Running => ({
  url: handle.url,
  port: handle.port,
  stats: Effect.sync(handle.stats),
  reset: Effect.sync(handle.reset),
  update: (patch) => Effect.sync(() => handle.update(patch))
})

/**
 * Starts a simulator on 127.0.0.1 (port 0 by default); it is closed (sockets destroyed) when the scope closes.
 * A port that cannot be bound is a defect.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = (config: Config = {}): Effect.Effect<Running, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.promise(() => Internal.start(config)),
      (handle) => Effect.promise(() => handle.close())
    ),
    toRunning
  )

/**
 * A layer providing the `Simulator` service.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (config: Config = {}): Layer.Layer<Simulator> => Layer.effect(Simulator, start(config))

/**
 * A simulator started with plain Promises (for non-Effect code such as benchmarks with the official SDK).
 *
 * @since 0.1.0
 * @category models
 */
export interface Server {
  readonly url: string
  readonly port: number
  readonly close: () => Promise<void>
  readonly stats: () => Stats
  readonly reset: () => void
  readonly update: (patch: Config) => void
}

/**
 * Starts a simulator; call `close()` when done.
 *
 * @since 0.1.0
 * @category constructors
 */
export const startServer = (config: Config = {}): Promise<Server> => Internal.start(config)

/**
 * The embedding vector the simulator answers for `input` on `model` (see `Embeddings.embeddingOf`): a
 * deterministic, normalized function of (model, input, dimensions), so a test can check every vector it got.
 *
 * @since 0.3.0
 * @category embeddings
 */
export const embeddingOf: (model: string, input: string | ReadonlyArray<number>, dimensions?: number) => Float32Array =
  embeddingOfInternal
