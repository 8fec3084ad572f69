/**
 * Progress on stderr: a redrawn bar on a terminal, a plain line every few seconds otherwise.
 *
 * @internal
 */
import type { Batch } from "@sluice/stream"
import { Duration, Effect, Schedule, SubscriptionRef } from "effect"
import { setClearLine } from "./client.js"

const compact = (n: number): string =>
  n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${Math.round(n / 1e3)}k` : String(Math.round(n))

const duration = (seconds: number | null): string => {
  if (seconds === null || !Number.isFinite(seconds)) return "--"
  const s = Math.round(seconds)
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${s % 60}s`
      : `${s}s`
}

/** @internal */
export const line = (p: Batch.Progress, width = 24): string => {
  const ratio = p.total === 0 ? 1 : p.done / p.total
  const filled = Math.round(ratio * width)
  const bar = `${"█".repeat(filled)}${"░".repeat(width - filled)}`
  return [
    `${bar} ${p.done}/${p.total} ${Math.floor(ratio * 100)}%`,
    `${p.rate_per_s.toFixed(1)} req/s`,
    `in flight ${p.in_flight}`,
    `429s ${p.rate_limited}`,
    `retries ${p.retries}`,
    `failed ${p.failed}`,
    `tokens ${compact(p.prompt_tokens + p.completion_tokens)}`,
    `$${p.cost_usd.toFixed(4)}`,
    `ETA ${duration(p.eta_s)}`
  ].join(" | ")
}

/**
 * Renders `progress` until interrupted; draws the final state on interruption.
 *
 * @internal
 */
export const render = (progress: SubscriptionRef.SubscriptionRef<Batch.Progress>, tty: boolean, colors = tty) => {
  let width = 0
  const draw = Effect.flatMap(SubscriptionRef.get(progress), (p) =>
    Effect.sync(() => {
      if (p.total === 0) return
      const text = line(p)
      // With NO_COLOR no escape code at all: the old bar is overwritten with spaces instead of erased.
      if (tty && colors) process.stderr.write(`\r${text}\x1b[K`)
      else if (tty) process.stderr.write(`\r${text.padEnd(width)}`)
      else process.stderr.write(`progress: ${text.replace(/^[█░]+ /, "")}\n`)
      width = Math.max(width, text.length)
    })
  )
  setClearLine(tty, colors)
  return Effect.repeat(draw, Schedule.spaced(Duration.millis(tty ? 150 : 5000))).pipe(
    Effect.onInterrupt(() =>
      Effect.zipRight(
        draw,
        Effect.flatMap(SubscriptionRef.get(progress), (p) =>
          Effect.sync(() => {
            if (tty && p.total > 0) process.stderr.write("\n")
            setClearLine(false)
          })
        )
      )
    )
  )
}
