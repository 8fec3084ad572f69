/**
 * Attempt counting as a `Gates` decorator, and what a running job tells it: whether the job has stopped (then no
 * attempt is let through) and when a request's attempt is sent or held.
 *
 * @internal
 */
import { Gates } from "@sluice/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Api from "../../Batch.js"

/**
 * What a running job tells the gates decorator of `layerMeter`, through the fiber of each of its requests:
 * whether the job has stopped (then no attempt is let through: it waits, unsent, until the job's drain ends it),
 * and when the request's first attempt is sent or held.
 *
 * @internal
 */
export interface Admission {
  readonly stopped: () => boolean
  /** An attempt of this request was let through to the transport. */
  readonly sent: () => void
  /** An attempt of this request was held because the job stopped. */
  readonly held: Effect.Effect<void>
}

/** The job's `Admission`, in the fiber of each of its requests (none outside `run`). @internal */
export const CurrentAdmission = Context.Reference<Admission | undefined>("@sluice/stream/Batch/CurrentAdmission", {
  defaultValue: () => undefined
})

/** Whether `layerMeter`'s decorator is in the gates of the client `run` uses (it then holds attempts). @internal */
export const Gated = Context.Reference<boolean>("@sluice/stream/Batch/Gated", { defaultValue: () => false })

type Counts = { requestsSent: number; rateLimited: number; retries: number }

const hold = (admission: Admission) => Effect.andThen(admission.held, Effect.never)

/** The call with its attempts counted, and held once the job stopped. */
const metered =
  (counts: Counts) =>
  (call: Gates.Call): Gates.Call => ({
    ...call,
    attempt: (keyId, send) =>
      Effect.flatMap(Effect.service(CurrentAdmission), (admission) => {
        if (admission?.stopped()) return hold(admission)
        const counted = Effect.suspend(() => {
          // stopped while it waited for the limiter or a permit: still unsent
          if (admission?.stopped()) return hold(admission)
          counts.requestsSent++
          if (call.progress.attempts > 1) counts.retries++
          admission?.sent()
          return send
        })
        return Effect.tapError(call.attempt(keyId, counted), (error) =>
          Effect.sync(() => {
            // refused before the connection was made: it never reached the server
            if (error._tag === "Timeout" && error.phase === "connect") counts.requestsSent--
            if (error._tag === "RateLimited") counts.rateLimited++
          })
        )
      })
  })

/**
 * The meter's layer, given Batch's `Meter` tag: taking it as an argument keeps this module from needing Batch's
 * values at load, so either can load first.
 *
 * @internal
 */
export const layer = (meter: typeof Api.Meter): Layer.Layer<Gates.Gates | Api.Meter, never, Gates.Gates> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const inner = yield* Gates.Gates
      const counts: Counts = { requestsSent: 0, rateLimited: 0, retries: 0 }
      const gates: Gates.Gates["Service"] = { admit: (info) => Effect.map(inner.admit(info), metered(counts)) }
      return Context.make(Gates.Gates, gates).pipe(
        Context.add(meter, { counts: Effect.sync(() => ({ ...counts })) }),
        Context.add(Gated, true)
      )
    })
  )
