/**
 * The body of `RunReport.renderSummary`: number formats, the four charts, the tables and the page around them.
 *
 * @internal
 */
import type { Bucket, Meta, Summary } from "../RunReport.js"
import { chart, escapeHtml } from "./svg.js"

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

/** What every chart of a run reads: its buckets, positioned from `origin`, and their width as a label. */
interface Frame {
  readonly summary: Summary
  readonly origin: number
  readonly x: (bucket: Bucket) => number
  readonly bucketLabel: string
}

const throughputChart = ({ summary, x, bucketLabel }: Frame): string => {
  const perSecond = 1000 / summary.bucketMs
  return chart({
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
  })
}

const retriesChart = ({ summary, x, bucketLabel }: Frame): string =>
  chart({
    title: `429s and retries (per ${bucketLabel})`,
    formatX: clock,
    formatY: compact,
    series: [
      { name: "429s", color: "#bf8700", kind: "bar", points: summary.buckets.map((b) => [x(b), b.rateLimited]) },
      { name: "retries", color: "#8250df", kind: "bar", points: summary.buckets.map((b) => [x(b), b.retries]) }
    ]
  })

const latencyChart = ({ summary, origin }: Frame): string => {
  const line = (name: "p50" | "p90" | "p99", color: string) => ({
    name,
    color,
    kind: "line" as const,
    points: summary.latencyOverTime.map((g) => [g.start - origin, g[name]] as const)
  })
  return chart({
    title: "Call latency percentiles (ms)",
    formatX: clock,
    formatY: compact,
    series: [line("p50", "#0969da"), line("p90", "#bf8700"), line("p99", "#cf222e")]
  })
}

const spendChart = ({ summary, x }: Frame): string => {
  let cumulative = 0
  const spend = summary.buckets.map((bucket) => {
    cumulative += bucket.costUsd
    return [x(bucket) + summary.bucketMs, cumulative] as const
  })
  return chart({
    title: "Cumulative spend (USD)",
    formatX: clock,
    formatY: (value) => (value === 0 ? "$0" : `$${compact(value)}`),
    series: [{ name: "spend", color: "#1a7f37", kind: "area", points: [[0, 0], ...spend] }]
  })
}

/** Throughput, 429s and retries, latency percentiles and cumulative spend, over time from `origin`. */
const charts = (summary: Summary, origin: number): ReadonlyArray<string> => {
  const frame: Frame = {
    summary,
    origin,
    x: (bucket) => bucket.start - origin,
    bucketLabel: summary.bucketMs >= 1000 ? `${summary.bucketMs / 1000} s` : `${summary.bucketMs} ms`
  }
  return [throughputChart(frame), retriesChart(frame), latencyChart(frame), spendChart(frame)]
}

const kpi = (label: string, value: string, error = false) =>
  `<div class="kpi"><div class="label">${escapeHtml(label)}</div><div class="value${error ? " err" : ""}">${escapeHtml(value)}</div></div>`

const modelRows = (summary: Summary): string =>
  summary.models
    .map(
      (row) =>
        `<tr><td>${escapeHtml(row.model)}</td><td>${integer(row.calls)}</td><td${row.errors > 0 ? ' class="err"' : ""}>${integer(row.errors)}</td><td>${integer(row.rateLimited)}</td><td>${integer(row.retries)}</td><td>${integer(row.promptTokens)}</td><td>${integer(row.completionTokens)}</td><td>${usd(row.costUsd)}${row.unpricedCalls > 0 ? ` <span class="muted">(+${integer(row.unpricedCalls)} unpriced)</span>` : ""}</td><td>${ms(row.latency.p50)}</td><td>${ms(row.latency.p99)}</td><td>${escapeHtml(
          Object.entries(row.finishReasons)
            .map(([reason, count]) => `${reason} ${integer(count)}`)
            .join(", ") || "–"
        )}</td></tr>`
    )
    .join("")

const errorRows = (summary: Summary): string =>
  Object.entries(summary.errors)
    .sort(([, a], [, b]) => b - a)
    .map(([tag, count]) => `<tr><td>${escapeHtml(tag)}</td><td>${integer(count)}</td></tr>`)
    .join("")

const isoSecond = (at: number): string => new Date(at).toISOString().replace("T", " ").slice(0, 19)

/** When the run went: start → end (UTC) and how long. */
const when = (started: number | undefined, ended: number | undefined): string =>
  started === undefined
    ? "no events recorded"
    : `${isoSecond(started)} UTC → ${ended === undefined ? "?" : isoSecond(ended)} UTC · ${duration((ended ?? started) - started)}`

/** @internal */
export const renderSummary = (summary: Summary, meta: Meta = {}): string => {
  const title = meta.title ?? "Sluice run report"
  const started = toMs(meta.started) ?? summary.firstAt
  const ended = toMs(meta.ended) ?? summary.lastAt
  const t = summary.totals
  const models = modelRows(summary)
  const errors = errorRows(summary)
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
<div class="muted">${escapeHtml(when(started, ended))}</div>
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
${charts(summary, started ?? 0)
  .map((svg) => `<figure>${svg}</figure>`)
  .join("\n")}
</section>
<h2>Per model</h2>
<table class="models">
<thead><tr><th>Model</th><th>Calls</th><th>Errors</th><th>429s</th><th>Retries</th><th>Prompt tokens</th><th>Completion tokens</th><th>Cost</th><th>p50</th><th>p99</th><th>Finish reasons</th></tr></thead>
<tbody>${models}</tbody>
</table>
<h2>Errors</h2>
${errors.length === 0 ? '<p class="muted">None.</p>' : `<table class="errors"><thead><tr><th>Error</th><th>Count</th></tr></thead><tbody>${errors}</tbody></table>`}
<footer>Generated by Sluice. Costs use the Pricing table in force during the run; calls without a known price are counted as unpriced, never guessed. Latency percentiles are estimates within 2 %.</footer>
</body>
</html>
`
}
