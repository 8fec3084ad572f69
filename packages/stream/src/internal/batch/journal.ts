/**
 * The output file as a journal, through `FileSystem`: opened for append, lines written in group commits (one write
 * at the end of each event-loop turn for every line finished during it; a line's `append` completes, uninterruptibly,
 * once it is written, so a killed process loses nothing that counted as done), `fsync` within a second of each write,
 * at most once a second, and on close; nothing written after a failed write; a torn last line is cut off before
 * appending.
 *
 * @internal
 */
import * as Path from "node:path"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { ioReason } from "./ioReason.js"

/** The input's custom_ids, as far as the journal needs them (a `Set`, or the first pass's id → line `Map`). @internal */
export type InputIds = Pick<ReadonlySet<string>, "has">

/** @internal */
export type Mode = "new" | "resume" | "overwrite"

/** @internal */
export type JournalError =
  | { readonly _tag: "OutputExists"; readonly path: string }
  | { readonly _tag: "OutputCorrupt"; readonly path: string; readonly line: number; readonly message: string }
  | { readonly _tag: "Io"; readonly path: string; readonly message: string }

/** @internal */
export interface Existing {
  /** custom_ids with a successful (2xx) line. */
  readonly succeeded: Set<string>
  /** custom_ids with only failed lines. */
  readonly failed: Set<string>
  /** Whether a torn last line was cut off. */
  readonly repaired: boolean
  /** Failure lines dropped so they can run again (`retryFailed`). */
  readonly superseded: number
}

/** @internal */
export interface Journal {
  readonly existing: Existing
  /** Appends one line; completes once the line is written (to the OS: `fsync` is at most once a second). */
  readonly append: (line: string) => Effect.Effect<void, JournalError>
  /**
   * Once the last line is appended: an `fsync`, then the first write or `fsync` error of the journal, if any (a
   * background `fsync` that failed after the last append is reported here, not lost).
   */
  readonly flush: Effect.Effect<void, JournalError>
  /** `write` calls made and lines written so far (a write holds every line queued while the one before ran). */
  readonly writes: () => { readonly writes: number; readonly lines: number }
}

const io =
  (path: string) =>
  (error: unknown): JournalError => ({ _tag: "Io", path, message: ioReason(error) })

/** Whether two stats are of one file: the same device and inode. */
const sameInode = (a: Option.Option<FileSystem.File.Info>, b: Option.Option<FileSystem.File.Info>): boolean =>
  Option.isSome(a) &&
  Option.isSome(b) &&
  a.value.dev === b.value.dev &&
  Option.isSome(a.value.ino) &&
  Option.isSome(b.value.ino) &&
  a.value.ino.value === b.value.ino.value

/**
 * Whether the output and the input are the same file: the same resolved path, or (when both exist) the same
 * device and inode — a hard link or a symlink to the input counts. `undefined` when they differ.
 *
 * @internal
 */
export const sameFile = (
  input: string,
  output: string
): Effect.Effect<"same path" | "same file" | undefined, never, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    if (Path.resolve(input) === Path.resolve(output)) return "same path" as const
    const fs = yield* FileSystem.FileSystem
    const [a, b] = yield* Effect.all([Effect.option(fs.stat(input)), Effect.option(fs.stat(output))])
    if (sameInode(a, b)) return "same file" as const
    const real = yield* Effect.option(fs.realPath(input))
    const target = yield* Effect.option(fs.realPath(Path.dirname(output)))
    const same =
      Option.isSome(real) && Option.isSome(target) && real.value === Path.join(target.value, Path.basename(output))
    return same ? ("same file" as const) : undefined
  })

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * What is wrong with a parsed output line, or `undefined` when it has the Batch output shape
 * (`{id, custom_id, response: {status_code, request_id, body} | null, error: {code, message} | null}`, at least one
 * of `response` and `error` set) and a custom_id of the input.
 *
 * @internal
 */
export const lineProblem = (json: unknown, inputIds: InputIds | undefined): string | undefined => {
  if (!isRecord(json))
    return `not a batch output line (a JSON ${Array.isArray(json) ? "array" : typeof json}, not an object)`
  const customId = json["custom_id"]
  if (typeof customId !== "string" || customId.length === 0) return "not a batch output line (no custom_id)"
  if ("method" in json || "url" in json || "body" in json) {
    return `custom_id ${JSON.stringify(customId)}: an input line (method/url/body), not an output line — is the output the input file?`
  }
  const shape = 'a batch output line is {"id","custom_id","response","error"}'
  if (typeof json["id"] !== "string")
    return `custom_id ${JSON.stringify(customId)}: not a batch output line (no "id"; ${shape})`
  const response = json["response"]
  const error = json["error"]
  if (response === undefined || error === undefined) {
    return `custom_id ${JSON.stringify(customId)}: not a batch output line (no "${response === undefined ? "response" : "error"}"; ${shape}, one of response and error null)`
  }
  if (response === null && error === null) {
    return `custom_id ${JSON.stringify(customId)}: not a batch output line (both response and error are null)`
  }
  if (response !== null) {
    if (!isRecord(response)) return `custom_id ${JSON.stringify(customId)}: response is not an object`
    const status = response["status_code"]
    if (typeof status !== "number" || !Number.isInteger(status) || status < 100 || status > 599) {
      return `custom_id ${JSON.stringify(customId)}: response.status_code is not an HTTP status (got ${JSON.stringify(status)})`
    }
    if (!("body" in response)) return `custom_id ${JSON.stringify(customId)}: response has no body`
  }
  if (error !== null) {
    if (!isRecord(error) || typeof error["message"] !== "string") {
      return `custom_id ${JSON.stringify(customId)}: error is not {code, message}`
    }
  }
  if (inputIds !== undefined && !inputIds.has(customId)) {
    return `custom_id ${JSON.stringify(customId)} is not in the input — is this the output of another job?`
  }
  return undefined
}

/** Whether an output line is a success: a response with a 2xx status and no error. */
const isSuccess = (json: Record<string, unknown>): boolean => {
  const response = json["response"] as { status_code?: unknown } | null | undefined
  return (
    (json["error"] === null || json["error"] === undefined) &&
    typeof response === "object" &&
    response !== null &&
    typeof response.status_code === "number" &&
    response.status_code >= 200 &&
    response.status_code < 300
  )
}

/** The UTF-8 text of `bytes` from `start` to `end`, without copying them. */
const utf8 = (bytes: Uint8Array, start: number, end: number): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString("utf8")

const corrupt = (path: string, line: number, message: string): JournalError => ({
  _tag: "OutputCorrupt",
  path,
  line,
  message
})

/**
 * Where the journal's whole lines end: after the last newline there is nothing, a torn line (the process died
 * mid-write: to be cut off), or a whole line whose newline is missing (kept, and the newline added). Anything else is
 * not ours to cut.
 */
const findEnd = (
  bytes: Uint8Array,
  path: string
): Effect.Effect<{ readonly end: number; readonly torn: boolean; readonly missingNewline: boolean }, JournalError> => {
  const end = bytes.lastIndexOf(0x0a) + 1
  const tail = utf8(bytes, end, bytes.length)
  if (tail.trim().length === 0) return Effect.succeed({ end, torn: false, missingNewline: false })
  try {
    JSON.parse(tail)
    return Effect.succeed({ end: bytes.length, torn: false, missingNewline: true })
  } catch {
    if (tail.startsWith("{")) return Effect.succeed({ end, torn: true, missingNewline: false })
    const line = utf8(bytes, 0, end).split("\n").length
    return Effect.fail(corrupt(path, line, "not valid JSON, and not a torn batch output line"))
  }
}

interface Classified {
  readonly succeeded: Set<string>
  readonly failedLines: Map<string, Array<number>>
  readonly parsed: ReadonlyArray<{ readonly text: string; readonly customId: string; readonly ok: boolean }>
}

/** Parses and checks every whole line, and sorts the custom_ids into succeeded and failed. */
const classify = (
  lines: ReadonlyArray<string>,
  path: string,
  inputIds: InputIds | undefined
): Effect.Effect<Classified, JournalError> => {
  const succeeded = new Set<string>()
  const failedLines = new Map<string, Array<number>>()
  const parsed: Array<{ readonly text: string; readonly customId: string; readonly ok: boolean }> = []
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!
    if (line.trim().length === 0) continue
    let json: unknown
    try {
      json = JSON.parse(line)
    } catch (error) {
      return Effect.fail(corrupt(path, index + 1, `not valid JSON (${(error as Error).message})`))
    }
    const problem = lineProblem(json, inputIds)
    if (problem !== undefined) return Effect.fail(corrupt(path, index + 1, problem))
    const record = json as Record<string, unknown>
    const customId = record["custom_id"] as string
    const ok = isSuccess(record)
    parsed.push({ text: line, customId, ok })
    if (ok) succeeded.add(customId)
    else failedLines.set(customId, [...(failedLines.get(customId) ?? []), index])
  }
  return Effect.succeed({ succeeded, failedLines, parsed })
}

/**
 * Replaces the file by `text` atomically: a temp file, fsync, rename (the old file stays intact until then). A temp
 * file that could not be completed (ENOSPC) is removed, not left beside the output.
 */
const replaceAtomically = (fs: FileSystem.FileSystem, path: string, text: string) => {
  const temp = Path.join(Path.dirname(path), `.${Path.basename(path)}.${process.pid}.tmp`)
  const written = Effect.scoped(
    Effect.flatMap(fs.open(temp, { flag: "w" }), (file) =>
      Effect.andThen(file.writeAll(new TextEncoder().encode(text)), file.sync)
    )
  )
  return Effect.andThen(written, fs.rename(temp, path)).pipe(
    Effect.onError(() => Effect.ignore(fs.remove(temp, { force: true }))),
    Effect.mapError(io(path))
  )
}

type Recovered = Existing & { readonly missingNewline: boolean }

/**
 * Reads an existing output: cuts a torn last line, classifies lines by custom_id and, with `retryFailed`,
 * rewrites the file without its failure lines (temp file + fsync + rename: the old file stays intact until
 * the new one is complete).
 */
const recover = (
  path: string,
  retryFailed: boolean,
  inputIds: InputIds | undefined
): Effect.Effect<Recovered, JournalError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const bytes = yield* Effect.mapError(fs.readFile(path), io(path))
    const { end, torn, missingNewline } = yield* findEnd(bytes, path)
    const lines = utf8(bytes, 0, end).split("\n")
    if (!missingNewline) lines.pop()
    const { succeeded, failedLines, parsed } = yield* classify(lines, path, inputIds)
    // Every line checked: only now is the torn line cut off (a file that is not an output is never touched).
    if (torn) yield* Effect.mapError(fs.truncate(path, end), io(path))
    if (retryFailed && failedLines.size > 0) {
      const kept = parsed.filter((line) => line.ok)
      yield* replaceAtomically(fs, path, kept.map((line) => `${line.text}\n`).join(""))
      const superseded = parsed.length - kept.length
      return { succeeded, failed: new Set<string>(), repaired: torn, superseded, missingNewline: false }
    }
    const failed = new Set([...failedLines.keys()].filter((id) => !succeeded.has(id)))
    return { succeeded, failed, repaired: torn, superseded: 0, missingNewline }
  })

const fresh: Recovered = {
  succeeded: new Set<string>(),
  failed: new Set<string>(),
  repaired: false,
  superseded: 0,
  missingNewline: false
}

const encoder = new TextEncoder()

/** The end of this turn of the event loop: the lines appended during the rest of it join the write. */
const endOfTurn = Effect.callback<void>((resume) => {
  const timer = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(timer))
})

interface Commits {
  queued: Array<string>
  /** Completed when the write holding the queued lines has. */
  batch: Deferred.Deferred<void, JournalError> | undefined
  /** Completed when a line is queued (or the journal closes): the writer's cue. */
  wake: Deferred.Deferred<void>
  failure: JournalError | undefined
  /** The appends of the write under way. */
  writing: Deferred.Deferred<void, JournalError> | undefined
  closing: boolean
  /** Lines written since the last `fsync` started. */
  dirty: boolean
  /** The background `fsync` loop, while one is sleeping or syncing. */
  syncer: Fiber.Fiber<void> | undefined
  lastSync: number
  writes: number
  written: number
}

/** One background `fsync`, a second after the last one started (by the `Clock`); whether lines came in meanwhile. */
const syncRound = (file: FileSystem.File, path: string, clock: Clock.Clock, state: Commits) =>
  Effect.gen(function* () {
    const wait = state.lastSync + 1000 - clock.currentTimeMillisUnsafe()
    if (wait > 0) yield* Effect.sleep(wait)
    state.dirty = false
    state.lastSync = clock.currentTimeMillisUnsafe()
    // uninterruptible: closing waits for an fsync under way instead of leaving it behind on the closed file
    const synced = yield* Effect.result(Effect.uninterruptible(file.sync))
    if (synced._tag === "Failure") state.failure ??= io(path)(synced.failure)
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
const syncSoon = (file: FileSystem.File, path: string, clock: Clock.Clock, state: Commits) =>
  Effect.suspend(() => {
    state.dirty = true
    if (state.syncer !== undefined) return Effect.void
    const loop = Effect.repeat(syncRound(file, path, clock, state), { while: (again) => again })
    return Effect.map(Effect.forkChild(Effect.asVoid(loop)), (fiber) => {
      // fsync is asynchronous: the loop cannot have ended before this runs
      state.syncer = fiber
    })
  })

/** Writes the lines queued during this turn in one write, and completes their appends. */
const commitOnce = (file: FileSystem.File, path: string, clock: Clock.Clock, state: Commits) =>
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
      const written = yield* Effect.result(file.writeAll(encoder.encode(lines.join(""))))
      state.writing = undefined
      if (written._tag === "Failure") state.failure ??= io(path)(written.failure)
      else {
        state.written += lines.length
        yield* syncSoon(file, path, clock, state)
      }
    }
    Deferred.doneUnsafe(done, state.failure === undefined ? Effect.void : Effect.fail(state.failure))
    return !state.closing || state.queued.length > 0
  })

/**
 * The writer ended (closed, or died of a defect): no append may wait for it any more. Those under way or queued fail,
 * and so does every later one, instead of waiting forever (their wait is uninterruptible).
 */
const writerStopped = (path: string, state: Commits, exit: Exit.Exit<unknown, unknown>) =>
  Effect.sync(() => {
    const why = Exit.isSuccess(exit)
      ? "the journal is closed"
      : `the journal's writer failed: ${ioReason(Cause.squash(exit.cause))}`
    state.failure ??= { _tag: "Io", path, message: why }
    for (const pending of [state.writing, state.batch]) {
      if (pending !== undefined) Deferred.doneUnsafe(pending, Effect.fail(state.failure))
    }
    state.writing = undefined
    state.batch = undefined
  })

/**
 * Group commit: the lines appended during one turn of the event loop are written together at its end, in one
 * `FileSystem` write, and each `append` completes when the write holding its line has; lines appended while a write
 * runs go in the next. A line is in the file before its request counts as done, as with one write per line; what a
 * kill -9 can lose is still only the requests in flight. `fsync` runs beside the writes, within a second of each
 * write and at most once a second (by the `Clock`), and on close. Once a write or an `fsync` fails, every append
 * fails with that error and nothing more is written.
 */
const groupCommit = (file: FileSystem.File, path: string) =>
  Effect.gen(function* () {
    const clock = yield* Clock.Clock
    const state: Commits = {
      queued: [],
      batch: undefined,
      wake: Deferred.makeUnsafe<void>(),
      failure: undefined,
      writing: undefined,
      closing: false,
      dirty: false,
      syncer: undefined,
      lastSync: clock.currentTimeMillisUnsafe(),
      writes: 0,
      written: 0
    }
    const writer = yield* Effect.forkScoped(
      Effect.andThen(
        Effect.repeat(commitOnce(file, path, clock, state), { while: (more) => more }),
        // the close's own fsync covers every line: a background one still sleeping is not needed
        Effect.suspend(() => (state.syncer === undefined ? Effect.void : Fiber.interrupt(state.syncer)))
      ).pipe(Effect.onExit((exit) => writerStopped(path, state, exit)))
    )
    const append = (line: string) =>
      Effect.suspend(() => {
        if (state.failure !== undefined) return Effect.fail(state.failure)
        state.queued.push(`${line}\n`)
        if (state.batch === undefined) {
          state.batch = Deferred.makeUnsafe<void, JournalError>()
          Deferred.doneUnsafe(state.wake, Effect.void)
        }
        return Effect.uninterruptible(Deferred.await(state.batch))
      })
    // Closing: the writer writes what is still queued and ends; then the file's own fsync.
    const close = Effect.suspend(() => {
      state.closing = true
      Deferred.doneUnsafe(state.wake, Effect.void)
      return Effect.andThen(Fiber.await(writer), Effect.ignore(file.sync))
    })
    const flush = Effect.suspend(() => {
      if (state.failure !== undefined) return Effect.fail(state.failure)
      return Effect.result(file.sync).pipe(
        Effect.flatMap((synced) => {
          if (synced._tag === "Failure") state.failure ??= io(path)(synced.failure)
          return state.failure === undefined ? Effect.void : Effect.fail(state.failure)
        })
      )
    })
    return { append, flush, close, writes: () => ({ writes: state.writes, lines: state.written }) }
  })

/**
 * Opens (and, on resume, repairs) the output. Refuses an existing file in mode `"new"`. The file is fsynced and
 * closed when the scope closes.
 *
 * @internal
 */
export const open = (
  path: string,
  mode: Mode,
  retryFailed: boolean,
  inputIds?: InputIds
): Effect.Effect<Journal, JournalError, Scope.Scope | FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const present = yield* Effect.mapError(fs.exists(path), io(path))
    if (present && mode === "new") return yield* Effect.fail<JournalError>({ _tag: "OutputExists", path })
    const { missingNewline, ...existing } =
      present && mode === "resume" ? yield* recover(path, retryFailed, inputIds) : fresh
    const file = yield* Effect.mapError(fs.open(path, { flag: mode === "overwrite" ? "w" : "a" }), io(path))
    if (missingNewline) yield* Effect.mapError(file.writeAll(encoder.encode("\n")), io(path))
    const commits = yield* groupCommit(file, path)
    // Finalizers run in reverse order: the queued lines are written and fsynced before the file is closed.
    yield* Effect.addFinalizer(() => commits.close)
    return { existing, append: commits.append, flush: commits.flush, writes: commits.writes }
  })
