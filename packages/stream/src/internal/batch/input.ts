/**
 * The input of a job: the lines of a file, the file behind a stream (so the output can be refused when it is the
 * input), and a whole validating read.
 *
 * @internal
 */
import { createReadStream } from "node:fs"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Api from "../../Batch.js"
import * as Validate from "./validate.js"

/** The file behind a stream made by `linesFromFile`, so `run(linesFromFile(p), …)` knows its input path. */
const inputFiles = new WeakMap<object, string>()

/** The input file of a job: `options.input`, else the file of a `linesFromFile` stream. @internal */
export const inputPathOf = (lines: object, options: { readonly input?: string | undefined }): string | undefined =>
  options.input ?? inputFiles.get(lines)

/**
 * The file in 64 KiB chunks (node:fs's stream decodes UTF-8 across chunk boundaries); each element is the chunk's
 * whole lines, so the input is never held whole and a stream element is a chunk, not a line.
 */
const chunks = async function* (path: string) {
  let rest = ""
  for await (const chunk of createReadStream(path, { encoding: "utf8", highWaterMark: 1 << 16 })) {
    const text = rest + (chunk as string)
    const end = text.lastIndexOf("\n")
    if (end === -1) rest = text
    else {
      yield text.slice(0, end)
      rest = text.slice(end + 1)
    }
  }
  if (rest.length > 0) yield rest
}

/** @internal */
export const linesFromFile = (path: string): Stream.Stream<string, Api.BatchIoError> => {
  const stream = Stream.fromAsyncIterable(
    { [Symbol.asyncIterator]: () => chunks(path) },
    (error) => new Api.BatchIoError({ path, reason: (error as NodeJS.ErrnoException).code ?? (error as Error).message })
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
