/**
 * The input of a job: the lines of a file, the file behind a stream (so the output can be refused when it is the
 * input), and a whole validating read.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Stream from "effect/Stream"
import * as Api from "../../Batch.js"
import { ioReason } from "./ioReason.js"
import * as Validate from "./validate.js"

/** The file behind a stream made by `linesFromFile`, so `run(linesFromFile(p), …)` knows its input path. */
const inputFiles = new WeakMap<object, string>()

/** The input file of a job: `options.input`, else the file of a `linesFromFile` stream. @internal */
export const inputPathOf = (lines: object, options: { readonly input?: string | undefined }): string | undefined =>
  options.input ?? inputFiles.get(lines)

/**
 * Whole lines per chunk: each element is the chunk's text up to its last newline (the rest is carried to the next),
 * so the input is never held whole and a stream element is a chunk, not a line.
 */
const wholeLines = (rest: string, chunk: string): readonly [string, ReadonlyArray<string>] => {
  const text = rest + chunk
  const end = text.lastIndexOf("\n")
  return end === -1 ? [text, []] : [text.slice(end + 1), [text.slice(0, end)]]
}

/** @internal */
export const linesFromFile = (path: string): Stream.Stream<string, Api.BatchIoError, FileSystem.FileSystem> => {
  const stream = Stream.unwrap(
    Effect.map(FileSystem.FileSystem, (fs) =>
      fs.stream(path, { chunkSize: 1 << 16 }).pipe(
        // UTF-8 decoded across chunk boundaries
        Stream.decodeText,
        Stream.mapAccum(() => "", wholeLines, { onHalt: (rest) => (rest.length > 0 ? [rest] : []) }),
        Stream.mapError((error) => new Api.BatchIoError({ path, reason: ioReason(error) }))
      )
    )
  )
  inputFiles.set(stream, path)
  return stream
}

/** @internal */
export const validate = <E, R>(
  lines: Stream.Stream<string, E, R>
): Effect.Effect<ReadonlyArray<Api.Request>, Api.BatchInputInvalid | E, R> =>
  Effect.flatMap(Stream.runCollect(lines), (chunk) => {
    const result = Validate.validate(chunk.flatMap((text) => text.split(/\r?\n/)))
    return result.problems.length > 0
      ? Effect.fail(new Api.BatchInputInvalid({ problems: result.problems, lines: result.total }))
      : Effect.succeed(result.requests)
  })
