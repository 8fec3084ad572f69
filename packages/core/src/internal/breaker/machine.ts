/**
 * The breaker's state per scope and its transitions, as pure steps: each takes a scope's state and answers
 * a result, the next state and the transition to announce (if any). Closed / open / half-open over the window's
 * slots; the fuse lives in the store, not here.
 *
 * @internal
 */
import * as SlidingWindow from "../../SlidingWindow.js"
import type { Shared, State } from "../../CircuitBreaker.js"
import { CircuitOpen } from "../../Errors.js"
import type { Settings } from "./settings.js"

/** The calls of one slot (`windowMs / 60`) of the window, counted in place. */
interface Slot {
  calls: number
  failures: number
}

export interface ScopeState {
  readonly state: "closed" | "half-open" | "open"
  /** Slots keyed by their start (a multiple of the slot length). */
  readonly window: SlidingWindow.SlidingWindow<Slot>
  readonly openUntil: number
  readonly reason: string
  readonly probes: number
  /** Bumped on every transition, so a stale probe finalizer does nothing. */
  readonly generation: number
}

export interface Transition {
  readonly scope: string
  readonly from: State
  readonly to: State
  readonly reason: string
}

/** A step's result, the scope's next state, and the transition it made. */
export type Step<A> = readonly [A, ScopeState, Transition | undefined]

export const closed = (windowMs: number, generation: number): ScopeState => ({
  state: "closed",
  window: SlidingWindow.make(windowMs),
  openUntil: 0,
  reason: "",
  probes: 0,
  generation
})

const open = (settings: Settings, s: ScopeState, now: number, reason: string): ScopeState => ({
  state: "open",
  window: SlidingWindow.make(settings.windowMs),
  openUntil: now + settings.openMs,
  reason,
  probes: 0,
  generation: s.generation + 1
})

/**
 * Admits an attempt: `undefined` (closed), a probe's generation (half-open), or the `CircuitOpen` to fail with
 * (open, a probe already out, or another process's opening).
 */
export const admit =
  (settings: Settings, scope: string, shared: Shared, now: number) =>
  (s: ScopeState): Step<CircuitOpen | number | undefined> => {
    if (s.state === "closed" && shared.openForMs !== undefined && shared.openForMs > 0) {
      // Another process opened this scope: hold off until its opening ends.
      const reason = shared.reason ?? "opened by another process"
      return [new CircuitOpen({ scope, closesAtMs: now + shared.openForMs, reason }), s, undefined]
    }
    if (s.state === "closed") return [undefined, s, undefined]
    if (s.state === "open" && now < s.openUntil) {
      return [new CircuitOpen({ scope, closesAtMs: s.openUntil, reason: s.reason }), s, undefined]
    }
    if (s.state === "open") {
      const next: ScopeState = { ...s, state: "half-open", probes: 1, generation: s.generation + 1 }
      return [next.generation, next, { scope, from: "open", to: "half-open", reason: s.reason }]
    }
    if (s.probes < settings.halfOpenProbes) return [s.generation, { ...s, probes: s.probes + 1 }, undefined]
    return [new CircuitOpen({ scope, closesAtMs: now + settings.probeWaitMs, reason: s.reason }), s, undefined]
  }

/** A probe of `generation` that ended without an outcome gives its slot back. */
export const freeProbe =
  (generation: number) =>
  (s: ScopeState): Step<undefined> => [
    undefined,
    s.state === "half-open" && s.generation === generation ? { ...s, probes: Math.max(0, s.probes - 1) } : s,
    undefined
  ]

/** An attempt's outcome as the window sees it: whether it counts as a tripping failure, and its error tag. */
export interface Attempt {
  readonly scope: string
  readonly failed: boolean
  readonly reason: string
  readonly now: number
}

/** Records an attempt's outcome (not a fuse's): the reason when it opened the scope, else `undefined`. */
export const record =
  (settings: Settings, attempt: Attempt) =>
  (s: ScopeState): Step<string | undefined> => {
    if (s.state === "half-open") return probed(settings, attempt, s)
    if (s.state === "open") return [undefined, s, undefined]
    return counted(settings, attempt, s)
  }

/** A probe's outcome: a tripping failure opens the scope again, anything else closes it. */
const probed = (
  settings: Settings,
  { scope, failed, reason, now }: Attempt,
  s: ScopeState
): Step<string | undefined> =>
  failed
    ? [reason, open(settings, s, now, reason), { scope, from: "half-open", to: "open", reason }]
    : [
        undefined,
        closed(settings.windowMs, s.generation + 1),
        { scope, from: "half-open", to: "closed", reason: "probe succeeded" }
      ]

/** A closed scope counts the call in its slot and opens when the window's failure rate crosses the threshold. */
const counted = (
  settings: Settings,
  { scope, failed, reason, now }: Attempt,
  s: ScopeState
): Step<string | undefined> => {
  const { calls, failures } = count(settings, s.window, failed, now)
  if (failed && calls >= settings.minimumCalls && failures / calls > settings.failureRate) {
    const why = `${failures} of ${calls} calls failed with ${reason} in ${settings.windowMs} ms`
    return [why, open(settings, s, now, why), { scope, from: "closed", to: "open", reason: why }]
  }
  return [undefined, s, undefined]
}

/** Adds one call to the window (in the slot `now` falls in) and answers the window's totals. */
const count = (settings: Settings, window: SlidingWindow.SlidingWindow<Slot>, failed: boolean, now: number): Slot => {
  const start = Math.floor(now / settings.slotMs) * settings.slotMs
  window.prune(now)
  const newest = window.newest
  if (newest !== undefined && newest.at === start) {
    newest.value.calls++
    if (failed) newest.value.failures++
  } else {
    window.push(start, { calls: 1, failures: failed ? 1 : 0 })
  }
  const totals: Slot = { calls: 0, failures: 0 }
  window.forEach((slot) => {
    totals.calls += slot.calls
    totals.failures += slot.failures
  })
  return totals
}

/** `reset`: closed again, announcing the transition unless it was closed already. */
export const reset =
  (settings: Settings, scope: string, from: State) =>
  (s: ScopeState): Step<undefined> => [
    undefined,
    closed(settings.windowMs, s.generation + 1),
    from === "closed" ? undefined : { scope, from, to: "closed", reason: "reset" }
  ]
