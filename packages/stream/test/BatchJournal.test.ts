import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect } from "@effect/vitest"
import {
  advanceUntil,
  expectPaced,
  fullDiskOnce,
  type Op,
  live,
  osError,
  recording,
  virtual,
  withFiles
} from "./support/fileSystem.js"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Clock, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as Journal from "../src/internal/batch/journal.js"
import { tempDir as scopedTempDir } from "./support/tempDir.js"

const tempDir = scopedTempDir("sluice-journal-")

const line = (i: number) =>
  JSON.stringify({
    id: `batch_req_${i}`,
    custom_id: `req-${i}`,
    response: { status_code: 200, request_id: null, body: { n: i } },
    error: null
  })

describe("Batch journal: batched appends", () => {
  live("lines appended together share writes, and each append completes only once its line is in the file", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const path = Path.join(dir, "out.jsonl")
      const lines = 500
      const written = yield* Effect.scoped(
        Effect.gen(function* () {
          const journal = yield* Journal.open(path, "new", false)
          yield* Effect.forEach(
            Array.from({ length: lines }, (_, i) => i),
            (i) =>
              Effect.map(journal.append(line(i)), () => {
                // durable as far as a kill -9 goes: the line is in the file when its append completes
                expect(Fs.readFileSync(path, "utf8").includes(`${line(i)}\n`)).toBe(true)
              }),
            { concurrency: 64, discard: true }
          )
          return journal.writes()
        })
      )
      expect(written.lines).toBe(lines)
      // group commit: fewer writes than lines (64 appends at a time meet one write under way)
      expect(written.writes).toBeLessThan(lines / 2)
      const text = Fs.readFileSync(path, "utf8")
      const out = text.split("\n").filter((l) => l.length > 0)
      expect(out).toHaveLength(lines)
      expect(new Set(out).size).toBe(lines)
      expect(out.every((l) => JSON.parse(l).custom_id.startsWith("req-"))).toBe(true)
      expect(text.endsWith("\n")).toBe(true)
    })
  )

  live("a resumed journal appends after the lines already there, batched the same way", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const path = Path.join(dir, "out.jsonl")
      Fs.writeFileSync(path, `${line(0)}\n${line(1).slice(0, 20)}`) // a torn last line
      const ids = new Set(Array.from({ length: 10 }, (_, i) => `req-${i}`))
      yield* Effect.scoped(
        Effect.gen(function* () {
          const journal = yield* Journal.open(path, "resume", false, ids)
          expect([...journal.existing.succeeded]).toEqual(["req-0"])
          expect(journal.existing.repaired).toBe(true)
          yield* Effect.forEach([1, 2, 3, 4], (i) => journal.append(line(i)), { concurrency: 4, discard: true })
        })
      )
      const out = Fs.readFileSync(path, "utf8")
        .split("\n")
        .filter((l) => l.length > 0)
      expect(out.map((l) => JSON.parse(l).custom_id).sort()).toEqual(["req-0", "req-1", "req-2", "req-3", "req-4"])
    })
  )

  virtual("fsync: at most once a second while lines are appended, and once more on close after the last write", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const path = Path.join(dir, "out.jsonl")
      const ops: Array<Op> = []
      const started = yield* Clock.currentTimeMillis
      const closing = yield* Effect.scoped(
        Effect.gen(function* () {
          const journal = yield* Journal.open(path, "new", false)
          // one line every 50 ms of test time for 2.5 s: 50 writes, each in its own turn
          for (let i = 0; i < 50; i++) yield* Effect.andThen(journal.append(line(i)), TestClock.adjust("50 millis"))
          return ops.length
        })
      ).pipe(Effect.provide(recording(ops)))
      const elapsed = (yield* Clock.currentTimeMillis) - started
      const during = ops.slice(0, closing)
      const syncs = during.filter((o) => o.op === "sync")
      expect(during.filter((o) => o.op === "write")).toHaveLength(50)
      // periodic: at least one while the job ran, never two within a second
      expect(syncs.length).toBeGreaterThanOrEqual(1)
      expectPaced(syncs, elapsed)
      // on close: an fsync after the last write
      expect(ops.at(-1)?.op).toBe("sync")
      expect(
        Fs.readFileSync(path, "utf8")
          .split("\n")
          .filter((l) => l.length > 0)
      ).toHaveLength(50)
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  virtual("a line is fsynced within a second of its write even when no write follows it", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const path = Path.join(dir, "out.jsonl")
      const ops: Array<Op> = []
      const before = yield* Effect.scoped(
        Effect.gen(function* () {
          const journal = yield* Journal.open(path, "new", false)
          // written at once: no fsync is due yet, and no other write comes
          yield* journal.append(line(0))
          yield* advanceUntil(() => ops.some((o) => o.op === "sync"), 100, 3000)
          return [...ops]
        })
      ).pipe(Effect.provide(recording(ops)))
      expect(before.map((o) => o.op)).toEqual(["write", "sync"])
      expect(before[1]!.at - before[0]!.at).toBeLessThanOrEqual(1000)
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  live("after a write fails (ENOSPC) nothing more is written, so resume only cuts off the torn line", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const path = Path.join(dir, "out.jsonl")
      const ids = new Set(Array.from({ length: 10 }, (_, i) => `req-${i}`))
      const results = yield* Effect.scoped(
        Effect.gen(function* () {
          const journal = yield* Journal.open(path, "new", false)
          const first = yield* Effect.forkChild(Effect.result(journal.append(line(0))))
          // queued while the failing write is under way: the next write would have held them
          yield* Effect.sleep("20 millis")
          const rest = yield* Effect.forEach([1, 2, 3], (i) => Effect.result(journal.append(line(i))), {
            concurrency: 3
          })
          return [yield* Fiber.join(first), ...rest]
        })
      ).pipe(Effect.provide(fullDiskOnce()))
      for (const result of results) {
        expect(result._tag).toBe("Failure")
        if (result._tag === "Failure") expect(result.failure).toEqual({ _tag: "Io", path, message: "ENOSPC" })
      }
      // only the torn half of the first line: no whole line glued to it
      expect(Fs.readFileSync(path, "utf8")).toBe(line(0).slice(0, (line(0).length + 1) >> 1))
      const resumed = yield* Effect.scoped(Journal.open(path, "resume", false, ids))
      expect(resumed.existing.repaired).toBe(true)
      expect(resumed.existing.succeeded.size).toBe(0)
      expect(Fs.readFileSync(path, "utf8")).toBe("")
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  live("a writer that dies of a defect fails the appends waiting for it instead of leaving them hanging", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const path = Path.join(dir, "out.jsonl")
      const broken = withFiles(() => ({
        writeAll: () => {
          throw new Error("a bug in the file layer")
        }
      }))
      const [first, later] = yield* Effect.scoped(
        Effect.gen(function* () {
          const journal = yield* Journal.open(path, "new", false)
          const first = yield* Effect.flip(journal.append(line(0)))
          return [first, yield* Effect.flip(journal.append(line(1)))] as const
        })
      ).pipe(Effect.provide(broken), Effect.timeout("5 seconds"))
      expect(first).toEqual({ _tag: "Io", path, message: "the journal's writer failed: a bug in the file layer" })
      expect(later).toEqual(first)
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  live("retryFailed: a rewrite that runs out of space leaves the output as it was and no temp file behind", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const path = Path.join(dir, "out.jsonl")
      const failedLine = JSON.stringify({
        id: "batch_req_1",
        custom_id: "req-1",
        response: null,
        error: { code: "server_error", message: "boom" }
      })
      const before = `${line(0)}\n${failedLine}\n`
      Fs.writeFileSync(path, before)
      const enospc = osError("writeAll", "ENOSPC")
      const tempFull = withFiles((file, opened) => ({
        writeAll: (buffer) => (opened.endsWith(".tmp") ? Effect.fail(enospc) : file.writeAll(buffer))
      }))
      const ids = new Set(["req-0", "req-1"])
      const error = yield* Effect.flip(Effect.scoped(Journal.open(path, "resume", true, ids))).pipe(
        Effect.provide(tempFull)
      )
      expect(error).toEqual({ _tag: "Io", path, message: "ENOSPC" })
      expect(Fs.readFileSync(path, "utf8")).toBe(before)
      expect(Fs.readdirSync(dir)).toEqual(["out.jsonl"])
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )
})
