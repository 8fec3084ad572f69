/**
 * Group commit for an append-only journal (Batch's output, Embed's output): the entries appended during one turn of
 * the event loop are written together, in one write, at its end; each `append` completes, uninterruptibly, once the
 * write holding its entry has (so a killed process loses nothing that counted as done); `fsync` runs in the
 * background within a second of each write, at most once a second by the `Clock`, and on close; after a failed write
 * nothing more is written; `flush` reports a write or `fsync` error that came after the last append.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import { ioReason } from "./batch/ioReason.js"

/** Where the entries go: one `write` per group (in append order), and the `fsync` of every file it writes. @internal */
export interface Target<A> {
  readonly write: (entries: ReadonlyArray<A>) => Effect.Effect<void, unknown>
  readonly sync: Effect.Effect<void, unknown>
}

/** The journal's error for a failed write or `fsync` (given what the OS said), or for appends after it stopped. */
type Fail<E> = (message: string) => E

/** @internal */
export interface GroupCommit<A, E> {
  /** Queues one entry; completes once the write holding it has (to the OS: `fsync` is at most once a second). */
  readonly append: (entry: A) => Effect.Effect<void, E>
  /** Once the last entry is appended: an `fsync`, then the first write or `fsync` error, if any. */
  readonly flush: Effect.Effect<void, E>
  /** Writes what is queued, ends the writer, and `fsync`s (the caller closes the files after it). */
  readonly close: Effect.Effect<void>
  /** `write` calls made and entries written so far. */
  readonly writes: () => { readonly writes: number; readonly lines: number }
}

/** The end of this turn of the event loop: the lines appended during the rest of it join the write. */
const endOfTurn = Effect.callback<void>((resume) => {
  const timer = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(timer))
})

interface Commits<A, E> {
  queued: Array<A>
  /** Completed when the write holding the queued lines has. */
  batch: Deferred.Deferred<void, E> | undefined
  /** Completed when a line is queued (or the journal closes): the writer's cue. */
  wake: Deferred.Deferred<void>
  failure: E | undefined
  /** The appends of the write under way. */
  writing: Deferred.Deferred<void, E> | undefined
  closing: boolean
  /** Lines written since the last `fsync` started. */
  dirty: boolean
  /** The background `fsync` loop, while one is sleeping or syncing. */
  syncer: Fiber.Fiber<void> | undefined
  lastSync: number
  /** `written` when the last `fsync` that succeeded started (-1: none yet): what is known to be on disk. */
  syncedAt: number
  writes: number
  written: number
}

/** One background `fsync`, a second after the last one started (by the `Clock`); whether lines came in meanwhile. */
const syncRound = <A, E>(target: Target<A>, fail: Fail<E>, clock: Clock.Clock, state: Commits<A, E>) =>
  Effect.gen(function* () {
    const wait = state.lastSync + 1000 - clock.currentTimeMillisUnsafe()
    if (wait > 0) yield* Effect.sleep(wait)
    state.dirty = false
    state.lastSync = clock.currentTimeMillisUnsafe()
    // uninterruptible: closing waits for an fsync under way instead of leaving it behind on the closed file
    const at = state.written
    const synced = yield* Effect.result(Effect.uninterruptible(target.sync))
    if (synced._tag === "Failure") state.failure ??= fail(ioReason(synced.failure))
    else state.syncedAt = at
    // decided and cleared in one step: a write that lands after this sees no syncer and starts one
    return yield* Effect.sync(() => {
      const again = state.dirty && state.failure === undefined
      if (!again) state.syncer = undefined
      return again
    })
  })

/**
 * After a write: makes sure an `fsync` follows it within a second, in the background, at most one a second. A power
 * loss therefore loses at most the last second of lines, even when the writes pause (a rate limit, a circuit wait).
 */
const syncSoon = <A, E>(target: Target<A>, fail: Fail<E>, clock: Clock.Clock, state: Commits<A, E>) =>
  Effect.suspend(() => {
    state.dirty = true
    if (state.syncer !== undefined) return Effect.void
    const loop = Effect.repeat(syncRound(target, fail, clock, state), { while: (again) => again })
    return Effect.map(Effect.forkChild(Effect.asVoid(loop)), (fiber) => {
      // fsync is asynchronous: the loop cannot have ended before this runs
      state.syncer = fiber
    })
  })

/** Writes the lines queued during this turn in one write, and completes their appends. */
const commitOnce = <A, E>(target: Target<A>, fail: Fail<E>, clock: Clock.Clock, state: Commits<A, E>) =>
  Effect.gen(function* () {
    yield* Deferred.await(state.wake)
    yield* endOfTurn
    state.wake = Deferred.makeUnsafe<void>()
    const lines = state.queued
    const done = state.batch
    state.queued = []
    state.batch = undefined
    if (done === undefined) return !state.closing
    // After a failed write (ENOSPC, EIO) nothing more is written: a write after a torn line would glue the next line
    // to it, and the file could no longer be resumed. The torn line alone is cut off on resume.
    if (state.failure === undefined) {
      state.writes++
      state.writing = done
      const written = yield* Effect.result(target.write(lines))
      state.writing = undefined
      if (written._tag === "Failure") state.failure ??= fail(ioReason(written.failure))
      else {
        state.written += lines.length
        yield* syncSoon(target, fail, clock, state)
      }
    }
    Deferred.doneUnsafe(done, state.failure === undefined ? Effect.void : Effect.fail(state.failure))
    return !state.closing || state.queued.length > 0
  })

/**
 * The writer ended (closed, or died of a defect): no append may wait for it any more. Those under way or queued fail,
 * and so does every later one, instead of waiting forever (their wait is uninterruptible).
 */
const writerStopped = <A, E>(fail: Fail<E>, state: Commits<A, E>, exit: Exit.Exit<unknown, unknown>) =>
  Effect.sync(() => {
    const why = Exit.isSuccess(exit)
      ? "the journal is closed"
      : `the journal's writer failed: ${ioReason(Cause.squash(exit.cause))}`
    state.failure ??= fail(why)
    for (const pending of [state.writing, state.batch]) {
      if (pending !== undefined) Deferred.doneUnsafe(pending, Effect.fail(state.failure))
    }
    state.writing = undefined
    state.batch = undefined
  })

/** An `fsync` now, then the first write or `fsync` error of the journal, if any. */
const flushOf = <A, E>(target: Target<A>, fail: Fail<E>, state: Commits<A, E>) =>
  Effect.suspend(() => {
    if (state.failure !== undefined) return Effect.fail(state.failure)
    const at = state.written
    return Effect.result(target.sync).pipe(
      Effect.flatMap((synced) => {
        if (synced._tag === "Failure") state.failure ??= fail(ioReason(synced.failure))
        else state.syncedAt = at
        return state.failure === undefined ? Effect.void : Effect.fail(state.failure)
      })
    )
  })

/**
 * Group commit: the entries (lines) appended during one turn of the event loop are written together at its end, in one
 * `FileSystem` write, and each `append` completes when the write holding its line has; lines appended while a write
 * runs go in the next. A line is in the file before its request counts as done, as with one write per line; what a
 * kill -9 can lose is still only the requests in flight. `fsync` runs beside the writes, within a second of each
 * write and at most once a second (by the `Clock`), and on close. Once a write or an `fsync` fails, every append
 * fails with that error and nothing more is written.
 */
export const make = <A, E>(target: Target<A>, fail: Fail<E>): Effect.Effect<GroupCommit<A, E>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const clock = yield* Clock.Clock
    const state: Commits<A, E> = {
      queued: [],
      batch: undefined,
      wake: Deferred.makeUnsafe<void>(),
      failure: undefined,
      writing: undefined,
      closing: false,
      dirty: false,
      syncer: undefined,
      lastSync: clock.currentTimeMillisUnsafe(),
      syncedAt: -1,
      writes: 0,
      written: 0
    }
    const writer = yield* Effect.forkScoped(
      Effect.andThen(
        Effect.repeat(commitOnce(target, fail, clock, state), { while: (more) => more }),
        // the close's own fsync covers every line: a background one still sleeping is not needed
        Effect.suspend(() => (state.syncer === undefined ? Effect.void : Fiber.interrupt(state.syncer)))
      ).pipe(Effect.onExit((exit) => writerStopped(fail, state, exit)))
    )
    const append = (entry: A) =>
      Effect.suspend(() => {
        if (state.failure !== undefined) return Effect.fail(state.failure)
        state.queued.push(entry)
        if (state.batch === undefined) {
          state.batch = Deferred.makeUnsafe<void, E>()
          Deferred.doneUnsafe(state.wake, Effect.void)
        }
        return Effect.uninterruptible(Deferred.await(state.batch))
      })
    // Closing: the writer writes what is still queued and ends; then the file's own fsync.
    const close = Effect.suspend(() => {
      state.closing = true
      Deferred.doneUnsafe(state.wake, Effect.void)
      // (not when nothing was written since a flush or background fsync that succeeded: one fsync at the end, not two)
      const sync = Effect.suspend(() => (state.written === state.syncedAt ? Effect.void : Effect.ignore(target.sync)))
      return Effect.andThen(Fiber.await(writer), sync)
    })
    const flush = flushOf(target, fail, state)
    return { append, flush, close, writes: () => ({ writes: state.writes, lines: state.written }) }
  })
