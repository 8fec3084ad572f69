/**
 * The body of `Alerts.detector`: one rule per alert, each with its own window and latch, run in a fixed order
 * over every event (so the alerts one event raises come out in the same order). Time is the events' `at`.
 *
 * @internal
 */
import * as ModelLifecycle from "@sluice/core/ModelLifecycle"
import * as SlidingWindow from "@sluice/core/SlidingWindow"
import { headroomRatio, type TelemetryEvent } from "@sluice/core/Telemetry"
import type { Alert, Options } from "../Alerts.js"
import { Sketch } from "./sketch.js"
import { Latch } from "./latch.js"

type AttemptEvent = Extract<TelemetryEvent, { _tag: "Attempt" }>
type CallEvent = Extract<TelemetryEvent, { _tag: "Call" }>

/** One alert's state and what it does with each kind of event (pushing what it raises onto `out`). */
interface Rule {
  readonly onAttempt?: (event: AttemptEvent, out: Array<Alert>) => void
  readonly onCall?: (event: CallEvent, out: Array<Alert>) => void
}

const percent = (ratio: number): string => `${(ratio * 100).toFixed(1)} %`

/** A call that was interrupted before it sent anything has no latency, tokens or cost to count. */
const unsent = (event: CallEvent): boolean => event.outcome === "interrupted" && !event.sent

const headroomRule = (options: Options["headroom"]): Rule | undefined => {
  if (options === false) return undefined
  const threshold = options?.threshold ?? 0.2
  const rearm = options?.rearm ?? threshold + 0.1
  const latches = new Map<string, Latch>()
  return {
    onAttempt: (event, out) => {
      for (const bucket of ["requests", "tokens"] as const) {
        const ratio = headroomRatio(event.rateLimit, bucket)
        if (ratio === undefined) continue
        const key = `${event.keyId}\u0000${event.model ?? ""}\u0000${bucket}`
        let latch = latches.get(key)
        if (latch === undefined) {
          latch = new Latch(options?.cooldownMs ?? 60_000)
          latches.set(key, latch)
        }
        if (!latch.step(event.at, ratio < threshold, ratio >= rearm)) continue
        out.push({
          _tag: "RateLimitHeadroomLow",
          at: event.at,
          message: `rate-limit headroom of ${event.model ?? "calls"} (key ${event.keyId}) is ${percent(ratio)} of the ${bucket} limit, below ${percent(threshold)}`,
          model: event.model,
          keyId: event.keyId,
          bucket,
          ratio,
          threshold
        })
      }
    }
  }
}

const spikeRule = (options: Options["rateLimitSpike"]): Rule | undefined => {
  if (options === false) return undefined
  const threshold = options?.share ?? 0.05
  const window = SlidingWindow.make<boolean>(options?.windowMs ?? 60_000)
  const minAttempts = options?.minAttempts ?? 20
  const latch = new Latch(window.windowMs)
  let limitedCount = 0
  const drop = (wasLimited: boolean) => {
    if (wasLimited) limitedCount--
  }
  return {
    onAttempt: (event, out) => {
      const limited = event.errorTag === "RateLimited"
      window.prune(event.at, drop)
      window.push(event.at, limited, drop)
      if (limited) limitedCount++
      const share = limitedCount / window.size
      if (!latch.step(event.at, window.size >= minAttempts && share > threshold, share <= threshold)) return
      out.push({
        _tag: "RateLimitSpike",
        at: event.at,
        message: `${percent(share)} of the last ${window.size} attempts were rate limited (429) within ${window.windowMs / 1000} s, above ${percent(threshold)}`,
        share,
        rateLimited: limitedCount,
        attempts: window.size,
        windowMs: window.windowMs,
        threshold
      })
    }
  }
}

/** Failed attempts, and calls refused before any attempt (budget, fuse, lifecycle); 429s are the spike's. */
const burstRule = (options: Options["errorBurst"]): Rule | undefined => {
  if (options === false) return undefined
  const count = options?.count ?? 5
  const window = SlidingWindow.make<string>(options?.windowMs ?? 10_000)
  const latch = new Latch(window.windowMs)
  const onError = (now: number, tag: string, out: Array<Alert>) => {
    window.prune(now)
    window.push(now, tag)
    const raised = window.size >= count
    if (!latch.step(now, raised, !raised)) return
    const errors: Record<string, number> = {}
    for (const value of window.values()) errors[value] = (errors[value] ?? 0) + 1
    out.push({
      _tag: "ErrorBurst",
      at: now,
      message: `${window.size} errors within ${window.windowMs / 1000} s: ${Object.entries(errors)
        .map(([name, n]) => `${name} ×${n}`)
        .join(", ")}`,
      count: window.size,
      windowMs: window.windowMs,
      errors
    })
  }
  return {
    onAttempt: (event, out) => {
      if (event.errorTag !== undefined && event.errorTag !== "RateLimited") onError(event.at, event.errorTag, out)
    },
    onCall: (event, out) => {
      if (event.attempts === 0 && event.errorTag !== undefined && event.errorTag !== "RateLimited") {
        onError(event.at, event.errorTag, out)
      }
    }
  }
}

/** A model the server does not know (404 model_not_found), or one the lifecycle table says is not active. */
const modelRule = (options: Options["modelStatus"]): Rule | undefined => {
  if (options === false) return undefined
  const status =
    options ?? ((model: string, nowMs: number) => ModelLifecycle.status(ModelLifecycle.table, model, nowMs))
  const seen = new Set<string>()
  return {
    onAttempt: (event, out) => {
      if (event.errorCode !== "model_not_found" || event.model === undefined) return
      const key = `retired\u0000${event.model}`
      if (seen.has(key)) return
      seen.add(key)
      seen.add(event.model)
      out.push({
        _tag: "ModelDeprecated",
        at: event.at,
        message: `model "${event.model}" was not found by the server (404 model_not_found): it is retired or misspelt`,
        model: event.model,
        state: "retired",
        shutdownDate: undefined,
        replacement: undefined
      })
    },
    onCall: (event, out) => {
      if (event.model === undefined || seen.has(event.model)) return
      seen.add(event.model)
      const found = status(event.model, event.at)
      if (found._tag === "Active") return
      const state = found._tag === "Retired" ? "retired" : "deprecated"
      const { shutdown, replacement } = found.entry
      out.push({
        _tag: "ModelDeprecated",
        at: event.at,
        message: `model "${event.model}" is ${state}${shutdown === undefined ? "" : ` (shutdown ${shutdown})`}${replacement === undefined ? "" : `; use ${replacement}`}`,
        model: event.model,
        state,
        shutdownDate: shutdown,
        replacement
      })
    }
  }
}

/** p99 call latency over the window, evaluated at most once a second. */
const latencyRule = (options: Options["latency"]): Rule | undefined => {
  if (options === false) return undefined
  const thresholdMs = options?.p99Ms ?? 30_000
  const window = SlidingWindow.make<number>(options?.windowMs ?? 60_000, 20_000)
  // The window's latencies as a sketch: a sample leaving the window leaves the sketch.
  const sketch = new Sketch()
  const drop = (value: number) => sketch.remove(value)
  const minSamples = options?.minSamples ?? 20
  const latch = new Latch(window.windowMs)
  let evaluatedAt = Number.NEGATIVE_INFINITY
  return {
    onCall: (event, out) => {
      if (unsent(event)) return
      const now = event.at
      sketch.add(event.latencyMs)
      window.push(now, event.latencyMs, drop)
      if (now - evaluatedAt < 1000) return
      evaluatedAt = now
      window.prune(now, drop)
      const samples = sketch.total
      const p99 = sketch.quantile(0.99) ?? 0
      if (!latch.step(now, samples >= minSamples && p99 > thresholdMs, p99 <= thresholdMs * 0.9)) return
      out.push({
        _tag: "LatencyHigh",
        at: now,
        message: `p99 latency is ${Math.round(p99)} ms over the last ${samples} calls (${window.windowMs / 1000} s), above ${thresholdMs} ms`,
        p99Ms: p99,
        thresholdMs,
        samples,
        windowMs: window.windowMs
      })
    }
  }
}

const tokensRule = (options: Options["tokensPerRequest"]): Rule | undefined => {
  if (options === false) return undefined
  const max = options?.max ?? 16_000
  const window = SlidingWindow.make<number>(options?.windowMs ?? 60_000)
  const minCalls = options?.minCalls ?? 5
  const latch = new Latch(window.windowMs)
  let sum = 0
  const drop = (dropped: number) => {
    sum -= dropped
  }
  return {
    onCall: (event, out) => {
      if (unsent(event) || event.totalTokens === undefined) return
      window.prune(event.at, drop)
      window.push(event.at, event.totalTokens, drop)
      sum += event.totalTokens
      const average = sum / window.size
      if (!latch.step(event.at, window.size >= minCalls && average > max, average <= max * 0.9)) return
      out.push({
        _tag: "TokensPerRequestHigh",
        at: event.at,
        message: `calls used ${Math.round(average)} tokens on average over the last ${window.size} calls, above ${max}`,
        averageTokens: average,
        threshold: max,
        calls: window.size,
        windowMs: window.windowMs
      })
    }
  }
}

const budgetRule = (options: Options["budget"]): Rule | undefined => {
  if (options === undefined) return undefined
  const threshold = options.threshold ?? 0.8
  const ceiling = options.ceilingUsd
  let spentUsd = options.alreadySpentUsd ?? 0
  let fired = false
  return {
    onCall: (event, out) => {
      if (unsent(event) || event.costUsd === undefined) return
      spentUsd += event.costUsd
      if (fired || ceiling <= 0 || spentUsd < ceiling * threshold) return
      fired = true
      out.push({
        _tag: "BudgetNearlySpent",
        at: event.at,
        message: `$${spentUsd.toFixed(4)} spent: ${percent(spentUsd / ceiling)} of the $${ceiling} budget`,
        spentUsd,
        ceilingUsd: ceiling,
        threshold
      })
    }
  }
}

/** @internal */
export const detector = (options: Options = {}): ((event: TelemetryEvent) => ReadonlyArray<Alert>) => {
  const rules = [
    headroomRule(options.headroom),
    spikeRule(options.rateLimitSpike),
    burstRule(options.errorBurst),
    modelRule(options.modelStatus),
    latencyRule(options.latency),
    tokensRule(options.tokensPerRequest),
    budgetRule(options.budget)
  ].filter((rule): rule is Rule => rule !== undefined)
  return (event) => {
    const out: Array<Alert> = []
    for (const rule of rules) {
      if (event._tag === "Attempt") rule.onAttempt?.(event, out)
      else rule.onCall?.(event, out)
    }
    return out
  }
}
