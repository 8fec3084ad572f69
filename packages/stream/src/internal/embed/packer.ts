/**
 * The packer: when a request slot is free, fills a pack from the queue of unique texts (after one short linger
 * if it is not full), within the input cap, the per-request token cap and the pace's target, and forks its send.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Semaphore from "effect/Semaphore"
import * as Send from "./send.js"
import { Held, type Run, type Work } from "./work.js"

/** A pack not yet full waits this long for another text before it goes (the reader may be busy). */
const lingerMs = 20

/** Fills one pack starting with `first`; returns it and the text that did not fit (the next pack's first). */
const fill = (run: Run, first: Work) =>
  Effect.gen(function* () {
    const pack = [first]
    let tokens = first.tokens
    let weight = first.weight
    const target = run.pace.target()
    let lingered = false
    while (pack.length < run.maxInputs) {
      const next = yield* Queue.poll(run.queue)
      if (Option.isNone(next)) {
        if (lingered) break
        lingered = true
        yield* Effect.sleep(Duration.millis(lingerMs))
        continue
      }
      lingered = false
      const work = next.value
      if (weight + work.weight > target || tokens + work.tokens > run.maxTokens) {
        return { pack, carry: work }
      }
      pack.push(work)
      tokens += work.tokens
      weight += work.weight
    }
    return { pack, carry: undefined }
  })

/** Sends a pack in the run's scope (held instead once the run is stopped), freeing its slot when done. */
const dispatch = (run: Run, semaphore: Semaphore.Semaphore, pack: ReadonlyArray<Work>) => {
  run.stats.inFlight += pack.length
  const release = Effect.andThen(
    Effect.sync(() => {
      run.stats.inFlight -= pack.length
    }),
    Semaphore.release(semaphore, 1)
  )
  const go = run.stopped() ? Send.fail(run, pack, new Held()) : Send.send(run, pack)
  return Effect.forkIn(Effect.ensuring(go, release), run.scope)
}

/** The packer's loop (forked for the run's life). @internal */
export const packer = (run: Run) =>
  Effect.gen(function* () {
    const semaphore = yield* Semaphore.make(run.concurrency)
    let carry: Work | undefined
    let packs = 0
    while (true) {
      yield* Semaphore.take(semaphore, 1)
      // The first pack goes alone: its response's headers size the rest.
      if (packs++ === 1 && !run.pace.known()) yield* Deferred.await(run.pace.firstAnswer)
      const first = carry ?? (yield* Queue.take(run.queue))
      const filled = yield* fill(run, first)
      carry = filled.carry
      yield* dispatch(run, semaphore, filled.pack)
    }
  })
