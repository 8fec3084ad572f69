/**
 * The body of `RunReport.accumulator`: per-bucket, per-model and total tallies of telemetry events, with buckets
 * that double (merging neighbours) when the run outgrows `maxBuckets`.
 *
 * @internal
 */
import type { TelemetryEvent } from "@sluice/core/Telemetry"
import type { Accumulator, Counts, Percentiles, Summary } from "../RunReport.js"
import { Sketch } from "./sketch.js"

/** @internal */
export const percentilesOf = (sketch: Sketch): Percentiles => ({
  p50: sketch.quantile(0.5),
  p90: sketch.quantile(0.9),
  p99: sketch.quantile(0.99)
})

class Tally {
  calls = 0
  ok = 0
  errors = 0
  interrupted = 0
  attempts = 0
  retries = 0
  rateLimited = 0
  promptTokens = 0
  completionTokens = 0
  costUsd = 0
  unpricedCalls = 0
  readonly latency = new Sketch()
  readonly finishReasons: Record<string, number> = {}

  add(event: TelemetryEvent): void {
    if (event._tag === "Attempt") {
      this.attempts++
      if (event.attempt > 1) this.retries++
      if (event.errorTag === "RateLimited") this.rateLimited++
      return
    }
    this.calls++
    if (event.outcome === "ok") this.ok++
    else if (event.outcome === "error") this.errors++
    else this.interrupted++
    this.promptTokens += event.promptTokens ?? 0
    this.completionTokens += event.completionTokens ?? 0
    if (event.costUsd !== undefined) this.costUsd += event.costUsd
    else if (event.promptTokens !== undefined) this.unpricedCalls++
    if (event.sent || event.outcome === "ok") this.latency.add(event.latencyMs)
    if (event.finishReason !== undefined) {
      this.finishReasons[event.finishReason] = (this.finishReasons[event.finishReason] ?? 0) + 1
    }
  }

  merge(other: Tally): void {
    this.calls += other.calls
    this.ok += other.ok
    this.errors += other.errors
    this.interrupted += other.interrupted
    this.attempts += other.attempts
    this.retries += other.retries
    this.rateLimited += other.rateLimited
    this.promptTokens += other.promptTokens
    this.completionTokens += other.completionTokens
    this.costUsd += other.costUsd
    this.unpricedCalls += other.unpricedCalls
    this.latency.merge(other.latency)
    for (const [reason, count] of Object.entries(other.finishReasons)) {
      this.finishReasons[reason] = (this.finishReasons[reason] ?? 0) + count
    }
  }

  counts(): Counts {
    return {
      calls: this.calls,
      ok: this.ok,
      errors: this.errors,
      interrupted: this.interrupted,
      attempts: this.attempts,
      retries: this.retries,
      rateLimited: this.rateLimited,
      promptTokens: this.promptTokens,
      completionTokens: this.completionTokens,
      costUsd: this.costUsd,
      unpricedCalls: this.unpricedCalls,
      latency: percentilesOf(this.latency)
    }
  }
}

/** `map`'s value at `key`, made with `make` the first time. */
const entry = <K, V>(map: Map<K, V>, key: K, make: () => V): V => {
  let value = map.get(key)
  if (value === undefined) {
    value = make()
    map.set(key, value)
  }
  return value
}

/** The buckets regrouped into spans of `spanMs`, each group folded from `make()` with `fold`. */
const regroup = <V>(
  buckets: Map<number, Tally>,
  spanMs: number,
  make: () => V,
  fold: (group: V, tally: Tally) => void
): Map<number, V> => {
  const groups = new Map<number, V>()
  for (const [start, tally] of buckets) fold(entry(groups, Math.floor(start / spanMs) * spanMs, make), tally)
  return groups
}

/** The error a telemetry event counts: every failed attempt, and a call that failed before any attempt. */
const errorTagOf = (event: TelemetryEvent): string | undefined =>
  event._tag === "Attempt" ? event.errorTag : event.attempts === 0 ? event.errorTag : undefined

class Accumulation implements Accumulator {
  private bucketMs: number
  private buckets = new Map<number, Tally>()
  private readonly models = new Map<string, Tally>()
  private readonly totals = new Tally()
  private readonly errors: Record<string, number> = {}
  private firstAt: number | undefined
  private lastAt: number | undefined

  constructor(
    bucketMs: number,
    private readonly maxBuckets: number
  ) {
    this.bucketMs = bucketMs
  }

  readonly add = (event: TelemetryEvent): void => {
    const start = event._tag === "Call" ? Math.min(event.startedAt, event.at) : event.at
    this.firstAt = this.firstAt === undefined ? start : Math.min(this.firstAt, start)
    this.lastAt = this.lastAt === undefined ? event.at : Math.max(this.lastAt, event.at)
    this.widen()
    entry(this.buckets, Math.floor(event.at / this.bucketMs) * this.bucketMs, () => new Tally()).add(event)
    entry(this.models, event.model ?? "(no model)", () => new Tally()).add(event)
    this.totals.add(event)
    const errorTag = errorTagOf(event)
    if (errorTag !== undefined) this.errors[errorTag] = (this.errors[errorTag] ?? 0) + 1
  }

  readonly summary = (): Summary => ({
    latencyOverTime: this.latencyOverTime(),
    bucketMs: this.bucketMs,
    firstAt: this.firstAt,
    lastAt: this.lastAt,
    totals: this.totals.counts(),
    buckets: [...this.buckets.entries()]
      .sort(([a], [b]) => a - b)
      .map(([start, tally]) => ({ start, ...tally.counts() })),
    models: [...this.models.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([model, tally]) => ({ model, ...tally.counts(), finishReasons: { ...tally.finishReasons } })),
    errors: { ...this.errors }
  })

  /** Doubles the bucket width (merging neighbours) until the run fits in `maxBuckets`. */
  private widen(): void {
    const span = () => (this.firstAt === undefined || this.lastAt === undefined ? 0 : this.lastAt - this.firstAt)
    while (span() / this.bucketMs >= this.maxBuckets) {
      this.bucketMs *= 2
      this.buckets = regroup(
        this.buckets,
        this.bucketMs,
        () => new Tally(),
        (group, tally) => group.merge(tally)
      )
    }
  }

  /** Latency percentiles over at most about 60 groups of buckets. */
  private latencyOverTime() {
    const span = this.firstAt === undefined || this.lastAt === undefined ? 0 : this.lastAt - this.firstAt
    const groupMs = this.bucketMs * Math.max(1, Math.ceil(span / this.bucketMs / 60))
    const groups = regroup(
      this.buckets,
      groupMs,
      () => new Sketch(),
      (sketch, tally) => sketch.merge(tally.latency)
    )
    return [...groups.entries()]
      .filter(([, sketch]) => sketch.total > 0)
      .sort(([a], [b]) => a - b)
      .map(([start, sketch]) => ({ start, samples: sketch.total, ...percentilesOf(sketch) }))
  }
}

/** @internal */
export const accumulator = (options: { readonly bucketMs?: number; readonly maxBuckets?: number } = {}): Accumulator =>
  new Accumulation(options.bucketMs ?? 1000, options.maxBuckets ?? 600)

/** @internal */
export const summarize = (events: Iterable<TelemetryEvent>): Summary => {
  const acc = accumulator()
  for (const event of events) acc.add(event)
  return acc.summary()
}
