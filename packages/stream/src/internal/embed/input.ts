/**
 * The input of an embeddings job: JSONL of `{"id": string, "text": string}`, or plain text with one document per
 * line (id = the line number). Read twice, streaming: once to check every line (nothing is sent if one is wrong),
 * once to embed. Duplicate ids are found with a set of 52-bit hashes (16 bytes a document) and confirmed by a
 * second look at the suspects only, so memory does not grow with the text. Read through `FileSystem`
 * (`Batch.linesFromFile`: 64 KiB chunks, blocks of whole lines), as batch's input is.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import * as Stream from "effect/Stream"
import * as Batch from "../../Batch.js"

/** @internal */
export type Format = "jsonl" | "text"

/** @internal */
export interface Problem {
  readonly line: number
  readonly field: string
  readonly problem: string
  readonly value?: string | undefined
}

/** @internal */
export interface Scan {
  readonly format: Format
  /** Documents (non-blank lines). */
  readonly documents: number
  readonly problems: ReadonlyArray<Problem>
}

/** @internal */
export interface Line {
  readonly line: number
  readonly text: string
}

/** A file's numbered lines (from 1; LF or CRLF), each through `f`; those it maps to `undefined` are left out. */
const eachLine = <B>(
  path: string,
  f: (line: number, text: string) => B | undefined
): Stream.Stream<B, Batch.BatchIoError, FileSystem.FileSystem> =>
  Batch.linesFromFile(path).pipe(
    Stream.mapAccum(
      () => 0,
      (before: number, block: string) => {
        const texts = block.split("\n")
        const out: Array<B> = []
        for (let i = 0; i < texts.length; i++) {
          const text = texts[i]!
          const mapped = f(before + i + 1, text.endsWith("\r") ? text.slice(0, -1) : text)
          if (mapped !== undefined) out.push(mapped)
        }
        return [before + texts.length, out]
      }
    )
  )

/** The lines of a file, numbered from 1 (LF or CRLF). @internal */
export const lines = (path: string): Stream.Stream<Line, Batch.BatchIoError, FileSystem.FileSystem> =>
  eachLine(path, (line, text) => ({ line, text }))

const show = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

/** A JSONL line's document, or its problems. @internal */
export const parseLine = (line: number, text: string): { id: string; text: string } | ReadonlyArray<Problem> => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return [{ line, field: "(line)", problem: `not valid JSON (${(error as Error).message})` }]
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return [{ line, field: "(line)", problem: 'expected an object {"id", "text"}', value: show(value) }]
  }
  const record = value as Record<string, unknown>
  const problems: Array<Problem> = []
  const id = record["id"]
  if (id === undefined) problems.push({ line, field: "id", problem: "missing" })
  else if (typeof id !== "string" || id.length === 0) {
    problems.push({ line, field: "id", problem: "expected a non-empty string", value: show(id) })
  }
  const body = record["text"]
  if (body === undefined) problems.push({ line, field: "text", problem: "missing" })
  else if (typeof body !== "string" || body.length === 0) {
    problems.push({ line, field: "text", problem: "expected a non-empty string", value: show(body) })
  }
  return problems.length > 0 ? problems : { id: id as string, text: body as string }
}

/** Two FNV-1a passes make a 52-bit hash (exactly representable in a double). */
const hash52 = (text: string): number => {
  let a = 0x811c9dc5
  let b = 0x01000193
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15)
  }
  return (a >>> 0) * 0x100000 + ((b >>> 0) & 0xfffff)
}

/** An open-addressing set of hashes in a Float64Array (0 marks a free slot; hash 0 is stored as 1). */
class HashSet {
  private slots = new Float64Array(1 << 16)
  private size = 0
  /** Adds; false when it was there. */
  add(value: number): boolean {
    const h = value === 0 ? 1 : value
    if ((this.size + 1) * 2 > this.slots.length) this.grow()
    const mask = this.slots.length - 1
    for (let i = h % this.slots.length; ; i = (i + 1) & mask) {
      const slot = this.slots[i]!
      if (slot === 0) {
        this.slots[i] = h
        this.size++
        return true
      }
      if (slot === h) return false
    }
  }
  private grow() {
    const old = this.slots
    this.slots = new Float64Array(old.length * 2)
    this.size = 0
    for (const h of old) if (h !== 0) this.add(h)
  }
}

const maxProblems = 1000

/**
 * Checks every line: the format from the first non-blank line (`{` → JSONL), then each line (JSONL: an object
 * with a non-empty string `id` and `text`, ids unique). Problems are capped at 1,000 (their count is exact).
 *
 * @internal
 */
export const scan = (
  path: string
): Effect.Effect<Scan & { readonly problemCount: number }, Batch.BatchIoError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    let format: Format | undefined
    let documents = 0
    let problemCount = 0
    const problems: Array<Problem> = []
    const add = (found: ReadonlyArray<Problem>) => {
      problemCount += found.length
      for (const problem of found) if (problems.length < maxProblems) problems.push(problem)
    }
    const ids = new HashSet()
    const suspects = new Set<number>()
    yield* forEachLine(path, (line, text) => {
      if (text.trim().length === 0) return
      format ??= text.trimStart().startsWith("{") ? "jsonl" : "text"
      documents++
      if (format === "text") return
      const parsed = parseLine(line, text)
      if ("id" in parsed) {
        const h = hash52(parsed.id)
        if (!ids.add(h)) suspects.add(h)
      } else add(parsed)
    })
    if (suspects.size > 0) {
      // Second look, at the suspects only: a hash collision is not a duplicate.
      const first = new Map<string, number>()
      yield* forEachLine(path, (line, text) => {
        if (text.trim().length === 0) return
        const parsed = parseLine(line, text)
        if (!("id" in parsed) || !suspects.has(hash52(parsed.id))) return
        const seen = first.get(parsed.id)
        if (seen === undefined) first.set(parsed.id, line)
        else add([{ line, field: "id", problem: `duplicate (first used on line ${seen})`, value: show(parsed.id) }])
      })
      problems.sort((a, b) => a.line - b.line)
    }
    return { format: format ?? "text", documents, problems, problemCount }
  })

const forEachLine = (path: string, f: (line: number, text: string) => void) =>
  Stream.runForEachArray(lines(path), (batch) =>
    Effect.sync(() => {
      for (const { line, text } of batch) f(line, text)
    })
  )

/** The documents of a checked input, in order. @internal */
export const documents = (
  path: string,
  format: Format
): Stream.Stream<{ id: string; text: string }, Batch.BatchIoError, FileSystem.FileSystem> =>
  eachLine(path, (line, text) => {
    if (text.trim().length === 0) return undefined
    if (format === "text") return { id: String(line), text }
    const parsed = parseLine(line, text)
    return "id" in parsed ? parsed : undefined
  })
