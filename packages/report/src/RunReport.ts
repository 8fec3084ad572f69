/**
 * A self-contained HTML report of a run: throughput, 429s and retries, latency percentiles and spend over
 * time, and a per-model table. One file, inline CSS and SVG, no scripts, fonts or network references — it can
 * be mailed, attached to a CI run or opened offline.
 *
 * {@link render} is a pure function of recorded telemetry events. For long jobs, {@link recorder} subscribes
 * to `Telemetry` and keeps bounded aggregates instead of the events (time buckets that widen as the run grows,
 * and mergeable latency sketches), so a 100 000-request job costs a few hundred kilobytes.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Telemetry, TelemetryEvent } from "@sluice/core/Telemetry"
import * as Accumulate from "./internal/accumulator.js"
import * as Html from "./internal/html.js"
import * as Recording from "./internal/recorder.js"

/**
 * What the report says about the run besides the events.
 *
 * @since 0.1.0
 * @category models
 */
export interface Meta {
  readonly title?: string | undefined
  /** Epoch ms or a `Date`; default: the first event. */
  readonly started?: number | Date | undefined
  /** Epoch ms or a `Date`; default: the last event. */
  readonly ended?: number | Date | undefined
  /** Free text shown under the title (job name, commit, input file …). */
  readonly description?: string | undefined
}

/**
 * Latency percentiles in ms (from a sketch with ≤ 2 % relative error).
 *
 * @since 0.1.0
 * @category models
 */
export interface Percentiles {
  readonly p50: number | undefined
  readonly p90: number | undefined
  readonly p99: number | undefined
}

/**
 * Counters of one time bucket or of one model.
 *
 * @since 0.1.0
 * @category models
 */
export interface Counts {
  readonly calls: number
  readonly ok: number
  readonly errors: number
  readonly interrupted: number
  readonly attempts: number
  readonly retries: number
  readonly rateLimited: number
  readonly promptTokens: number
  readonly completionTokens: number
  readonly costUsd: number
  /** Calls with usage but no known price: their cost is not in `costUsd`. */
  readonly unpricedCalls: number
  readonly latency: Percentiles
}

/**
 * One time bucket.
 *
 * @since 0.1.0
 * @category models
 */
export interface Bucket extends Counts {
  /** Epoch ms of the bucket's start. */
  readonly start: number
}

/**
 * One model.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelRow extends Counts {
  readonly model: string
  readonly finishReasons: Readonly<Record<string, number>>
}

/**
 * Everything the report shows.
 *
 * @since 0.1.0
 * @category models
 */
export interface Summary {
  readonly bucketMs: number
  readonly firstAt: number | undefined
  readonly lastAt: number | undefined
  readonly totals: Counts
  readonly buckets: ReadonlyArray<Bucket>
  readonly models: ReadonlyArray<ModelRow>
  /** Call latency over time in wider buckets than `buckets` (at most about 60), so percentiles have samples. */
  readonly latencyOverTime: ReadonlyArray<{ readonly start: number; readonly samples: number } & Percentiles>
  /** Failed attempts and refused calls by error tag. */
  readonly errors: Readonly<Record<string, number>>
}

/**
 * Bounded aggregates of a stream of events: per-bucket and per-model tallies. When the run outgrows
 * `maxBuckets`, neighbouring buckets merge (the bucket doubles), so memory stays flat however long it runs.
 *
 * @since 0.1.0
 * @category models
 */
export interface Accumulator {
  readonly add: (event: TelemetryEvent) => void
  readonly summary: () => Summary
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const accumulator: (options?: { readonly bucketMs?: number; readonly maxBuckets?: number }) => Accumulator =
  Accumulate.accumulator

/**
 * Aggregates a list of recorded events.
 *
 * @since 0.1.0
 * @category constructors
 */
export const summarize: (events: Iterable<TelemetryEvent>) => Summary = Accumulate.summarize

/**
 * Renders a summary as one self-contained HTML document.
 *
 * @since 0.1.0
 * @category rendering
 */
export const renderSummary: (summary: Summary, meta?: Meta) => string = Html.renderSummary

/**
 * Renders recorded events as one self-contained HTML document. Pure.
 *
 * @since 0.1.0
 * @category rendering
 */
export const render = (events: Iterable<TelemetryEvent>, meta: Meta = {}): string =>
  renderSummary(summarize(events), meta)

/**
 * A running collector of telemetry events.
 *
 * @since 0.1.0
 * @category models
 */
export interface Recorder {
  /** The aggregates so far (every event published before the call is included). */
  readonly summary: Effect.Effect<Summary>
  /** The report so far. */
  readonly render: (meta?: Meta) => Effect.Effect<string>
}

/**
 * Subscribes to `Telemetry` now and aggregates every event until the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const recorder = (
  options: { readonly bucketMs?: number; readonly maxBuckets?: number } = {}
): Effect.Effect<Recorder, never, Telemetry | Scope.Scope> => Recording.recorder(options)
