/**
 * The body of `Alerts.make`: the detector run over a `Telemetry` subscription, each alert logged and published.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as ModelLifecycle from "@sluice/core/ModelLifecycle"
import { Telemetry } from "@sluice/core/Telemetry"
import type { Alert, Alerts, Options } from "../Alerts.js"
import * as Detector from "./detector.js"

/** @internal */
export const make = (options: Options): Effect.Effect<Alerts["Service"], never, Telemetry | Scope.Scope> =>
  Effect.gen(function* () {
    const telemetry = yield* Telemetry
    const lifecycle = yield* Effect.serviceOption(ModelLifecycle.ModelLifecycle)
    const modelStatus =
      options.modelStatus === undefined && Option.isSome(lifecycle)
        ? (model: string, nowMs: number) => ModelLifecycle.status(lifecycle.value.entries, model, nowMs)
        : options.modelStatus
    const detect = Detector.detector(modelStatus === undefined ? options : { ...options, modelStatus })
    const hub = yield* Effect.acquireRelease(PubSub.sliding<Alert>(1024), PubSub.shutdown)
    const events = yield* telemetry.subscribe
    const log = options.log ?? true
    yield* PubSub.take(events).pipe(
      Effect.flatMap((event) =>
        Effect.forEach(
          detect(event),
          (alert) =>
            Effect.andThen(
              log
                ? Effect.logWarning(`alert ${alert._tag}: ${alert.message}`).pipe(
                    Effect.annotateLogs({ event: "alert", alert: alert._tag })
                  )
                : Effect.void,
              PubSub.publish(hub, alert)
            ),
          { discard: true }
        )
      ),
      Effect.forever,
      Effect.forkScoped
    )
    return { alerts: Stream.fromPubSub(hub), subscribe: PubSub.subscribe(hub) }
  })
