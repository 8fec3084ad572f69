/**
 * The output of an embeddings job, which is also its journal. Vectors are written in input order, so the output
 * is always a prefix of the input: resuming checks that prefix line by line against the input's ids, cuts a torn
 * last line (the process died mid-write), and skips that many documents. Nothing to remember but a count.
 *
 * - `jsonl`: `{"id": …, "embedding": […]}` per line.
 * - `f32`: the vectors as one row-major little-endian float32 matrix in the output, and their ids, one JSON
 *   string per line, in `<output>.ids`. A row is written before its id, so the ids never run ahead of the matrix.
 *
 * @internal
 */
import * as NodeFs from "node:fs"
import * as Fs from "node:fs/promises"
import type { Line } from "./input.js"

/** A file's numbered lines (`Input.lines`, through the caller's FileSystem). @internal */
export type ReadLines = (path: string) => AsyncIterable<Line>

/** @internal */
export type OutputFormat = "jsonl" | "f32"

/** @internal */
export class Corrupt extends Error {
  constructor(
    readonly path: string,
    readonly line: number,
    readonly reason: string
  ) {
    super(reason)
  }
}

/** @internal */
export const idsPath = (output: string) => `${output}.ids`

const exists = (path: string) =>
  Fs.stat(path).then(
    () => true,
    () => false
  )

/** @internal */
export const outputExists = async (output: string, format: OutputFormat) =>
  (await exists(output)) || (format === "f32" && (await exists(idsPath(output))))

/**
 * Checks the output against the input's ids and truncates a torn end; returns how many documents are done.
 *
 * @internal
 */
export const resume = async (
  output: string,
  format: OutputFormat,
  inputIds: AsyncIterator<string>,
  dimensions: number | undefined,
  lines: ReadLines
): Promise<number> => {
  if (!(await outputExists(output, format))) return 0
  if (format === "jsonl") return resumeJsonl(output, inputIds, lines)
  return resumeF32(output, inputIds, dimensions, lines)
}

const nextId = async (inputIds: AsyncIterator<string>) => {
  const next = await inputIds.next()
  return next.done === true ? undefined : next.value
}

const resumeJsonl = async (output: string, inputIds: AsyncIterator<string>, lines: ReadLines): Promise<number> => {
  const size = (await Fs.stat(output)).size
  let offset = 0
  let done = 0
  let width: number | undefined
  let torn: number | undefined
  for await (const { line, text } of lines(output)) {
    const start = offset
    offset += Buffer.byteLength(text) + 1
    if (torn !== undefined) throw new Corrupt(output, torn, "not valid JSON, and not the last line")
    let value: { id?: unknown; embedding?: unknown }
    try {
      value = JSON.parse(text)
    } catch {
      torn = line
      offset = start
      continue
    }
    const id = await nextId(inputIds)
    if (typeof value !== "object" || value === null || typeof value.id !== "string") {
      throw new Corrupt(output, line, 'expected {"id": string, "embedding": [numbers]}')
    }
    if (value.id !== id) {
      throw new Corrupt(
        output,
        line,
        id === undefined
          ? `id ${JSON.stringify(value.id)} is past the end of the input`
          : `id ${JSON.stringify(value.id)} is not the input's document ${line} (${JSON.stringify(id)}) — is this the output of another input?`
      )
    }
    const embedding = value.embedding
    if (!Array.isArray(embedding) || embedding.length === 0 || (width !== undefined && embedding.length !== width)) {
      throw new Corrupt(output, line, `embedding is not an array of ${width ?? "some"} numbers`)
    }
    width = embedding.length
    done++
  }
  if (offset < size) await Fs.truncate(output, offset)
  else if (offset > size && size > 0) await Fs.appendFile(output, "\n") // a complete last line without its newline
  return done
}

const nativeDimensions: Record<string, number> = {
  "text-embedding-3-small": 1536,
  "text-embedding-3-large": 3072,
  "text-embedding-ada-002": 1536
}

/** The row width of an f32 output: the flag, the model's own, else what the first response brings. @internal */
export const widthOf = (model: string, dimensions: number | undefined) => dimensions ?? nativeDimensions[model]

const resumeF32 = async (
  output: string,
  inputIds: AsyncIterator<string>,
  dimensions: number | undefined,
  lines: ReadLines
): Promise<number> => {
  const ids = idsPath(output)
  if (!(await exists(output)) || !(await exists(ids))) {
    throw new Corrupt(output, 0, `an f32 output needs both ${output} and ${ids}`)
  }
  const matrixBytes = (await Fs.stat(output)).size
  let offset = 0
  let count = 0
  for await (const { line, text } of lines(ids)) {
    let id: unknown
    try {
      id = JSON.parse(text)
    } catch {
      break // torn: cut below
    }
    const expected = await nextId(inputIds)
    if (id !== expected) {
      throw new Corrupt(
        ids,
        line,
        `id ${JSON.stringify(id)} is not the input's document ${line} (${JSON.stringify(expected)})`
      )
    }
    offset += Buffer.byteLength(text) + 1
    count++
  }
  const width = dimensions ?? (count > 0 ? Math.floor(matrixBytes / 4 / count) : undefined)
  const rows = width === undefined || width === 0 ? 0 : Math.floor(matrixBytes / 4 / width)
  if (rows < count) throw new Corrupt(output, 0, `${count} ids but only ${rows} rows of ${width} floats`)
  // A row written without its id (killed between the two writes) is cut, like a torn id line.
  await Fs.truncate(output, count * (width ?? 0) * 4)
  await Fs.truncate(ids, offset)
  return count
}

/**
 * One JSONL output line. `JSON.stringify` of the numbers, measured against the alternatives on random vectors of 256
 * floats: `Float32Array.join` is 1.3-2.6× slower (a first measurement on one repeated vector said the opposite:
 * V8's number-string cache); `toPrecision(9)` (float32-exact, shorter) is 1.2-2× faster but changes the text.
 *
 * @internal
 */
export const jsonLine = (id: string, vector: Float32Array): string =>
  JSON.stringify({ id, embedding: Array.from(vector) })

/** An appending writer, fsynced at most once a second and when closed. @internal */
export interface Writer {
  readonly write: (batch: ReadonlyArray<{ readonly id: string; readonly vector: Float32Array }>) => Promise<void>
  readonly close: () => Promise<void>
}

/** @internal */
export const openWriter = async (output: string, format: OutputFormat, truncate: boolean): Promise<Writer> => {
  const flags = truncate ? "w" : "a"
  const main = await Fs.open(output, flags)
  const ids = format === "f32" ? await Fs.open(idsPath(output), flags) : undefined
  let lastSync = Date.now()
  const sync = async () => {
    await main.sync()
    await ids?.sync()
    lastSync = Date.now()
  }
  return {
    write: async (batch) => {
      if (format === "jsonl") {
        let text = ""
        for (const { id, vector } of batch) text += `${jsonLine(id, vector)}\n`
        await main.write(text)
      } else {
        const bytes = new Uint8Array(batch.reduce((n, e) => n + e.vector.byteLength, 0))
        let at = 0
        for (const { vector } of batch) {
          bytes.set(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength), at)
          at += vector.byteLength
        }
        await main.write(bytes)
        await ids!.write(batch.map((e) => `${JSON.stringify(e.id)}\n`).join(""))
      }
      if (Date.now() - lastSync > 1000) await sync()
    },
    close: async () => {
      await sync()
      await main.close()
      await ids?.close()
    }
  }
}

/** Same file (device and inode), for the output-is-input check. @internal */
export const sameFile = (a: string, b: string): boolean => {
  try {
    const x = NodeFs.statSync(a)
    const y = NodeFs.statSync(b)
    return x.dev === y.dev && x.ino === y.ino
  } catch {
    return false
  }
}
