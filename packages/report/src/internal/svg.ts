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

/** Where things go: the plot area, the axes' ranges and steps, and the scales from data to pixels. */
interface Frame {
  readonly width: number
  readonly height: number
  readonly left: number
  readonly right: number
  readonly top: number
  readonly plotW: number
  readonly plotH: number
  readonly minX: number
  readonly maxX: number
  readonly maxY: number
  readonly xStep: number
  readonly yStep: number
  readonly bars: ReadonlyArray<Series>
  readonly sx: (x: number) => number
  readonly sy: (y: number) => number
}

const frameOf = (spec: Chart): Frame => {
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
  return { width, height, left, right, top, plotW, plotH, minX, maxX, maxY, xStep, yStep, bars, sx, sy }
}

/** The horizontal grid with the y ticks, the x ticks, and the x axis. */
const axes = (spec: Chart, f: Frame, parts: Array<string>): void => {
  for (let y = 0; y <= f.maxY + f.yStep / 2; y += f.yStep) {
    const py = round(f.sy(y))
    parts.push(`<line x1="${f.left}" x2="${f.width - f.right}" y1="${py}" y2="${py}" class="grid"/>`)
    parts.push(
      `<text x="${f.left - 6}" y="${py}" dy="4" text-anchor="end" class="tick">${escapeHtml(spec.formatY(y))}</text>`
    )
  }
  const xTickStep = niceStep(f.maxX - f.minX, 6)
  const baseline = f.top + f.plotH
  for (let x = Math.ceil(f.minX / xTickStep) * xTickStep; x <= f.maxX; x += xTickStep) {
    const px = round(f.sx(x))
    parts.push(`<line x1="${px}" x2="${px}" y1="${baseline}" y2="${baseline + 4}" class="axis"/>`)
    parts.push(
      `<text x="${px}" y="${baseline + 17}" text-anchor="middle" class="tick">${escapeHtml(spec.formatX(x))}</text>`
    )
  }
  parts.push(`<line x1="${f.left}" x2="${f.width - f.right}" y1="${baseline}" y2="${baseline}" class="axis"/>`)
}

/** The bar series: stacked on each other, or side by side. */
const barGroups = (spec: Chart, f: Frame, parts: Array<string>): void => {
  const stacked = spec.stacked === true
  const barWidth = Math.max(1, (f.xStep / (f.maxX - f.minX)) * f.plotW * (stacked ? 0.85 : 0.85 / f.bars.length))
  const stackBase = new Map<number, number>()
  f.bars.forEach((series, index) => {
    const rects: Array<string> = []
    for (const [x, y] of series.points) {
      if (y === undefined || y <= 0) continue
      const base = stacked ? (stackBase.get(x) ?? 0) : 0
      const offset = stacked ? 0 : index * barWidth
      rects.push(
        `<rect x="${round(f.sx(x) + offset)}" y="${round(f.sy(base + y))}" width="${round(barWidth)}" height="${round(f.sy(base) - f.sy(base + y))}"/>`
      )
      if (stacked) stackBase.set(x, base + y)
    }
    parts.push(`<g fill="${series.color}"><title>${escapeHtml(series.name)}</title>${rects.join("")}</g>`)
  })
}

/** The line and area series, broken where `y` is undefined; a lone point is a dot. */
const lines = (spec: Chart, f: Frame, parts: Array<string>): void => {
  for (const series of spec.series) {
    if (series.kind === "bar") continue
    const segments: Array<Array<string>> = [[]]
    for (const [x, y] of series.points) {
      if (y === undefined) {
        if (segments[segments.length - 1]!.length > 0) segments.push([])
        continue
      }
      segments[segments.length - 1]!.push(`${round(f.sx(x))},${round(f.sy(y))}`)
    }
    for (const segment of segments) {
      if (segment.length === 0) continue
      if (series.kind === "area" && segment.length > 1) {
        const first = segment[0]!.split(",")[0]
        const last = segment[segment.length - 1]!.split(",")[0]
        parts.push(
          `<polygon points="${first},${round(f.sy(0))} ${segment.join(" ")} ${last},${round(f.sy(0))}" fill="${series.color}" fill-opacity="0.18"/>`
        )
      }
      parts.push(
        segment.length === 1
          ? `<circle cx="${segment[0]!.split(",")[0]}" cy="${segment[0]!.split(",")[1]}" r="2.5" fill="${series.color}"/>`
          : `<polyline points="${segment.join(" ")}" fill="none" stroke="${series.color}" stroke-width="2" stroke-linejoin="round"><title>${escapeHtml(series.name)}</title></polyline>`
      )
    }
  }
}

/** The legend, right-aligned on the title line, in the series' order. */
const legend = (spec: Chart, f: Frame, parts: Array<string>): void => {
  let legendX = f.width - f.right
  const items: Array<string> = []
  for (const series of [...spec.series].reverse()) {
    const label = escapeHtml(series.name)
    legendX -= series.name.length * 6.2 + 22
    items.push(
      `<rect x="${round(legendX)}" y="9" width="10" height="10" rx="2" fill="${series.color}"/><text x="${round(legendX + 14)}" y="18" class="legend">${label}</text>`
    )
  }
  parts.push(...items)
}

export const chart = (spec: Chart): string => {
  const f = frameOf(spec)
  const parts: Array<string> = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 ${f.width} ${f.height}" width="${f.width}" height="${f.height}" aria-label="${escapeHtml(spec.title)}">`,
    `<text x="${f.left}" y="18" class="chart-title">${escapeHtml(spec.title)}</text>`
  ]
  axes(spec, f, parts)
  barGroups(spec, f, parts)
  lines(spec, f, parts)
  legend(spec, f, parts)
  parts.push("</svg>")
  return parts.join("")
}
