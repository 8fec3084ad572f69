/**
 * The budget's JSONL store of settled charges (see `Budget.makeFileStore`).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import type { PlatformError } from "effect/PlatformError"
import * as Semaphore from "effect/Semaphore"
import type { Charge, Store } from "../../Budget.js"

const isCharge = (value: unknown): value is Charge => {
  if (typeof value !== "object" || value === null) return false
  const c = value as Record<string, unknown>
  return typeof c["scope"] === "string" && typeof c["usd"] === "number" && typeof c["tokens"] === "number"
}

/** The charges in the file; a torn last line is cut off the file, an unreadable line skipped. */
const load = (fs: FileSystem.FileSystem, path: string) =>
  Effect.gen(function* () {
    const charges: Array<Charge> = []
    if (!(yield* fs.exists(path))) return charges
    const text = yield* fs.readFileString(path)
    const end = text.lastIndexOf("\n") + 1
    if (end < text.length) {
      yield* Effect.logWarning("budget file: dropping a torn last line").pipe(Effect.annotateLogs({ path }))
      yield* fs.truncate(path, Buffer.byteLength(text.slice(0, end)))
    }
    for (const line of text.slice(0, end).split("\n")) {
      if (line.trim().length === 0) continue
      try {
        const parsed: unknown = JSON.parse(line)
        if (isCharge(parsed)) charges.push(parsed)
      } catch {
        yield* Effect.logWarning("budget file: skipping an unreadable line").pipe(Effect.annotateLogs({ path }))
      }
    }
    return charges
  })

export const make = (path: string): Effect.Effect<Store, PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const lock = yield* Semaphore.make(1)
    const charges = yield* load(fs, path)
    return {
      load: Effect.succeed(charges),
      append: (charge) =>
        lock.withPermits(1)(
          fs
            .writeFileString(path, `${JSON.stringify(charge)}\n`, { flag: "a" })
            .pipe(
              Effect.catch((error) =>
                Effect.logError("budget file: could not append a charge").pipe(
                  Effect.annotateLogs({ path, error: error.message })
                )
              )
            )
        )
    }
  })
