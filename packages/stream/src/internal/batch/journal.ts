/**
 * The output file as a journal: opened for append, one `write` per line (a killed process loses nothing that
 * was written), `fsync` at most once a second and on close; a torn last line is cut off before appending.
 *
 * @internal
 */
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { Effect, Semaphore } from "effect"
import type * as Scope from "effect/Scope"

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
  readonly append: (line: string) => Effect.Effect<void, JournalError>
}

const io = (path: string) => (error: unknown) =>
  ({
    _tag: "Io",
    path,
    message: (error as NodeJS.ErrnoException).code ?? (error as Error).message ?? String(error)
  }) as const

const exists = (path: string) =>
  Effect.tryPromise({ try: () => Fs.stat(path), catch: io(path) }).pipe(
    Effect.as(true),
    Effect.catchIf(
      (error) => error.message === "ENOENT",
      () => Effect.succeed(false)
    )
  )

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

/**
 * Reads an existing output: cuts a torn last line, classifies lines by custom_id and, with `retryFailed`,
 * rewrites the file without its failure lines (temp file + fsync + rename: the old file stays intact until
 * the new one is complete).
 */
const recover = (path: string, retryFailed: boolean): Effect.Effect<Existing, JournalError> =>
  Effect.gen(function* () {
    const bytes = yield* Effect.tryPromise({ try: () => Fs.readFile(path), catch: io(path) })
    const end = bytes.lastIndexOf(0x0a) + 1
    const repaired = end < bytes.length
    if (repaired) {
      yield* Effect.tryPromise({ try: () => Fs.truncate(path, end), catch: io(path) })
    }
    const text = bytes.subarray(0, end).toString("utf8")
    const lines = text.split("\n")
    lines.pop()
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
        return yield* Effect.fail<JournalError>({
          _tag: "OutputCorrupt",
          path,
          line: index + 1,
          message: `not valid JSON (${(error as Error).message})`
        })
      }
      const record = json as Record<string, unknown>
      const customId = typeof json === "object" && json !== null ? record["custom_id"] : undefined
      if (typeof customId !== "string") {
        return yield* Effect.fail<JournalError>({
          _tag: "OutputCorrupt",
          path,
          line: index + 1,
          message: "not a batch output line (no custom_id)"
        })
      }
      const ok = isSuccess(record)
      parsed.push({ text: line, customId, ok })
      if (ok) succeeded.add(customId)
      else failedLines.set(customId, [...(failedLines.get(customId) ?? []), index])
    }
    const failed = new Set([...failedLines.keys()].filter((id) => !succeeded.has(id)))
    let superseded = 0
    if (retryFailed && failedLines.size > 0) {
      const kept = parsed.filter((line) => line.ok)
      superseded = parsed.length - kept.length
      const temp = Path.join(Path.dirname(path), `.${Path.basename(path)}.${process.pid}.tmp`)
      yield* Effect.tryPromise({
        try: async () => {
          const handle = await Fs.open(temp, "w")
          try {
            await handle.writeFile(kept.map((line) => `${line.text}\n`).join(""))
            await handle.sync()
          } finally {
            await handle.close()
          }
          await Fs.rename(temp, path)
        },
        catch: io(path)
      })
      return { succeeded, failed: new Set<string>(), repaired, superseded }
    }
    return { succeeded, failed, repaired, superseded }
  })

/**
 * Opens (and, on resume, repairs) the output. Refuses an existing file in mode `"new"`. The handle is closed
 * (after an fsync) when the scope closes.
 *
 * @internal
 */
export const open = (
  path: string,
  mode: Mode,
  retryFailed: boolean
): Effect.Effect<Journal, JournalError, Scope.Scope> =>
  Effect.gen(function* () {
    const present = yield* exists(path)
    if (present && mode === "new") return yield* Effect.fail<JournalError>({ _tag: "OutputExists", path })
    const existing: Existing =
      present && mode === "resume"
        ? yield* recover(path, retryFailed)
        : { succeeded: new Set(), failed: new Set(), repaired: false, superseded: 0 }
    const handle = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => Fs.open(path, mode === "overwrite" ? "w" : "a"), catch: io(path) }),
      (handle) =>
        Effect.promise(() =>
          handle.sync().then(
            () => handle.close(),
            () => handle.close()
          )
        )
    )
    const lock = yield* Semaphore.make(1)
    let lastSync = Date.now()
    const append = (line: string) =>
      lock.withPermits(1)(
        Effect.tryPromise({
          try: async () => {
            const buffer = Buffer.from(`${line}\n`, "utf8")
            let offset = 0
            while (offset < buffer.length) {
              const { bytesWritten } = await handle.write(buffer, offset, buffer.length - offset)
              offset += bytesWritten
            }
            if (Date.now() - lastSync >= 1000) {
              lastSync = Date.now()
              await handle.sync()
            }
          },
          catch: io(path)
        })
      )
    return { existing, append }
  })
