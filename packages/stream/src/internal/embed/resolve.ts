/**
 * From a document to the effect that gives its vector: joined to an identical text in flight, answered from the
 * store, or queued for the packer. Texts are not tokenized unless they may be over the per-input cap: a text of
 * at most that many UTF-8 bytes cannot be (each token covers at least one byte), so the byte count is its bound
 * for the per-request cap and ⌈chars/4⌉ (what the rate limiter charges) its weight; only a longer text is counted
 * exactly, which is when the tokenizer loads.
 *
 * @internal
 */
import { Tokens } from "@sluice/core"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Api from "../../Embed.js"
import * as Cache from "./cache.js"
import * as OverLong from "./overlong.js"
import type { Done, Failure, Held, Run } from "./work.js"

/** @internal */
export type Vector = Effect.Effect<Float32Array, Failure | Held>

/** A text already known: joined to an identical one in flight, or answered from the store. */
const known = (run: Run, id: string, key: Cache.Key): Vector | undefined => {
  const flying = run.inflight.get(Cache.idOf(key))
  if (flying !== undefined) {
    run.stats.deduplicated++
    return Deferred.await(flying)
  }
  if (!run.store.has(key)) return undefined
  run.stats.cacheHits++
  return Effect.suspend(() => {
    const vector = run.store.get(key)
    return vector === undefined
      ? Effect.fail(new Api.CacheError({ path: run.store.path, reason: `entry of ${JSON.stringify(id)} vanished` }))
      : Effect.succeed(vector)
  })
}

interface Sized {
  readonly text: string
  readonly tokens: number
  readonly weight: number
}

/** A new text: queued for the packer. */
const enqueue = (run: Run, id: string, key: Cache.Key, sized: Sized): Effect.Effect<Vector> =>
  Effect.suspend(() => {
    const done: Done = Deferred.makeUnsafe()
    run.inflight.set(Cache.idOf(key), done)
    return Effect.as(Queue.offer(run.queue, { key, id, done, ...sized }), Deferred.await(done))
  })

const resolve = (run: Run, id: string, piece: OverLong.Piece): Effect.Effect<Vector> =>
  Effect.suspend(() => {
    const key = Cache.keyOf(run.options.model, run.options.dimensions, piece.text)
    const hit = known(run, id, key)
    return hit !== undefined ? Effect.succeed(hit) : enqueue(run, id, key, { ...piece, weight: piece.tokens })
  })

/** An input over the per-input cap, by the caller's policy. */
const overLong = (run: Run, count: OverLong.Count, document: Api.Document, tokens: number) =>
  Effect.gen(function* () {
    const policy = run.options.overLong ?? "fail"
    if (policy === "fail") {
      return Effect.fail(new Api.InputTooLong({ id: document.id, tokens, limit: run.perInput })) as Vector
    }
    if (policy === "truncate") {
      return yield* resolve(run, document.id, yield* OverLong.truncate(count, document.text, run.perInput))
    }
    const pieces = yield* OverLong.split(count, document.text, run.perInput)
    const parts: Array<Vector> = []
    for (const piece of pieces) parts.push(yield* resolve(run, document.id, piece))
    const weights = pieces.map((piece) => piece.tokens)
    return Effect.map(Effect.all(parts), (vectors) => OverLong.average(vectors, weights))
  })

/** The effect that gives each document's vector (made in input order; awaited in input order). @internal */
export const preparer = (run: Run) =>
  Effect.map(Effect.serviceOption(Tokens.Tokens), (service) => {
    let tokenizer = Option.getOrUndefined(service)
    const encoding = Tokens.encodingFor(run.options.model)
    const count: OverLong.Count = (text) =>
      Effect.suspend(() =>
        tokenizer !== undefined
          ? tokenizer.count(text, encoding)
          : Effect.flatMap(Tokens.make(), (made) => {
              tokenizer = made
              return made.count(text, encoding)
            })
      )
    return (document: Api.Document): Effect.Effect<Vector> =>
      Effect.suspend(() => {
        run.stats.documents++
        const key = Cache.keyOf(run.options.model, run.options.dimensions, document.text)
        const hit = known(run, document.id, key)
        if (hit !== undefined) return Effect.succeed(hit)
        const bytes = Tokens.utf8Bytes(document.text)
        if (bytes <= run.perInput) {
          return enqueue(run, document.id, key, {
            text: document.text,
            tokens: bytes,
            weight: Math.ceil(document.text.length / 4)
          })
        }
        return Effect.flatMap(count(document.text), (tokens) =>
          tokens <= run.perInput
            ? enqueue(run, document.id, key, { text: document.text, tokens, weight: tokens })
            : overLong(run, count, document, tokens)
        )
      })
  })
