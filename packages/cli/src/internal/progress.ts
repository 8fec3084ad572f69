/**
 * Progress on stderr: a redrawn bar on a terminal, a plain line every few seconds otherwise.
 *
 * @internal
 */
import type { Batch } from "@sluice/stream"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as SubscriptionRef from "effect/SubscriptionRef"
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
export const line = (p: Batch.Progress, width = 24, inFlight = p.in_flight): string => {
  const ratio = p.total === 0 ? 1 : p.done / p.total
  const filled = Math.round(ratio * width)
  const bar = `${"█".repeat(filled)}${"░".repeat(width - filled)}`
  return [
    `${bar} ${p.done}/${p.total} ${Math.floor(ratio * 100)}%`,
    `${p.rate_per_s.toFixed(1)} req/s`,
    `in flight ${inFlight}`,
    `429s ${p.rate_limited}`,
    `retries ${p.retries}`,
    `failed ${p.failed}`,
    `tokens ${compact(p.prompt_tokens + p.completion_tokens)}`,
    `$${p.cost_usd.toFixed(4)}`,
    `ETA ${duration(p.eta_s)}`
  ].join(" | ")
}

/**
 * After 10 s without a finished request, what the job is waiting for: answers to the requests in flight, or (none in
 * flight) the gates — a rate-limit reset, an open circuit breaker.
 *
 * @internal
 */
export const stalled = (p: Batch.Progress, quietMs: number, inFlight = p.in_flight): string => {
  if (quietMs < 10_000 || p.done >= p.total) return ""
  const seconds = Math.round(quietMs / 1000)
  return inFlight > 0
    ? ` | no answer for ${seconds} s: waiting for ${inFlight} in flight`
    : ` | nothing sent for ${seconds} s: waiting for a rate-limit reset or the circuit breaker`
}

/**
 * Renders `progress` until interrupted; draws the final state on interruption.
 *
 * @internal
 */
export const render = (
  progress: SubscriptionRef.SubscriptionRef<Batch.Progress>,
  tty: boolean,
  colors = tty,
  inFlight?: () => number
) => {
  let width = 0
  let lastDone = -1
  let lastChange = Date.now()
  const draw = Effect.flatMap(SubscriptionRef.get(progress), (p) =>
    Effect.sync(() => {
      if (p.total === 0) return
      const now = Date.now()
      if (p.done !== lastDone) {
        lastDone = p.done
        lastChange = now
      }
      const flying = inFlight?.() ?? p.in_flight
      const text = `${line(p, 24, flying)}${stalled(p, now - lastChange, flying)}`
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
      Effect.andThen(
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
