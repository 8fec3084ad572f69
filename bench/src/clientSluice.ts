/** Sluice: the `OpenAi` client from @sluice/core, with every gate (`Gates.layerDefaults` + a budget) or with `Gates.none`, driven by a minimal worker pool of fibers. */
import * as Credentials from "@sluice/core/Credentials"
import type * as Errors from "@sluice/core/Errors"
import * as Gates from "@sluice/core/Gates"
import * as OpenAi from "@sluice/core/OpenAi"
import * as OpenAiConfig from "@sluice/core/OpenAiConfig"
import { Effect, Layer, ManagedRuntime } from "effect"
import { apiKey, chatBody } from "./common.js"
import { fail, newOutcome, type Runner } from "./pool.js"

export const sluiceLayer = (
  url: string,
  gates: boolean,
  concurrency: number
): Layer.Layer<OpenAi.OpenAi, Errors.InvalidOptions> =>
  OpenAi.layer.pipe(
    Layer.provide(
      Layer.mergeAll(
        OpenAiConfig.layer({ baseUrl: url, maxConnections: 64, maxTokensPolicy: "require" }),
        Credentials.staticKey(apiKey),
        gates
          ? Gates.layerDefaults({
              concurrency: { permits: Math.max(concurrency, 64) },
              // every gate of Gates.defaults, plus a budget that is enforced (reserve/settle) but never binds
              budget: { ceilingUsd: 1_000_000 }
            })
          : Gates.none
      )
    )
  )

export const makeSluice = (url: string, gates: boolean): Runner => {
  const runtime = ManagedRuntime.make(sluiceLayer(url, gates, 64))
  return {
    run: (from, n, concurrency) =>
      runtime.runPromise(
        Effect.gen(function* () {
          const client = yield* OpenAi.OpenAi
          const outcome = newOutcome()
          // A minimal worker pool, like the promise clients': `concurrency` fibers, each taking the next index.
          // Not `Effect.forEach` (it keeps every response until the last one finishes, even with `discard: true`)
          // nor `Stream.mapEffect` (flat memory, but ~0.4 ms more CPU per element here: a fiber, a queue offer and a
          // Deferred each), so the figures are the client's, not the loop's.
          let next = from
          const worker = Effect.whileLoop({
            while: () => next < from + n,
            body: () =>
              client.chat.completions.create(chatBody(next++)).pipe(
                Effect.match({
                  onSuccess: (response) => {
                    if (response.body.choices.length > 0) outcome.ok++
                    else fail(outcome, "empty")
                  },
                  onFailure: (error) => fail(outcome, error._tag)
                })
              ),
            step: () => {}
          })
          yield* Effect.all(
            Array.from({ length: concurrency }, () => worker),
            { concurrency, discard: true }
          )
          return outcome
        })
      ),
    close: () => runtime.dispose()
  }
}
