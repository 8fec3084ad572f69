/**
 * Tiny inline-SVG charts for the run report: no scripts, no fonts, no external references. Not public.
 */

export const escapeHtml = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")

export interface Series {
  readonly name: string
  readonly color: string
  /** `[x, y]` pairs, x ascending; `y` undefined leaves a gap. */
  readonly points: ReadonlyArray<readonly [number, number | undefined]>
  readonly kind: "line" | "bar" | "area"
}

export interface Chart {
  readonly title: string
  readonly series: ReadonlyArray<Series>
  readonly formatX: (x: number) => string
  readonly formatY: (y: number) => string
  /** Stack bar series on each other. */
  readonly stacked?: boolean
  readonly width?: number
  readonly height?: number
}

const niceStep = (span: number, ticks: number): number => {
  const raw = span / Math.max(1, ticks)
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const residual = raw / magnitude
  const nice = residual > 5 ? 10 : residual > 2 ? 5 : residual > 1 ? 2 : 1
  return nice * magnitude
}

const round = (value: number): string => (Math.round(value * 10) / 10).toString()

export const chart = (spec: Chart): string => {
  const width = spec.width ?? 560
  const height = spec.height ?? 220
  const left = 60
  const right = 14
  const top = 30
  const bottom = 28
  const plotW = width - left - right
  const plotH = height - top - bottom
  const xs = spec.series.flatMap((series) => series.points.map(([x]) => x))
  const bars = spec.series.filter((series) => series.kind === "bar")
  const stackedTotals = new Map<number, number>()
  if (spec.stacked === true) {
    for (const series of bars)
      for (const [x, y] of series.points) stackedTotals.set(x, (stackedTotals.get(x) ?? 0) + (y ?? 0))
  }
  const ys = [
    ...spec.series.flatMap((series) => series.points.flatMap(([, y]) => (y === undefined ? [] : [y]))),
    ...stackedTotals.values()
  ]
  // x is time since the start of the run: the axis always starts at 0.
  const minX = Math.min(0, ...xs)
  let maxX = xs.length === 0 ? 1 : Math.max(...xs)
  // Bars occupy [x, x + step): leave room for the last one.
  const uniqueXs = [...new Set(xs)].sort((a, b) => a - b)
  const xStep = uniqueXs.length > 1 ? Math.min(...uniqueXs.slice(1).map((x, i) => x - uniqueXs[i]!)) : 1
  if (bars.length > 0) maxX += xStep
  if (maxX <= minX) maxX = minX + 1
  const yStep = niceStep(Math.max(...ys, 0) || 1, 4)
  const maxY = Math.max(yStep, Math.ceil((Math.max(...ys, 0) || 1) / yStep) * yStep)
  const sx = (x: number) => left + ((x - minX) / (maxX - minX)) * plotW
  const sy = (y: number) => top + plotH - (y / maxY) * plotH
  const parts: Array<string> = []
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" aria-label="${escapeHtml(spec.title)}">`
  )
  parts.push(`<text x="${left}" y="18" class="chart-title">${escapeHtml(spec.title)}</text>`)
  for (let y = 0; y <= maxY + yStep / 2; y += yStep) {
    const py = round(sy(y))
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${py}" y2="${py}" class="grid"/>`)
    parts.push(
      `<text x="${left - 6}" y="${py}" dy="4" text-anchor="end" class="tick">${escapeHtml(spec.formatY(y))}</text>`
    )
  }
  const xTickStep = niceStep(maxX - minX, 6)
  for (let x = Math.ceil(minX / xTickStep) * xTickStep; x <= maxX; x += xTickStep) {
    const px = round(sx(x))
    parts.push(`<line x1="${px}" x2="${px}" y1="${top + plotH}" y2="${top + plotH + 4}" class="axis"/>`)
    parts.push(
      `<text x="${px}" y="${top + plotH + 17}" text-anchor="middle" class="tick">${escapeHtml(spec.formatX(x))}</text>`
    )
  }
  parts.push(`<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" class="axis"/>`)
  const barWidth = Math.max(1, (xStep / (maxX - minX)) * plotW * (spec.stacked === true ? 0.85 : 0.85 / bars.length))
  const stackBase = new Map<number, number>()
  bars.forEach((series, index) => {
    const rects: Array<string> = []
    for (const [x, y] of series.points) {
      if (y === undefined || y <= 0) continue
      const base = spec.stacked === true ? (stackBase.get(x) ?? 0) : 0
      const offset = spec.stacked === true ? 0 : index * barWidth
      rects.push(
        `<rect x="${round(sx(x) + offset)}" y="${round(sy(base + y))}" width="${round(barWidth)}" height="${round(sy(base) - sy(base + y))}"/>`
      )
      if (spec.stacked === true) stackBase.set(x, base + y)
    }
    parts.push(`<g fill="${series.color}"><title>${escapeHtml(series.name)}</title>${rects.join("")}</g>`)
  })
  for (const series of spec.series) {
    if (series.kind === "bar") continue
    const segments: Array<Array<string>> = [[]]
    for (const [x, y] of series.points) {
      if (y === undefined) {
        if (segments[segments.length - 1]!.length > 0) segments.push([])
        continue
      }
      segments[segments.length - 1]!.push(`${round(sx(x))},${round(sy(y))}`)
    }
    for (const segment of segments) {
      if (segment.length === 0) continue
      if (series.kind === "area" && segment.length > 1) {
        const first = segment[0]!.split(",")[0]
        const last = segment[segment.length - 1]!.split(",")[0]
        parts.push(
          `<polygon points="${first},${round(sy(0))} ${segment.join(" ")} ${last},${round(sy(0))}" fill="${series.color}" fill-opacity="0.18"/>`
        )
      }
      parts.push(
        segment.length === 1
          ? `<circle cx="${segment[0]!.split(",")[0]}" cy="${segment[0]!.split(",")[1]}" r="2.5" fill="${series.color}"/>`
          : `<polyline points="${segment.join(" ")}" fill="none" stroke="${series.color}" stroke-width="2" stroke-linejoin="round"><title>${escapeHtml(series.name)}</title></polyline>`
      )
    }
  }
  let legendX = width - right
  const legend: Array<string> = []
  for (const series of [...spec.series].reverse()) {
    const label = escapeHtml(series.name)
    legendX -= series.name.length * 6.2 + 22
    legend.push(
      `<rect x="${round(legendX)}" y="9" width="10" height="10" rx="2" fill="${series.color}"/><text x="${round(legendX + 14)}" y="18" class="legend">${label}</text>`
    )
  }
  parts.push(...legend)
  parts.push("</svg>")
  return parts.join("")
}
