import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect } from "@effect/vitest"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Clock, Effect, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as Journal from "../src/internal/embed/journal.js"
import {
  advanceUntil,
  expectPaced,
  fullDiskOnce,
  live,
  type Op,
  osError,
  recording,
  virtual,
  withFiles
} from "./support/fileSystem.js"
import { tempDir as scopedTempDir } from "./support/tempDir.js"

const tempDir = scopedTempDir("sluice-embedjournal-")

const group = (from: number, size = 4) =>
  Array.from({ length: size }, (_, i) => ({ id: `doc-${from + i}`, vector: Float32Array.of(from + i, 0.5, -1) }))

const ids = (n: number) => Stream.fromIterable(Array.from({ length: n }, (_, i) => `doc-${i}`))

const lines = (path: string) =>
  Fs.readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.length > 0)

describe("Embed journal: group commit and fsync (the contract of Batch's journal)", () => {
  virtual("a group is fsynced within a second of its write even when no write follows it (jsonl and f32)", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      for (const format of ["jsonl", "f32"] as const) {
        const output = Path.join(dir, `out-${format}`)
        const ops: Array<Op> = []
        const before = yield* Effect.scoped(
          Effect.gen(function* () {
            const writer = yield* Journal.openWriter(output, format, true)
            // written at once: no fsync is due yet, and no other write comes (a rate limit)
            yield* writer.write(group(0))
            const synced = format === "f32" ? 2 : 1
            const syncs = () => ops.filter((o) => o.op === "sync").length
            yield* advanceUntil(
              () => syncs() >= synced,
              100,
              3000,
              () => syncs() > 0
            )
            return [...ops]
          })
        ).pipe(Effect.provide(recording(ops)))
        const files = format === "f32" ? [output, Journal.idsPath(output)] : [output]
        expect(before.map((o) => [o.op, o.path])).toEqual([
          ...files.map((path) => ["write", path]),
          ...files.map((path) => ["sync", path])
        ])
        // the fsyncs start within a second of the write (test time)
        expect(before.find((o) => o.op === "sync")!.at - before[0]!.at).toBeLessThanOrEqual(1000)
        // the last operation is an fsync (the background one; close adds none when nothing came after it)
        expect(ops.at(-1)?.op).toBe("sync")
      }
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  virtual("fsync at most once a second while groups are written; each write completes with its group in the file", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const output = Path.join(dir, "out.jsonl")
      const ops: Array<Op> = []
      const started = yield* Clock.currentTimeMillis
      const closing = yield* Effect.scoped(
        Effect.gen(function* () {
          const writer = yield* Journal.openWriter(output, "jsonl", true)
          for (let i = 0; i < 40; i++) {
            yield* writer.write(group(i * 4))
            // kill -9-safe: the group is in the file once its write completes
            expect(lines(output)).toHaveLength((i + 1) * 4)
            yield* TestClock.adjust("50 millis")
          }
          yield* writer.flush
          return ops.length
        })
      ).pipe(Effect.provide(recording(ops)))
      const elapsed = (yield* Clock.currentTimeMillis) - started
      const syncs = ops.slice(0, closing).filter((o) => o.op === "sync")
      expect(ops.filter((o) => o.op === "write")).toHaveLength(40)
      expect(syncs.length).toBeGreaterThanOrEqual(2) // the background ones and the flush
      // the background fsyncs: never two within a second (the last one is the flush's)
      expectPaced(syncs.slice(0, -1), elapsed)
      const out = lines(output).map((l) => JSON.parse(l) as { id: string; embedding: Array<number> })
      expect(out.map((l) => l.id)).toEqual(Array.from({ length: 160 }, (_, i) => `doc-${i}`))
      expect(out[7]!.embedding).toEqual([7, 0.5, -1])
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  live("after a write fails (ENOSPC) nothing more is written, and resume cuts the torn line", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const output = Path.join(dir, "out.jsonl")
      const results = yield* Effect.scoped(
        Effect.gen(function* () {
          const writer = yield* Journal.openWriter(output, "jsonl", true)
          return yield* Effect.forEach([0, 4, 8], (from) => Effect.result(writer.write(group(from))), {
            concurrency: 3
          })
        })
      ).pipe(Effect.provide(fullDiskOnce()))
      for (const result of results) {
        expect(result._tag).toBe("Failure")
        if (result._tag === "Failure") expect(result.failure).toMatchObject({ _tag: "BatchIoError", reason: "ENOSPC" })
      }
      const torn = Fs.readFileSync(output, "utf8")
      expect(torn.length).toBeGreaterThan(0)
      // resume keeps the whole lines of the torn write's first half and cuts the rest
      const done = yield* Journal.resume(output, "jsonl", ids(12), undefined)
      expect(done).toBe(torn.split("\n").length - 1)
      expect(Fs.readFileSync(output, "utf8")).toBe(torn.slice(0, torn.lastIndexOf("\n") + 1))
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  virtual("an fsync that fails (EIO) after the last write is reported by flush, not lost", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const output = Path.join(dir, "out.jsonl")
      const eio = osError("sync", "EIO")
      let syncs = 0
      const failing = Effect.suspend(() => {
        syncs++
        return Effect.fail(eio)
      })
      const flushed = yield* Effect.scoped(
        Effect.gen(function* () {
          const writer = yield* Journal.openWriter(output, "jsonl", true)
          yield* writer.write(group(0))
          yield* advanceUntil(() => syncs > 0, 100, 3000) // the background fsync runs, and fails
          expect(syncs).toBe(1)
          return yield* Effect.result(writer.flush)
        })
      ).pipe(Effect.provide(withFiles(() => ({ sync: failing }))))
      expect(flushed._tag).toBe("Failure")
      if (flushed._tag === "Failure") expect(flushed.failure).toMatchObject({ _tag: "BatchIoError", reason: "EIO" })
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  live("resume of an f32 output cuts a row written without its id and a torn id line", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const output = Path.join(dir, "out.f32")
      yield* Effect.scoped(
        Effect.gen(function* () {
          const writer = yield* Journal.openWriter(output, "f32", true)
          yield* writer.write(group(0, 3))
        })
      )
      // killed mid-write: one more row, and half of its id
      Fs.appendFileSync(output, Buffer.from(Float32Array.of(3, 0.5, -1).buffer))
      Fs.appendFileSync(Journal.idsPath(output), '"doc-')
      const done = yield* Journal.resume(output, "f32", ids(10), 3)
      expect(done).toBe(3)
      expect(Fs.statSync(output).size).toBe(3 * 3 * 4)
      expect(Fs.readFileSync(Journal.idsPath(output), "utf8")).toBe('"doc-0"\n"doc-1"\n"doc-2"\n')
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  live("an f32 output is every row's bytes in order and every id, across writes larger than the writer's buffer", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const output = Path.join(dir, "rows.f32")
      // 2 × 1,300 rows of 256 floats (1 KiB each): each write is larger than the 1 MiB buffer; long non-ASCII ids
      const row = (i: number) => Float32Array.from({ length: 256 }, (_, k) => i + k / 256)
      const docs = Array.from({ length: 2600 }, (_, i) => ({ id: `${"水".repeat(300)}-${i}`, vector: row(i) }))
      yield* Effect.scoped(
        Effect.gen(function* () {
          const writer = yield* Journal.openWriter(output, "f32", true)
          yield* writer.write(docs.slice(0, 1300))
          yield* writer.write(docs.slice(1300))
        })
      )
      const matrix = Fs.readFileSync(output)
      expect(matrix.length).toBe(2600 * 256 * 4)
      const floats = new Float32Array(matrix.buffer, matrix.byteOffset, matrix.length / 4)
      for (const i of [0, 1, 1023, 1024, 1299, 1300, 2599])
        expect(floats.subarray(i * 256, (i + 1) * 256)).toEqual(row(i))
      expect(floats).toEqual(Float32Array.from({ length: 2600 * 256 }, (_, j) => Math.floor(j / 256) + (j % 256) / 256))
      expect(Fs.readFileSync(Journal.idsPath(output), "utf8")).toBe(
        docs.map((d) => `${JSON.stringify(d.id)}\n`).join("")
      )
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  live(
    "JSONL lines are exactly JSON.stringify's, whatever the ids and numbers (longest floats, NaN, non-ASCII ids)",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const output = Path.join(dir, "exact.jsonl")
        // the longest float32 texts (23 characters each); NaN and ±Infinity become null; ids with characters of 2, 3
        // and 4 UTF-8 bytes and ones JSON escapes
        const longest = new Float32Array(512).fill(-1.1754943508222875e-38)
        const odd = Float32Array.of(
          Number.NaN,
          Number.POSITIVE_INFINITY,
          Number.NEGATIVE_INFINITY,
          -0,
          3.4028234663852886e38
        )
        // the writer's buffer is 1 MiB: the second write spans several of them (300 lines of ~5.9 KB of the
        // longest floats, ~1.8 MB), and one line (65,536 of them, ~1.5 MB) is longer than the buffer
        const wide = Array.from({ length: 300 }, (_, i) => ({ id: `wide-${i}`, vector: longest.slice(0, 256) }))
        const docs = [
          { id: 'quote " and \\ and \n', vector: Float32Array.of(0.1, 0.2) },
          { id: "déjà-vu", vector: longest },
          { id: "水は🚀", vector: odd },
          ...wide,
          { id: "huge", vector: new Float32Array(65_536).fill(-1.1754943508222875e-38) },
          ...group(0, 2048)
        ]
        yield* Effect.scoped(
          Effect.gen(function* () {
            const writer = yield* Journal.openWriter(output, "jsonl", true)
            // two groups: the first a short line and a long one, then the rest
            yield* writer.write(docs.slice(0, 2))
            yield* writer.write(docs.slice(2))
          })
        )
        const expected = docs.map(({ id, vector }) => `${JSON.stringify({ id, embedding: Array.from(vector) })}\n`)
        expect(Fs.readFileSync(output, "utf8")).toBe(expected.join(""))
      }).pipe(Effect.provide(NodeFileSystem.layer))
  )
})
