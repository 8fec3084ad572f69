import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Journal from "../src/internal/batch/journal.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "sluice-journal-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

const line = (i: number) =>
  JSON.stringify({
    id: `batch_req_${i}`,
    custom_id: `req-${i}`,
    response: { status_code: 200, request_id: null, body: { n: i } },
    error: null
  })

describe("Batch journal: batched appends", () => {
  it.live("lines appended together share writes, and each append completes only once its line is in the file", () =>
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

  it.live("a resumed journal appends after the lines already there, batched the same way", () =>
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
})
