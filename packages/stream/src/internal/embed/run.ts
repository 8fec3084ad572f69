/**
 * The body of `Embed.embed`: documents → tickets (in order) → a packer that fills requests from a queue of unique
 * texts → vectors into the store and the tickets' deferreds → emitted in order.
 *
 * @internal
 */
import { Errors, OpenAi, Tokens } from "@sluice/core"
import * as Embeddings from "@sluice/core/Embeddings"
import * as Usage from "@sluice/core/Usage"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Stream from "effect/Stream"
import * as Api from "../../Embed.js"
import * as Cache from "./cache.js"
import * as OverLong from "./overlong.js"

type Failure = Api.EmbedError | Errors.OpenAiError

/** A pack not sent because the run was stopped: the stream ends before its first document. */
class Held {
  readonly _tag = "Held"
}

/** One unique text waiting for (or in) a request. */
interface Work {
  readonly key: Cache.Key
  readonly text: string
  readonly tokens: number
  /** The first document with this text, to name in errors. */
  readonly id: string
  readonly done: Deferred.Deferred<Float32Array, Failure | Held>
}

/** @internal */
export const openCache = (dir: string): Effect.Effect<Api.Cache, Api.CacheError, Scope.Scope> =>
  Effect.mapError(Cache.open_(dir), (reason) => new Api.CacheError({ path: dir, reason }))

const invalid = (option: string, value: unknown, expected: string) =>
  new Errors.InvalidOptions({ option, value: String(value), expected })

const checkInt = (name: string, value: number | undefined, min: number, max: number) =>
  value === undefined || (Number.isInteger(value) && value >= min && value <= max)
    ? undefined
    : invalid(name, value, `an integer from ${min} to ${max}`)

/** @internal */
export const validateOptions = (options: Api.Options): Errors.InvalidOptions | undefined =>
  (options.model.trim() === "" ? invalid("model", JSON.stringify(options.model), "a model id") : undefined) ??
  checkInt("dimensions", options.dimensions, 1, 65_536) ??
  checkInt("concurrency", options.concurrency, 1, 1024) ??
  checkInt("maxInputsPerRequest", options.maxInputsPerRequest, 1, Api.limits.inputsPerRequest) ??
  checkInt("maxTokensPerRequest", options.maxTokensPerRequest, 1, Api.limits.tokensPerRequest) ??
  checkInt("maxTokensPerInput", options.maxTokensPerInput, 1, Api.limits.tokensPerInput) ??
  checkInt("tokensPerMinute", options.tokensPerMinute, 1, Number.MAX_SAFE_INTEGER) ??
  checkInt("window", options.window, 1, 100_000_000)

/** Packs are half the limiter's burst (0.8 × a second's worth), so two fit and the limiter never idles. */
const packTokensFor = (tokensPerMinute: number) => Math.max(1, Math.floor((tokensPerMinute / 60) * 0.8 * 0.5))
/** Before the token limit is known (the first response brings it), packs stay small. */
const firstPackTokens = 16_384
/** A pack not yet full waits this long for another text before it goes (the reader may be busy). */
const lingerMs = 20
const maxPackRetries = 3

/**
 * Whether a 400 may be about one input (then splitting the pack finds it): its `param` names the input, or it has
 * none and its message speaks of the input (a 400 about `dimensions` or the model would fail every half alike).
 */
const aboutInputs = (error: Errors.OpenAiError) =>
  (error._tag === "BadRequest" &&
    (error.param === undefined ? /\binput/i.test(error.message) : error.param.startsWith("input"))) ||
  error._tag === "RequestTooLarge"

/** @internal */
export const embed = <E, R>(
  documents: Stream.Stream<Api.Document, E, R>,
  options: Api.Options
): Stream.Stream<Api.Embedded, Failure | E, OpenAi.OpenAi | R> =>
  Stream.unwrap(
    Effect.gen(function* () {
      const problem = validateOptions(options)
      if (problem !== undefined) return yield* problem
      const client = yield* OpenAi.OpenAi
      const tokenizer = Option.getOrUndefined(yield* Effect.serviceOption(Tokens.Tokens)) ?? (yield* Tokens.make())
      const encoding = Tokens.encodingFor(options.model)
      const count: OverLong.Count = (text) => tokenizer.count(text, encoding)
      const store =
        options.cache ??
        (yield* Effect.mapError(Cache.temporary, (reason) => new Api.CacheError({ path: "(temporary)", reason })))
      const stats = options.stats ?? Api.makeStats()
      const concurrency = options.concurrency ?? 8
      const maxInputs = options.maxInputsPerRequest ?? Api.limits.inputsPerRequest
      const maxTokens = options.maxTokensPerRequest ?? Api.limits.tokensPerRequest
      const perInput = options.maxTokensPerInput ?? Api.limits.tokensPerInput
      const window = options.window ?? (concurrency + 1) * maxInputs
      let tokensPerMinute = options.tokensPerMinute
      // Until a response says otherwise (no limit header: an unlimited local server), the limit is unknown.
      let answered = false
      // One pack goes first and the rest are formed once it has answered: its headers size them.
      const firstAnswer = yield* Deferred.make<void>()
      const packTarget = () =>
        Math.min(
          maxTokens,
          tokensPerMinute !== undefined ? packTokensFor(tokensPerMinute) : answered ? maxTokens : firstPackTokens
        )
      const queue = yield* Queue.bounded<Work>(window)
      const inflight = new Map<string, Deferred.Deferred<Float32Array, Failure | Held>>()
      const stop = yield* Deferred.make<void>()
      let stopped = false
      if (options.shutdown !== undefined) {
        yield* Effect.forkScoped(
          Effect.andThen(
            options.shutdown,
            Effect.andThen(
              Effect.sync(() => {
                stopped = true
              }),
              Deferred.succeed(stop, undefined)
            )
          )
        )
      }
      const scope = yield* Scope.Scope

      const deliver = (work: Work, vector: Float32Array) => {
        stats.inputsSent++
        const id = Cache.idOf(work.key)
        store.put(work.key, vector).then(
          () => inflight.delete(id),
          () => inflight.delete(id)
        )
        Deferred.doneUnsafe(work.done, Effect.succeed(vector))
      }
      const fail = (pack: ReadonlyArray<Work>, error: Failure | Held) =>
        Effect.sync(() => {
          for (const work of pack) {
            inflight.delete(Cache.idOf(work.key))
            Deferred.doneUnsafe(work.done, Effect.fail(error))
          }
        })

      const request = (pack: ReadonlyArray<Work>) =>
        Effect.flatMap(
          client.embeddings.create({
            model: options.model,
            input: pack.map((work) => work.text),
            encoding_format: "base64",
            ...(options.dimensions === undefined ? {} : { dimensions: options.dimensions })
          }),
          (response) => {
            const limit = response.snapshot.limitTokens
            answered = true
            if (options.tokensPerMinute === undefined && limit !== undefined && limit > 0) tokensPerMinute = limit
            else if (options.tokensPerMinute !== undefined && limit !== undefined && limit > 0) {
              tokensPerMinute = Math.min(options.tokensPerMinute, limit)
            }
            Deferred.doneUnsafe(firstAnswer, Effect.void)
            const vectors = new Array<Float32Array | undefined>(pack.length)
            for (const item of response.body.data) {
              if (item.index >= 0 && item.index < pack.length)
                vectors[item.index] = Embeddings.toFloat32(item.embedding)
            }
            const width = vectors[0]?.length
            const bad = vectors.findIndex(
              (vector) =>
                vector === undefined ||
                vector.length !== width ||
                (options.dimensions !== undefined && vector.length !== options.dimensions)
            )
            if (bad >= 0) {
              return Effect.fail(
                new Api.ResponseMismatch({
                  reason: `input ${bad} of ${pack.length} (document ${JSON.stringify(pack[bad]!.id)}) has ${vectors[bad] === undefined ? "no vector" : `a vector of ${vectors[bad]!.length} dimensions`}`
                })
              )
            }
            stats.requests++
            stats.tokens += Usage.fromBody(response.body)?.promptTokens ?? 0
            return Effect.succeed(vectors as Array<Float32Array>)
          }
        )

      const send = (pack: ReadonlyArray<Work>, attempt: number): Effect.Effect<void> =>
        Effect.matchEffect(request(pack), {
          onSuccess: (vectors) =>
            Effect.sync(() => {
              for (let i = 0; i < pack.length; i++) deliver(pack[i]!, vectors[i]!)
            }),
          onFailure: (error): Effect.Effect<void> => {
            Deferred.doneUnsafe(firstAnswer, Effect.void)
            if (error._tag !== "ResponseMismatch" && aboutInputs(error)) {
              if (pack.length === 1) {
                return fail(pack, new Api.InputRejected({ id: pack[0]!.id, reason: error.message }))
              }
              stats.bisections++
              const half = Math.ceil(pack.length / 2)
              return Effect.andThen(send(pack.slice(0, half), 0), send(pack.slice(half), 0))
            }
            if ("retryable" in error && error.retryable && !Errors.isTerminal(error) && attempt < maxPackRetries) {
              stats.packRetries++
              return Effect.andThen(Effect.sleep(Duration.millis(500 * 2 ** attempt)), send(pack, attempt + 1))
            }
            return fail(pack, error)
          }
        })

      const semaphore = yield* Semaphore.make(concurrency)
      // Fills a pack from what is queued (after one short linger if it is not full) when a request slot is free.
      const packer = Effect.gen(function* () {
        let carry: Work | undefined
        let packs = 0
        while (true) {
          yield* Semaphore.take(semaphore, 1)
          if (packs++ === 1 && tokensPerMinute === undefined) yield* Deferred.await(firstAnswer)
          const first = carry ?? (yield* Queue.take(queue))
          carry = undefined
          const pack = [first]
          let tokens = first.tokens
          const target = packTarget()
          let lingered = false
          while (pack.length < maxInputs) {
            const next = yield* Queue.poll(queue)
            if (Option.isNone(next)) {
              if (lingered) break
              lingered = true
              yield* Effect.sleep(Duration.millis(lingerMs))
              continue
            }
            lingered = false
            if (tokens + next.value.tokens > target) {
              carry = next.value
              break
            }
            pack.push(next.value)
            tokens += next.value.tokens
          }
          stats.inFlight += pack.length
          yield* Effect.forkIn(
            (stopped ? fail(pack, new Held()) : send(pack, 0)).pipe(
              Effect.ensuring(
                Effect.andThen(
                  Effect.sync(() => {
                    stats.inFlight -= pack.length
                  }),
                  Semaphore.release(semaphore, 1)
                )
              )
            ),
            scope
          )
        }
      })
      yield* Effect.forkIn(packer, scope)

      type Vector = Effect.Effect<Float32Array, Failure | Held>
      /** A text already known: joined to an identical one in flight, or answered from the store. */
      const known = (id: string, key: Cache.Key): Vector | undefined => {
        const flying = inflight.get(Cache.idOf(key))
        if (flying !== undefined) {
          stats.deduplicated++
          return Deferred.await(flying)
        }
        if (!store.has(key)) return undefined
        stats.cacheHits++
        return Effect.suspend(() => {
          const vector = store.get(key)
          return vector === undefined
            ? Effect.fail(new Api.CacheError({ path: store.path, reason: `entry of ${JSON.stringify(id)} vanished` }))
            : Effect.succeed(vector)
        })
      }
      /** A new text: queued for the packer. */
      const enqueue = (id: string, key: Cache.Key, piece: OverLong.Piece): Effect.Effect<Vector> =>
        Effect.suspend(() => {
          const done = Deferred.makeUnsafe<Float32Array, Failure | Held>()
          inflight.set(Cache.idOf(key), done)
          return Effect.as(
            Queue.offer(queue, { key, text: piece.text, tokens: piece.tokens, id, done }),
            Deferred.await(done)
          )
        })
      const resolve = (id: string, piece: OverLong.Piece): Effect.Effect<Vector> =>
        Effect.suspend(() => {
          const key = Cache.keyOf(options.model, options.dimensions, piece.text)
          const hit = known(id, key)
          return hit !== undefined ? Effect.succeed(hit) : enqueue(id, key, piece)
        })

      const prepare = (document: Api.Document) =>
        Effect.gen(function* () {
          stats.documents++
          // Known texts are not tokenized: only what may be sent is counted.
          const key = Cache.keyOf(options.model, options.dimensions, document.text)
          const hit = known(document.id, key)
          if (hit !== undefined) return hit
          const tokens = yield* count(document.text)
          if (tokens <= perInput) return yield* enqueue(document.id, key, { text: document.text, tokens })
          const policy = options.overLong ?? "fail"
          if (policy === "fail") {
            return Effect.fail(new Api.InputTooLong({ id: document.id, tokens, limit: perInput }))
          }
          if (policy === "truncate")
            return yield* resolve(document.id, yield* OverLong.truncate(count, document.text, perInput))
          const pieces = yield* OverLong.split(count, document.text, perInput)
          const parts: Array<Vector> = []
          for (const piece of pieces) parts.push(yield* resolve(document.id, piece))
          return Effect.map(Effect.all(parts), (vectors) =>
            OverLong.average(
              vectors,
              pieces.map((piece) => piece.tokens)
            )
          )
        })

      return documents.pipe(
        Stream.interruptWhen(Deferred.await(stop)),
        Stream.mapEffect((document) => Effect.map(prepare(document), (vector) => ({ id: document.id, vector }))),
        Stream.buffer({ capacity: window }),
        Stream.mapEffect(({ id, vector }) =>
          vector.pipe(
            Effect.map((v): Option.Option<Api.Embedded> => {
              stats.emitted++
              return Option.some({ id, vector: v })
            }),
            Effect.catchIf(
              (error): error is Held => error instanceof Held,
              () => Effect.succeed(Option.none<Api.Embedded>())
            )
          )
        ),
        Stream.takeWhile(Option.isSome),
        Stream.map((some) => some.value)
      )
    })
  )
