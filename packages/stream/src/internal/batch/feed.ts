/**
 * The second pass over the input as a shared feed for `run`'s workers.
 *
 * @internal
 */
import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Pull from "effect/Pull"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Stream from "effect/Stream"
import * as Api from "../../Batch.js"
import * as Validate from "./validate.js"

/** @internal */
export interface Feed<E, R> {
  /** The next request still to do, `undefined` once the input has ended. */
  readonly next: Effect.Effect<Api.Request | undefined, E | Api.BatchIoError, R>
}

/** The requests of one pulled chunk still to do, in order, and how many the input has had so far. */
const makeBuffer = (ids: ReadonlyMap<string, number>, done: ReadonlySet<string>) => {
  const reader = Validate.reader(ids)
  const state = { requests: [] as Array<Api.Request>, index: 0, read: 0 }
  const keep = (request: Api.Request) => {
    state.read++
    if (!done.has(request.customId)) state.requests.push(request)
  }
  /** Parses a pulled chunk; the first line that differs from the first pass is returned as a problem. */
  const fill = (texts: ReadonlyArray<string>): Api.LineProblem | undefined => {
    state.requests = []
    state.index = 0
    for (const text of texts) {
      const problem = reader.feed(text, keep)
      if (problem !== undefined) return problem
    }
    return undefined
  }
  return { state, fill }
}

/**
 * `next` hands out the next request still to do (one pull of the input for a whole chunk of lines, under a lock),
 * `undefined` once the input has ended. A line that changed since the first pass fails the job (`BatchIoError`), as
 * does an input that ended early.
 *
 * @internal
 */
export const make = <E, R>(
  lines: Stream.Stream<string, E, R>,
  ids: ReadonlyMap<string, number>,
  done: ReadonlySet<string>,
  path: string
): Effect.Effect<Feed<E, R>, never, R | Scope.Scope> =>
  Effect.gen(function* () {
    const pull = yield* Stream.toPull(lines)
    const lock = yield* Semaphore.make(1)
    const { state, fill } = makeBuffer(ids, done)
    const changed = (reason: string) =>
      new Api.BatchIoError({ path, reason: `the input changed while the job ran: ${reason}` })
    let ended = false
    const onEnd = (cause: Cause.Cause<unknown>): Effect.Effect<void, E | Api.BatchIoError> => {
      if (!Pull.isDoneCause(cause)) return Effect.failCause(cause as Cause.Cause<E>)
      ended = true
      return state.read === ids.size ? Effect.void : Effect.fail(changed(`${state.read} of ${ids.size} requests read`))
    }
    const refill: Effect.Effect<void, E | Api.BatchIoError, R> = Effect.suspend(() => {
      if (state.index < state.requests.length || ended) return Effect.void
      return Effect.matchCauseEffect(pull, {
        onSuccess: (texts) =>
          Effect.suspend(() => {
            const problem = fill(texts)
            return problem === undefined ? Effect.void : Effect.fail(changed(Api.formatProblem(problem)))
          }),
        onFailure: onEnd
      })
    })
    const next: Feed<E, R>["next"] = Effect.suspend(() => {
      if (state.index < state.requests.length) return Effect.succeed(state.requests[state.index++])
      if (ended) return Effect.succeed(undefined)
      return Effect.andThen(lock.withPermits(1)(refill), next)
    })
    return { next }
  })
