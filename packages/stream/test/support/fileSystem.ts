/**
 * Batch and Embed read their input and write their journals through `FileSystem`: `live` is `it.live` with Node's
 * provided; `recording` and `fullDiskOnce` watch or break the journal's writes.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { expect, it } from "@effect/vitest"
import { Clock, Effect, FileSystem, Layer, PlatformError, type Scope } from "effect"
import { TestClock } from "effect/testing"

export const live = <A, E>(
  name: string,
  self: () => Effect.Effect<A, E, Scope.Scope | FileSystem.FileSystem>,
  timeout?: Parameters<typeof it.live>[2]
): void => it.live(name, () => Effect.provide(self(), NodeFileSystem.layer), timeout)

/**
 * `it.effect` with Node's provided: the journal's pacing (its `Clock` and sleeps) runs on the `TestClock`, its
 * writes and fsyncs are real.
 */
export const virtual = <A, E>(
  name: string,
  self: () => Effect.Effect<A, E, Scope.Scope | FileSystem.FileSystem>
): void => it.effect(name, () => Effect.provide(self(), NodeFileSystem.layer))

/** One real event-loop turn, for the journal's real I/O (and its end-of-turn write) to go on. */
const turn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/** Waits for real I/O (an fsync on a loaded disk can take a while): polls `done()` every real millisecond, ≤ 10 s. */
const ioDone = (done: () => boolean): Effect.Effect<void> =>
  Effect.promise(
    () =>
      new Promise<void>((resolve) => {
        const started = performance.now()
        const poll = () => (done() || performance.now() - started > 10_000 ? resolve() : setTimeout(poll, 1))
        poll()
      })
  )

/**
 * Moves the `TestClock` on by `stepMs` at a time, with real turns between steps for the I/O, until `done()` or
 * `maxMs` of test time have passed; then waits for the real I/O under way (`started()`: the awaited operation has
 * begun, e.g. an fsync recorded) to finish.
 */
export const advanceUntil = (
  done: () => boolean,
  stepMs: number,
  maxMs: number,
  started: () => boolean = done
): Effect.Effect<void> =>
  Effect.gen(function* () {
    for (let elapsed = 0; elapsed < maxMs && !started(); elapsed += stepMs) {
      yield* TestClock.adjust(stepMs)
      for (let i = 0; i < 50 && !started(); i++) yield* turn
    }
    if (started()) yield* ioDone(done)
  })

/**
 * Node's FileSystem with every opened file's operations replaced by `override`'s (given the file and its path) (the rest delegate to the file):
 * how a test sees or breaks the journal's writes and fsyncs.
 */
export const withFiles = (
  override: (file: FileSystem.File, path: string) => Partial<Pick<FileSystem.File, "writeAll" | "write" | "sync">>
): Layer.Layer<FileSystem.FileSystem> =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (fs) => {
      const wrap = (file: FileSystem.File, path: string): FileSystem.File => {
        const replaced = override(file, path)
        return {
          [FileSystem.FileTypeId]: FileSystem.FileTypeId,
          get stat() {
            return file.stat
          },
          seek: (offset, from) => file.seek(offset, from),
          get sync() {
            return replaced.sync ?? file.sync
          },
          read: (buffer, options) => file.read(buffer, options),
          readAlloc: (size, options) => file.readAlloc(size, options),
          truncate: (length) => file.truncate(length),
          write: replaced.write ?? ((buffer) => file.write(buffer)),
          writeAll: replaced.writeAll ?? ((buffer) => file.writeAll(buffer))
        }
      }
      return FileSystem.make({
        ...fs,
        open: (path, options) => Effect.map(fs.open(path, options), (file) => wrap(file, path))
      })
    })
  ).pipe(Layer.provide(NodeFileSystem.layer))

/** The error a FileSystem `method` fails with when the OS says `code` (ENOSPC, EIO …). */
export const osError = (method: string, code: string): PlatformError.PlatformError =>
  PlatformError.systemError({
    _tag: "Unknown",
    module: "FileSystem",
    method,
    cause: Object.assign(new Error(code), { code })
  })

/** A write or an fsync of an opened file: which, when (ms, by the `Clock`) and of which path. */
export interface Op {
  readonly op: "write" | "sync"
  readonly at: number
  readonly path: string
}

/** Fsyncs at most once a second: never two within 990 ms (timer slack when live), and no more than the seconds elapsed. */
export const expectPaced = (syncs: ReadonlyArray<Op>, elapsedMs: number): void => {
  expect(syncs.length).toBeLessThanOrEqual(Math.ceil(elapsedMs / 1000))
  for (let i = 1; i < syncs.length; i++) expect(syncs[i]!.at - syncs[i - 1]!.at).toBeGreaterThanOrEqual(990)
}

/** Node's FileSystem, with every write and fsync of an opened file recorded (with its time and path) in `ops`. */
export const recording = (ops: Array<Op>): Layer.Layer<FileSystem.FileSystem> =>
  withFiles((file, path) => {
    const record = (op: "write" | "sync") =>
      Effect.flatMap(Clock.currentTimeMillis, (at) => Effect.sync(() => ops.push({ op, at, path })))
    return {
      sync: Effect.andThen(record("sync"), file.sync),
      write: (buffer) => Effect.andThen(record("write"), file.write(buffer)),
      writeAll: (buffer) => Effect.andThen(record("write"), file.writeAll(buffer))
    }
  })

/**
 * Node's FileSystem where the first write to an opened file runs out of space half-way: it writes the first half of
 * its bytes, takes 100 ms, then fails with ENOSPC (later writes go through).
 */
export const fullDiskOnce = (): Layer.Layer<FileSystem.FileSystem> => {
  let failed = false
  const enospc = osError("writeAll", "ENOSPC")
  return withFiles((file) => ({
    writeAll: (buffer) => {
      if (failed) return file.writeAll(buffer)
      failed = true
      const half = file.writeAll(buffer.subarray(0, buffer.length >> 1))
      return Effect.andThen(Effect.andThen(half, Effect.sleep("100 millis")), Effect.fail(enospc))
    }
  }))
}
