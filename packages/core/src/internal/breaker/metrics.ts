/**
 * The breaker's gauge and counter, and how a transition is logged and metered.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type { State } from "../../CircuitBreaker.js"
import type { Transition } from "./machine.js"

export const stateGauge = Metric.gauge("sluice_breaker_state", {
  description: "Circuit breaker state per scope: 0 closed, 1 half-open, 2 open, 3 fused"
})

export const transitions = Metric.counter("sluice_breaker_transitions_total", {
  description: "Circuit breaker state transitions"
})

const stateValue: Record<State, number> = { closed: 0, "half-open": 1, open: 2, fused: 3 }

/** Logs and meters a transition; nothing for `undefined`. */
export const announce = (t: Transition | undefined): Effect.Effect<void> =>
  t === undefined
    ? Effect.void
    : Effect.all(
        [
          Effect.logWarning(`circuit breaker ${t.from} → ${t.to}`).pipe(
            Effect.annotateLogs({ scope: t.scope, from: t.from, to: t.to, reason: t.reason })
          ),
          Metric.update(stateGauge.pipe(Metric.withAttributes({ scope: t.scope })), stateValue[t.to]),
          Metric.update(transitions.pipe(Metric.withAttributes({ scope: t.scope, from: t.from, to: t.to })), 1)
        ],
        { discard: true }
      )
