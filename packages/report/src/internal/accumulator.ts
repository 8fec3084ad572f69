/**
 * The body of `RunReport.accumulator`: per-bucket, per-model and total tallies of telemetry events, with buckets
 * that double (merging neighbours) when the run outgrows `maxBuckets`.
 *
 * @internal
 */
import type { TelemetryEvent } from "@sluice/core/Telemetry"
import type { Accumulator, Counts, Percentiles } from "../RunReport.js"
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

/** @internal */
export const accumulator = (
  options: { readonly bucketMs?: number; readonly maxBuckets?: number } = {}
): Accumulator => {
  let bucketMs = options.bucketMs ?? 1000
  const maxBuckets = options.maxBuckets ?? 600
  let buckets = new Map<number, Tally>()
  const models = new Map<string, Tally>()
  const totals = new Tally()
  const errors: Record<string, number> = {}
  let firstAt: number | undefined
  let lastAt: number | undefined

  const widen = () => {
    while (firstAt !== undefined && lastAt !== undefined && (lastAt - firstAt) / bucketMs >= maxBuckets) {
      bucketMs *= 2
      const merged = new Map<number, Tally>()
      for (const [start, tally] of buckets) {
        const key = Math.floor(start / bucketMs) * bucketMs
        const target = merged.get(key) ?? new Tally()
        target.merge(tally)
        merged.set(key, target)
      }
      buckets = merged
    }
  }

  const latencyOverTime = () => {
    const span = firstAt === undefined || lastAt === undefined ? 0 : lastAt - firstAt
    const groupMs = bucketMs * Math.max(1, Math.ceil(span / bucketMs / 60))
    const groups = new Map<number, Sketch>()
    for (const [start, tally] of buckets) {
      const key = Math.floor(start / groupMs) * groupMs
      const sketch = groups.get(key) ?? new Sketch()
      sketch.merge(tally.latency)
      groups.set(key, sketch)
    }
    return [...groups.entries()]
      .filter(([, sketch]) => sketch.total > 0)
      .sort(([a], [b]) => a - b)
      .map(([start, sketch]) => ({ start, samples: sketch.total, ...percentilesOf(sketch) }))
  }

  return {
    add: (event) => {
      const start = event._tag === "Call" ? Math.min(event.startedAt, event.at) : event.at
      firstAt = firstAt === undefined ? start : Math.min(firstAt, start)
      lastAt = lastAt === undefined ? event.at : Math.max(lastAt, event.at)
      widen()
      const key = Math.floor(event.at / bucketMs) * bucketMs
      let bucket = buckets.get(key)
      if (bucket === undefined) {
        bucket = new Tally()
        buckets.set(key, bucket)
      }
      bucket.add(event)
      const modelName = event.model ?? "(no model)"
      let model = models.get(modelName)
      if (model === undefined) {
        model = new Tally()
        models.set(modelName, model)
      }
      model.add(event)
      totals.add(event)
      const errorTag = event._tag === "Attempt" ? event.errorTag : event.attempts === 0 ? event.errorTag : undefined
      if (errorTag !== undefined) errors[errorTag] = (errors[errorTag] ?? 0) + 1
    },
    summary: () => ({
      latencyOverTime: latencyOverTime(),
      bucketMs,
      firstAt,
      lastAt,
      totals: totals.counts(),
      buckets: [...buckets.entries()].sort(([a], [b]) => a - b).map(([start, tally]) => ({ start, ...tally.counts() })),
      models: [...models.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([model, tally]) => ({ model, ...tally.counts(), finishReasons: { ...tally.finishReasons } })),
      errors: { ...errors }
    })
  }
}
