/**
 * The output of an embeddings job, which is also its journal. Vectors are written in input order, so the output
 * is always a prefix of the input: resuming checks that prefix line by line against the input's ids, cuts a torn
 * last line (the process died mid-write), and skips that many documents. Nothing to remember but a count.
 *
 * - `jsonl`: `{"id": …, "embedding": […]}` per line.
 * - `f32`: the vectors as one row-major little-endian float32 matrix in the output, and their ids, one JSON
 *   string per line, in `<output>.ids`. A row is written before its id, so the ids never run ahead of the matrix.
 *
 * Both go through `FileSystem`, and the writes through the group-commit writer Batch's journal uses
 * (`internal/groupCommit.ts`): a group is in the file before it counts as written, `fsync` follows each write within
 * a second (by the `Clock`), at most once a second, and on close; after a failed write nothing more is written.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Batch from "../../Batch.js"
import * as GroupCommit from "../groupCommit.js"
import * as WriteBuffer from "../writeBuffer.js"
import { ioReason } from "../batch/ioReason.js"
import * as Input from "./input.js"

/** @internal */
export type OutputFormat = "jsonl" | "f32"

/** @internal */
export const idsPath = (output: string) => `${output}.ids`

type Failure = Batch.BatchIoError | Batch.OutputCorrupt

const io =
  (path: string) =>
  (error: unknown): Batch.BatchIoError =>
    error instanceof Batch.BatchIoError ? error : new Batch.BatchIoError({ path, reason: ioReason(error) })

const corrupt = (path: string, line: number, reason: string) =>
  Effect.fail(new Batch.OutputCorrupt({ path, line, reason }))

const exists = (path: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    return yield* Effect.mapError(fs.exists(path), io(path))
  })

const sizeOf = (path: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    return Number((yield* Effect.mapError(fs.stat(path), io(path))).size)
  })

const truncate = (path: string, length: number) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    yield* Effect.mapError(fs.truncate(path, length), io(path))
  })

/** @internal */
export const outputExists = (
  output: string,
  format: OutputFormat
): Effect.Effect<boolean, Batch.BatchIoError, FileSystem.FileSystem> =>
  Effect.flatMap(exists(output), (found) =>
    found || format === "jsonl" ? Effect.succeed(found) : exists(idsPath(output))
  )

/** The next input id (`undefined` past the end). */
type NextId = Effect.Effect<string | undefined, Batch.BatchIoError>

/** The input's ids, one at a time, for checking the output against them; `close` stops reading the input. */
const idReader = (ids: Stream.Stream<string, Batch.BatchIoError, FileSystem.FileSystem>, path: string) =>
  Effect.map(Stream.toAsyncIterableEffect(ids), (iterable) => {
    const iterator = iterable[Symbol.asyncIterator]()
    const next: NextId = Effect.tryPromise({
      try: () => iterator.next().then((next) => (next.done === true ? undefined : next.value)),
      catch: io(path)
    })
    const close = Effect.ignore(Effect.tryPromise(() => iterator.return?.() ?? Promise.resolve(undefined)))
    return { next, close }
  })

/**
 * Checks the output against the input's ids and truncates a torn end; returns how many documents are done.
 *
 * @internal
 */
export const resume = (
  output: string,
  format: OutputFormat,
  inputIds: Stream.Stream<string, Batch.BatchIoError, FileSystem.FileSystem>,
  dimensions: number | undefined
): Effect.Effect<number, Failure, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    if (!(yield* outputExists(output, format))) return 0
    const ids = yield* idReader(inputIds, output)
    const done = format === "jsonl" ? resumeJsonl(output, ids.next) : resumeF32(output, ids.next, dimensions)
    return yield* Effect.ensuring(done, ids.close)
  })

/** What is wrong with a parsed JSONL output line, given the input's id at that line; `undefined` if nothing. */
const jsonlProblem = (value: unknown, id: string | undefined, line: number, width: number | undefined) => {
  const record = value as { id?: unknown; embedding?: unknown } | null
  if (typeof record !== "object" || record === null || typeof record.id !== "string") {
    return 'expected {"id": string, "embedding": [numbers]}'
  }
  if (record.id !== id) {
    return id === undefined
      ? `id ${JSON.stringify(record.id)} is past the end of the input`
      : `id ${JSON.stringify(record.id)} is not the input's document ${line} (${JSON.stringify(id)}) — is this the output of another input?`
  }
  const embedding = record.embedding
  if (!Array.isArray(embedding) || embedding.length === 0 || (width !== undefined && embedding.length !== width)) {
    return `embedding is not an array of ${width ?? "some"} numbers`
  }
  return undefined
}

const resumeJsonl = (output: string, nextId: NextId) =>
  Effect.gen(function* () {
    const size = yield* sizeOf(output)
    const state = { offset: 0, done: 0, width: undefined as number | undefined, torn: undefined as number | undefined }
    yield* Stream.runForEach(Input.lines(output), ({ line, text }) =>
      Effect.gen(function* () {
        const start = state.offset
        state.offset += Buffer.byteLength(text) + 1
        if (state.torn !== undefined) return yield* corrupt(output, state.torn, "not valid JSON, and not the last line")
        let value: unknown
        try {
          value = JSON.parse(text)
        } catch {
          state.torn = line
          state.offset = start
          return
        }
        const problem = jsonlProblem(value, yield* nextId, line, state.width)
        if (problem !== undefined) return yield* corrupt(output, line, problem)
        state.width = (value as { embedding: Array<unknown> }).embedding.length
        state.done++
      })
    )
    if (state.offset < size) yield* truncate(output, state.offset)
    else if (state.offset > size && size > 0) {
      // a complete last line without its newline
      const fs = yield* FileSystem.FileSystem
      yield* Effect.mapError(fs.writeFile(output, encoder.encode("\n"), { flag: "a" }), io(output))
    }
    return state.done
  })

const nativeDimensions: Record<string, number> = {
  "text-embedding-3-small": 1536,
  "text-embedding-3-large": 3072,
  "text-embedding-ada-002": 1536
}

/** The row width of an f32 output: the flag, the model's own, else what the first response brings. @internal */
export const widthOf = (model: string, dimensions: number | undefined) => dimensions ?? nativeDimensions[model]

const resumeF32 = (output: string, nextId: NextId, dimensions: number | undefined) =>
  Effect.gen(function* () {
    const ids = idsPath(output)
    if (!(yield* exists(output)) || !(yield* exists(ids))) {
      return yield* corrupt(output, 0, `an f32 output needs both ${output} and ${ids}`)
    }
    const matrixBytes = yield* sizeOf(output)
    const state = { offset: 0, count: 0, torn: false }
    yield* Stream.runForEach(Input.lines(ids), ({ line, text }) =>
      Effect.gen(function* () {
        if (state.torn) return
        let id: unknown
        try {
          id = JSON.parse(text)
        } catch {
          state.torn = true // cut below
          return
        }
        const expected = yield* nextId
        if (id !== expected) {
          const reason = `id ${JSON.stringify(id)} is not the input's document ${line} (${JSON.stringify(expected)})`
          return yield* corrupt(ids, line, reason)
        }
        state.offset += Buffer.byteLength(text) + 1
        state.count++
      })
    )
    const { count } = state
    const width = dimensions ?? (count > 0 ? Math.floor(matrixBytes / 4 / count) : undefined)
    const rows = width === undefined || width === 0 ? 0 : Math.floor(matrixBytes / 4 / width)
    if (rows < count) return yield* corrupt(output, 0, `${count} ids but only ${rows} rows of ${width} floats`)
    // A row written without its id (killed between the two writes) is cut, like a torn id line.
    yield* truncate(output, count * (width ?? 0) * 4)
    yield* truncate(ids, state.offset)
    return count
  })

/**
 * One JSONL output line. `JSON.stringify` of the numbers, measured against the alternatives on random vectors of 256
 * floats: `Float32Array.join` is 1.3-2.6× slower (a first measurement on one repeated vector said the opposite:
 * V8's number-string cache); `toPrecision(9)` (float32-exact, shorter) is 1.2-2× faster but changes the text.
 * The numbers are copied by index into `numbers` (a scratch array the writer reuses line after line), not with
 * `Array.from`, whose iterator allocates a result object per float (282 of 839 MiB allocated in a 20,000-document
 * run: decision 0013).
 *
 * @internal
 */
export const jsonLine = (id: string, vector: Float32Array, numbers: Array<number> = []): string => {
  numbers.length = vector.length
  for (let i = 0; i < vector.length; i++) numbers[i] = vector[i] as number
  return JSON.stringify({ id, embedding: numbers })
}

/** @internal */
export type Embedded = { readonly id: string; readonly vector: Float32Array }

/**
 * An appending writer (group commit: `write` completes once its group is in the file; `fsync` within a second of
 * each write, at most once a second, and when the scope closes). @internal
 */
export interface Writer {
  readonly write: (batch: ReadonlyArray<Embedded>) => Effect.Effect<void, Batch.BatchIoError>
  /** Once the last group is written: an `fsync`, then the first write or `fsync` error, if any. */
  readonly flush: Effect.Effect<void, Batch.BatchIoError>
}

const encoder = new TextEncoder()

/**
 * Where the groups go: the JSONL output, or the matrix and then (a row before its id) the ids file. Each file is
 * written through its own reused buffer (`internal/writeBuffer.ts`); a group can take several writes, and counts as
 * written once all have completed (a torn last line or row is cut on resume).
 */
const targetOf = (
  main: FileSystem.File,
  ids: FileSystem.File | undefined
): GroupCommit.Target<ReadonlyArray<Embedded>> => {
  const out = WriteBuffer.make(main)
  if (ids === undefined) {
    const numbers: Array<number> = []
    return {
      write: (groups) =>
        Effect.gen(function* () {
          for (const group of groups)
            for (const { id, vector } of group) yield* out.text(`${jsonLine(id, vector, numbers)}\n`)
          yield* out.flush
        }),
      sync: main.sync
    }
  }
  const idsOut = WriteBuffer.make(ids)
  return {
    write: (groups) =>
      Effect.gen(function* () {
        for (const group of groups) {
          for (const { vector } of group)
            yield* out.bytes(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength))
        }
        yield* out.flush
        for (const group of groups) for (const { id } of group) yield* idsOut.text(`${JSON.stringify(id)}\n`)
        yield* idsOut.flush
      }),
    sync: Effect.andThen(main.sync, ids.sync)
  }
}

/**
 * Opens the output (and, for `f32`, its ids file) for appending, or truncated. The writes are flushed, fsynced and
 * the files closed when the scope closes.
 *
 * @internal
 */
export const openWriter = (
  output: string,
  format: OutputFormat,
  truncateFirst: boolean
): Effect.Effect<Writer, Batch.BatchIoError, Scope.Scope | FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const flag = truncateFirst ? "w" : "a"
    const main = yield* Effect.mapError(fs.open(output, { flag }), io(output))
    const ids =
      format === "f32" ? yield* Effect.mapError(fs.open(idsPath(output), { flag }), io(idsPath(output))) : undefined
    const commits = yield* GroupCommit.make(
      targetOf(main, ids),
      (reason) => new Batch.BatchIoError({ path: output, reason })
    )
    // Finalizers run in reverse order: what is queued is written and fsynced before the files are closed.
    yield* Effect.addFinalizer(() => commits.close)
    return { write: commits.append, flush: commits.flush }
  })
