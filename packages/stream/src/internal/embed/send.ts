/**
 * Sending one pack: `embeddings.create` (every gate applies) with base64 on the wire, its vectors checked against
 * the request and delivered to the store and the waiting documents; a 400 about the input bisects the pack until
 * the refused input is alone, and a retryable failure is sent again, a few times, with a backoff.
 *
 * @internal
 */
import { Errors } from "@sluice/core"
import * as Embeddings from "@sluice/core/Embeddings"
import * as Usage from "@sluice/core/Usage"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Api from "../../Embed.js"
import * as Cache from "./cache.js"
import type { Failure, Held, Run, Work } from "./work.js"

const maxPackRetries = 3

/**
 * Whether a 400 may be about one input (then splitting the pack finds it): its `param` names the input, or it has
 * none and its message speaks of the input (a 400 about `dimensions` or the model would fail every half alike).
 */
const aboutInputs = (error: Errors.OpenAiError) =>
  (error._tag === "BadRequest" &&
    (error.param === undefined ? /\binput/i.test(error.message) : error.param.startsWith("input"))) ||
  error._tag === "RequestTooLarge"

/** The response's vectors by input index, or the first input that has none (or one of the wrong width). */
const vectorsOf = (run: Run, pack: ReadonlyArray<Work>, data: ReadonlyArray<{ index: number; embedding: unknown }>) => {
  const vectors = new Array<Float32Array | undefined>(pack.length)
  for (const item of data) {
    if (item.index >= 0 && item.index < pack.length) vectors[item.index] = Embeddings.toFloat32(item.embedding)
  }
  const width = vectors[0]?.length
  const dimensions = run.options.dimensions
  const bad = vectors.findIndex(
    (vector) =>
      vector === undefined || vector.length !== width || (dimensions !== undefined && vector.length !== dimensions)
  )
  if (bad < 0) return Effect.succeed(vectors as Array<Float32Array>)
  const what = vectors[bad] === undefined ? "no vector" : `a vector of ${vectors[bad]!.length} dimensions`
  return Effect.fail(
    new Api.ResponseMismatch({
      reason: `input ${bad} of ${pack.length} (document ${JSON.stringify(pack[bad]!.id)}) has ${what}`
    })
  )
}

const request = (run: Run, pack: ReadonlyArray<Work>) =>
  Effect.flatMap(
    run.client.embeddings.create({
      model: run.options.model,
      input: pack.map((work) => work.text),
      encoding_format: "base64",
      ...(run.options.dimensions === undefined ? {} : { dimensions: run.options.dimensions })
    }),
    (response) => {
      run.pace.learn(response.snapshot.limitTokens)
      return Effect.tap(vectorsOf(run, pack, response.body.data), () =>
        Effect.sync(() => {
          run.stats.requests++
          run.stats.tokens += Usage.fromBody(response.body)?.promptTokens ?? 0
        })
      )
    }
  )

const deliver = (run: Run, work: Work, vector: Float32Array) => {
  run.stats.inputsSent++
  const id = Cache.idOf(work.key)
  const forget = () => run.inflight.delete(id)
  run.store.put(work.key, vector).then(forget, forget)
  Deferred.doneUnsafe(work.done, Effect.succeed(vector))
}

/** @internal */
export const fail = (run: Run, pack: ReadonlyArray<Work>, error: Failure | Held) =>
  Effect.sync(() => {
    for (const work of pack) {
      run.inflight.delete(Cache.idOf(work.key))
      Deferred.doneUnsafe(work.done, Effect.fail(error))
    }
  })

/** Sends a pack until it is answered or has failed for good; never fails itself (its documents do). @internal */
export const send = (run: Run, pack: ReadonlyArray<Work>, attempt = 0): Effect.Effect<void> =>
  Effect.matchEffect(request(run, pack), {
    onSuccess: (vectors) =>
      Effect.sync(() => {
        for (let i = 0; i < pack.length; i++) deliver(run, pack[i]!, vectors[i]!)
      }),
    onFailure: (error): Effect.Effect<void> => {
      Deferred.doneUnsafe(run.pace.firstAnswer, Effect.void)
      if (error._tag !== "ResponseMismatch" && aboutInputs(error)) {
        if (pack.length === 1) return fail(run, pack, new Api.InputRejected({ id: pack[0]!.id, reason: error.message }))
        run.stats.bisections++
        const half = Math.ceil(pack.length / 2)
        return Effect.andThen(send(run, pack.slice(0, half)), send(run, pack.slice(half)))
      }
      if ("retryable" in error && error.retryable && !Errors.isTerminal(error) && attempt < maxPackRetries) {
        run.stats.packRetries++
        return Effect.andThen(Effect.sleep(Duration.millis(500 * 2 ** attempt)), send(run, pack, attempt + 1))
      }
      return fail(run, pack, error)
    }
  })
