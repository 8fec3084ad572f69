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
import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import type * as Scope from "effect/Scope"
import { Telemetry, type TelemetryEvent } from "@sluice/core/Telemetry"
import { Sketch } from "./internal/sketch.js"
import { chart, escapeHtml } from "./internal/svg.js"

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

const percentilesOf = (sketch: Sketch): Percentiles => ({
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

/**
 * Aggregates a list of recorded events.
 *
 * @since 0.1.0
 * @category constructors
 */
export const summarize = (events: Iterable<TelemetryEvent>): Summary => {
  const acc = accumulator()
  for (const event of events) acc.add(event)
  return acc.summary()
}

const toMs = (value: number | Date | undefined): number | undefined =>
  value === undefined ? undefined : typeof value === "number" ? value : value.getTime()

const integer = (value: number): string => Math.round(value).toLocaleString("en-US")
const ms = (value: number | undefined): string => (value === undefined ? "–" : `${integer(value)} ms`)
const usd = (value: number): string =>
  value === 0 ? "$0" : value < 0.01 ? `$${value.toPrecision(3)}` : `$${value.toFixed(value < 100 ? 4 : 2)}`
const seconds = (value: number | undefined): string =>
  value === undefined
    ? "–"
    : value < 1000
      ? `${Math.round(value)} ms`
      : `${(value / 1000).toFixed(value < 10_000 ? 2 : 1)} s`
const pct = (part: number, whole: number): string => (whole === 0 ? "–" : `${((part / whole) * 100).toFixed(1)} %`)

const duration = (totalMs: number): string => {
  const seconds = Math.round(totalMs / 1000)
  if (seconds < 60) return `${(totalMs / 1000).toFixed(1)} s`
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  return h > 0 ? `${h} h ${m} min` : `${m} min ${s} s`
}

const clock = (offsetMs: number): string => {
  const seconds = Math.round(offsetMs / 1000)
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  const mm = String(m).padStart(h > 0 ? 2 : 1, "0")
  return h > 0 ? `${h}:${mm}:${String(s).padStart(2, "0")}` : `${mm}:${String(s).padStart(2, "0")}`
}

const compact = (value: number): string =>
  value >= 1_000_000
    ? `${(value / 1_000_000).toFixed(1)}M`
    : value >= 10_000
      ? `${Math.round(value / 1000)}k`
      : value >= 1000
        ? `${(value / 1000).toFixed(1)}k`
        : Number.isInteger(value)
          ? String(value)
          : value.toFixed(value < 1 ? 2 : 1)

const css = `
:root{color-scheme:light;--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg:#ffffff;--card:#f6f8fa;--ok:#1f883d;--err:#cf222e;--warn:#bf8700;--accent:#0969da}
*{box-sizing:border-box}
body{margin:0;padding:28px 32px;font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:16px;margin:28px 0 10px}
.muted{color:var(--muted)}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(128px,1fr));gap:10px;margin-top:18px}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.kpi .label{font-size:12px;color:var(--muted)}
.kpi .value{font-size:17px;white-space:nowrap;font-weight:600;font-variant-numeric:tabular-nums}
.kpi .value.err{color:var(--err)}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:14px}
.charts figure{margin:0;background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:6px}
svg.chart{display:block;max-width:100%;height:auto}
svg .chart-title{font-size:13px;font-weight:600;fill:var(--fg)}
svg .tick,svg .legend{font-size:11px;fill:var(--muted)}
svg .grid{stroke:#eaeef2;stroke-width:1}
svg .axis{stroke:#8c959f;stroke-width:1}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
th{font-size:12px;color:var(--muted);font-weight:600;background:var(--card)}
td.err{color:var(--err)}
footer{margin-top:28px;font-size:12px;color:var(--muted)}
`

/**
 * Renders a summary as one self-contained HTML document.
 *
 * @since 0.1.0
 * @category rendering
 */
export const renderSummary = (summary: Summary, meta: Meta = {}): string => {
  const title = meta.title ?? "Sluice run report"
  const started = toMs(meta.started) ?? summary.firstAt
  const ended = toMs(meta.ended) ?? summary.lastAt
  const origin = started ?? 0
  const perSecond = 1000 / summary.bucketMs
  const t = summary.totals
  const latency = summary.latencyOverTime
  const x = (bucket: Bucket) => bucket.start - origin
  const bucketLabel = summary.bucketMs >= 1000 ? `${summary.bucketMs / 1000} s` : `${summary.bucketMs} ms`
  let cumulative = 0
  const spend = summary.buckets.map((bucket) => {
    cumulative += bucket.costUsd
    return [x(bucket) + summary.bucketMs, cumulative] as const
  })
  const charts = [
    chart({
      title: `Throughput (calls/s, ${bucketLabel} buckets)`,
      stacked: true,
      formatX: clock,
      formatY: compact,
      series: [
        { name: "ok", color: "#1f883d", kind: "bar", points: summary.buckets.map((b) => [x(b), b.ok * perSecond]) },
        {
          name: "failed",
          color: "#cf222e",
          kind: "bar",
          points: summary.buckets.map((b) => [x(b), (b.errors + b.interrupted) * perSecond])
        }
      ]
    }),
    chart({
      title: `429s and retries (per ${bucketLabel})`,
      formatX: clock,
      formatY: compact,
      series: [
        { name: "429s", color: "#bf8700", kind: "bar", points: summary.buckets.map((b) => [x(b), b.rateLimited]) },
        { name: "retries", color: "#8250df", kind: "bar", points: summary.buckets.map((b) => [x(b), b.retries]) }
      ]
    }),
    chart({
      title: "Call latency percentiles (ms)",
      formatX: clock,
      formatY: compact,
      series: [
        { name: "p50", color: "#0969da", kind: "line", points: latency.map((g) => [g.start - origin, g.p50]) },
        { name: "p90", color: "#bf8700", kind: "line", points: latency.map((g) => [g.start - origin, g.p90]) },
        { name: "p99", color: "#cf222e", kind: "line", points: latency.map((g) => [g.start - origin, g.p99]) }
      ]
    }),
    chart({
      title: "Cumulative spend (USD)",
      formatX: clock,
      formatY: (value) => (value === 0 ? "$0" : `$${compact(value)}`),
      series: [{ name: "spend", color: "#1a7f37", kind: "area", points: [[0, 0], ...spend] }]
    })
  ]
  const kpi = (label: string, value: string, error = false) =>
    `<div class="kpi"><div class="label">${escapeHtml(label)}</div><div class="value${error ? " err" : ""}">${escapeHtml(value)}</div></div>`
  const modelRows = summary.models
    .map(
      (row) =>
        `<tr><td>${escapeHtml(row.model)}</td><td>${integer(row.calls)}</td><td${row.errors > 0 ? ' class="err"' : ""}>${integer(row.errors)}</td><td>${integer(row.rateLimited)}</td><td>${integer(row.retries)}</td><td>${integer(row.promptTokens)}</td><td>${integer(row.completionTokens)}</td><td>${usd(row.costUsd)}${row.unpricedCalls > 0 ? ` <span class="muted">(+${integer(row.unpricedCalls)} unpriced)</span>` : ""}</td><td>${ms(row.latency.p50)}</td><td>${ms(row.latency.p99)}</td><td>${escapeHtml(
          Object.entries(row.finishReasons)
            .map(([reason, count]) => `${reason} ${integer(count)}`)
            .join(", ") || "–"
        )}</td></tr>`
    )
    .join("")
  const errorRows = Object.entries(summary.errors)
    .sort(([, a], [, b]) => b - a)
    .map(([tag, count]) => `<tr><td>${escapeHtml(tag)}</td><td>${integer(count)}</td></tr>`)
    .join("")
  const when =
    started === undefined
      ? "no events recorded"
      : `${new Date(started).toISOString().replace("T", " ").slice(0, 19)} UTC → ${
          ended === undefined ? "?" : new Date(ended).toISOString().replace("T", " ").slice(0, 19)
        } UTC · ${duration((ended ?? started) - started)}`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${css}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<div class="muted">${escapeHtml(when)}</div>
${meta.description === undefined ? "" : `<p>${escapeHtml(meta.description)}</p>`}
<section class="kpis">
${kpi("Calls", integer(t.calls))}
${kpi("Succeeded", pct(t.ok, t.calls))}
${kpi("Failed", integer(t.errors), t.errors > 0)}
${kpi("429 responses", integer(t.rateLimited), t.rateLimited > 0)}
${kpi("Retries", integer(t.retries))}
${kpi("Tokens in / out", `${compact(t.promptTokens)} / ${compact(t.completionTokens)}`)}
${kpi("Cost", usd(t.costUsd) + (t.unpricedCalls > 0 ? "+" : ""))}
${kpi("p50 / p99 latency", `${seconds(t.latency.p50)} / ${seconds(t.latency.p99)}`)}
</section>
<h2>Over time</h2>
<section class="charts">
${charts.map((svg) => `<figure>${svg}</figure>`).join("\n")}
</section>
<h2>Per model</h2>
<table class="models">
<thead><tr><th>Model</th><th>Calls</th><th>Errors</th><th>429s</th><th>Retries</th><th>Prompt tokens</th><th>Completion tokens</th><th>Cost</th><th>p50</th><th>p99</th><th>Finish reasons</th></tr></thead>
<tbody>${modelRows}</tbody>
</table>
<h2>Errors</h2>
${errorRows.length === 0 ? '<p class="muted">None.</p>' : `<table class="errors"><thead><tr><th>Error</th><th>Count</th></tr></thead><tbody>${errorRows}</tbody></table>`}
<footer>Generated by Sluice. Costs use the Pricing table in force during the run; calls without a known price are counted as unpriced, never guessed. Latency percentiles are estimates within 2 %.</footer>
</body>
</html>
`
}

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
): Effect.Effect<Recorder, never, Telemetry | Scope.Scope> =>
  Effect.gen(function* () {
    const telemetry = yield* Telemetry
    const events = yield* telemetry.subscribe
    const acc = accumulator(options)
    const addAll = (chunk: Iterable<TelemetryEvent>): void => {
      for (const event of chunk) acc.add(event)
    }
    yield* PubSub.takeBetween(events, 1, 4096).pipe(Effect.map(addAll), Effect.forever, Effect.forkScoped)
    // Whatever the fiber has not taken yet is drained here, so a summary right after a call includes it.
    const drain = Effect.andThen(Effect.yieldNow, Effect.map(PubSub.takeUpTo(events, Number.MAX_SAFE_INTEGER), addAll))
    const summary = Effect.andThen(
      drain,
      Effect.sync(() => acc.summary())
    )
    return { summary, render: (meta) => Effect.map(summary, (s) => renderSummary(s, meta)) }
  })
