/** The `sluice_*` metrics and their tagged series, built once per tag set. Not public: see `Telemetry.ts`. */
import * as Metric from "effect/Metric"

const latencyBoundaries: ReadonlyArray<number> = [
  5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 20_000, 30_000, 60_000, 120_000, 300_000
]

// How to build each metric again with attributes of its own (see `withTags`).
const definitions = new WeakMap<object, (attributes: Record<string, string>) => object>()

const counter = (name: string, description: string): Metric.Counter<number> => {
  const metric = Metric.counter(name, { description, incremental: true })
  definitions.set(metric, (attributes) => Metric.counter(name, { description, incremental: true, attributes }))
  return metric
}

const histogram = (name: string, description: string): Metric.Histogram<number> => {
  const metric = Metric.histogram(name, { description, boundaries: latencyBoundaries })
  definitions.set(metric, (attributes) =>
    Metric.histogram(name, { description, boundaries: latencyBoundaries, attributes })
  )
  return metric
}

const gauge = (name: string, description: string): Metric.Gauge<number> => {
  const metric = Metric.gauge(name, { description })
  definitions.set(metric, (attributes) => Metric.gauge(name, { description, attributes }))
  return metric
}

export const requestsTotal = counter("sluice_requests_total", "Attempts by model, endpoint and outcome")

export const callsTotal = counter("sluice_calls_total", "Calls by model, endpoint and outcome")

export const errorsTotal = counter("sluice_errors_total", "Failed attempts and refused calls by error tag")

export const tokensTotal = counter("sluice_tokens_total", "Tokens by model, endpoint and kind (prompt | completion)")

export const costUsdTotal = counter("sluice_cost_usd_total", "USD spent (calls with a known price)")

export const latencyMs = histogram("sluice_latency_ms", "Latency per attempt and per call")

export const ttftMs = histogram("sluice_ttft_ms", "Time to first token of streams")

export const rateLimitRemainingRatio = gauge(
  "sluice_ratelimit_remaining_ratio",
  "Rate-limit headroom (remaining / limit) from the latest response headers"
)

export const modelTag = (model: string | undefined): string => model ?? "none"

// Tagged metrics by metric and tag set, each built once with its attributes: `Metric.withAttributes` would add
// them to the fiber's context (a copy) and re-key the series on every update, and the same few tag sets come
// back on every call. Bounded by the tag values seen (models, endpoints, outcomes, errors).
const taggedCache = new WeakMap<object, Map<string, object>>()

export const withTags =
  (tags: Record<string, string>) =>
  <M extends Metric.Metric<number, unknown>>(metric: M): M => {
    let byTags = taggedCache.get(metric)
    if (byTags === undefined) {
      byTags = new Map()
      taggedCache.set(metric, byTags)
    }
    let id = ""
    for (const key in tags) id += `${key}\u0000${tags[key]}\u0001`
    const cached = byTags.get(id)
    if (cached !== undefined) return cached as M
    const define = definitions.get(metric)
    const tagged = define === undefined ? Metric.withAttributes(metric, tags) : define(tags)
    byTags.set(id, tagged)
    return tagged as M
  }
