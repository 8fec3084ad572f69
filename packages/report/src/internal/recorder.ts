/**
 * The body of `RunReport.recorder`: a `Telemetry` subscription folded into an accumulator by a scoped fiber.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import type * as Scope from "effect/Scope"
import { Telemetry, type TelemetryEvent } from "@sluice/core/Telemetry"
import type { Recorder } from "../RunReport.js"
import * as Accumulate from "./accumulator.js"
import * as Html from "./html.js"

/** @internal */
export const recorder = (options: {
  readonly bucketMs?: number
  readonly maxBuckets?: number
}): Effect.Effect<Recorder, never, Telemetry | Scope.Scope> =>
  Effect.gen(function* () {
    const telemetry = yield* Telemetry
    const events = yield* telemetry.subscribe
    const acc = Accumulate.accumulator(options)
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
    return { summary, render: (meta) => Effect.map(summary, (s) => Html.renderSummary(s, meta)) }
  })
