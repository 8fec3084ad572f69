/**
 * The body of `Embed.embed`: documents → their vectors' effects (in order, `resolve.ts`) → a packer that fills
 * requests from a queue of unique texts (`packer.ts`) → vectors into the store and the waiting documents
 * (`send.ts`) → emitted in order through a bounded reorder window.
 *
 * @internal
 */
import { Errors, OpenAi } from "@sluice/core"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Api from "../../Embed.js"
import * as Cache from "./cache.js"
import { packer } from "./packer.js"
import { preparer, type Vector } from "./resolve.js"
import { Held, makePace, type Failure, type Run, type Work } from "./work.js"

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

/**
 * The default reorder window: room for the pack being filled, those in flight and those answered but not yet
 * emitted, up to 4 full packs. Every document in the window holds its text and, once answered, its vector, so
 * the window is what the run's memory grows with (decision 0013, "Memory").
 */
const defaultWindow = (concurrency: number, maxInputs: number) => Math.min(concurrency + 1, 4) * maxInputs

/** Stops reading when `shutdown` completes; the flag holds the packs formed after it. */
const watchShutdown = (options: Api.Options) =>
  Effect.gen(function* () {
    const stop = yield* Deferred.make<void>()
    let stopped = false
    if (options.shutdown !== undefined) {
      const mark = Effect.sync(() => {
        stopped = true
      })
      yield* Effect.forkScoped(
        Effect.andThen(options.shutdown, Effect.andThen(mark, Deferred.succeed(stop, undefined)))
      )
    }
    return { stop, stopped: () => stopped }
  })

const makeRun = (options: Api.Options, stopped: () => boolean) =>
  Effect.gen(function* () {
    const store =
      options.cache ??
      (yield* Effect.mapError(Cache.temporary, (reason) => new Api.CacheError({ path: "(temporary)", reason })))
    const concurrency = options.concurrency ?? 8
    const maxInputs = options.maxInputsPerRequest ?? Api.limits.inputsPerRequest
    const maxTokens = options.maxTokensPerRequest ?? Api.limits.tokensPerRequest
    const window = options.window ?? defaultWindow(concurrency, maxInputs)
    const run: Run = {
      options,
      client: yield* OpenAi.OpenAi,
      store,
      stats: options.stats ?? Api.makeStats(),
      concurrency,
      maxInputs,
      maxTokens,
      perInput: options.maxTokensPerInput ?? Api.limits.tokensPerInput,
      window,
      pace: yield* makePace(options.tokensPerMinute, maxTokens),
      queue: yield* Queue.bounded<Work>(window),
      inflight: new Map(),
      scope: yield* Scope.Scope,
      stopped
    }
    return run
  })

/** A document's vector, or none when its pack was held (the run stopped): the stream ends there. */
const emitted = (run: Run, id: string, vector: Vector) =>
  vector.pipe(
    Effect.map((v): Option.Option<Api.Embedded> => {
      run.stats.emitted++
      return Option.some({ id, vector: v })
    }),
    Effect.catchIf(
      (error): error is Held => error instanceof Held,
      () => Effect.succeed(Option.none<Api.Embedded>())
    )
  )

/** @internal */
export const embed = <E, R>(
  documents: Stream.Stream<Api.Document, E, R>,
  options: Api.Options
): Stream.Stream<Api.Embedded, Failure | E, OpenAi.OpenAi | R> =>
  Stream.unwrap(
    Effect.gen(function* () {
      const problem = validateOptions(options)
      if (problem !== undefined) return yield* problem
      const { stop, stopped } = yield* watchShutdown(options)
      const run = yield* makeRun(options, stopped)
      yield* Effect.forkIn(packer(run), run.scope)
      const prepare = yield* preparer(run)
      return documents.pipe(
        Stream.interruptWhen(Deferred.await(stop)),
        Stream.mapEffect((document) => Effect.map(prepare(document), (vector) => ({ id: document.id, vector }))),
        Stream.buffer({ capacity: run.window }),
        Stream.mapEffect(({ id, vector }) => emitted(run, id, vector)),
        Stream.takeWhile(Option.isSome),
        Stream.map((some) => some.value)
      )
    })
  )
