/**
 * Opening a job: the output refused when it is the input, the input validated (nothing sent or written if any line
 * is bad), the output opened as the journal, and what is left to do.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Api from "../../Batch.js"
import * as Input from "./input.js"
import * as Journal from "./journal.js"
import * as Validate from "./validate.js"

/** @internal */
export const fromJournalError = (error: Journal.JournalError): Api.BatchError =>
  error._tag === "OutputExists"
    ? new Api.OutputExists({ path: error.path })
    : error._tag === "OutputCorrupt"
      ? new Api.OutputCorrupt({ path: error.path, line: error.line, reason: error.message })
      : new Api.BatchIoError({ path: error.path, reason: error.message })

/** The journal's last `fsync`, and any write or `fsync` error it met: a job fails with it rather than report done. @internal */
export const flush = (journal: Journal.Journal): Effect.Effect<void, Api.BatchError> =>
  journal.flush.pipe(Effect.mapError(fromJournalError))

/** Appends one output line to the journal. @internal */
export const write = (journal: Journal.Journal, line: Api.OutputLine): Effect.Effect<void, Api.BatchError> =>
  journal.append(JSON.stringify(line)).pipe(Effect.mapError(fromJournalError))

/** Refuses an output that is the input file (same path, hard link or symlink) before anything is read. */
const refuseOutputIsInput = (
  lines: object,
  options: { readonly output: string; readonly input?: string | undefined }
) =>
  Effect.gen(function* () {
    const input = Input.inputPathOf(lines, options)
    if (input === undefined) return
    const how = yield* Journal.sameFile(input, options.output)
    if (how !== undefined) return yield* new Api.OutputIsInput({ input, output: options.output, how })
  })

/** @internal */
export interface JobOptions {
  readonly output: string
  readonly input?: string | undefined
  readonly mode?: Api.RunOptions["mode"]
  readonly retryFailed?: boolean | undefined
}

const openJournal = (options: JobOptions, inputIds: Journal.InputIds) =>
  Journal.open(options.output, options.mode ?? "new", options.retryFailed ?? false, inputIds).pipe(
    Effect.mapError(fromJournalError)
  )

const finished = (journal: Journal.Journal) => new Set([...journal.existing.succeeded, ...journal.existing.failed])

/**
 * What `remote` starts with: the input validated and collected (the server-side batch uploads every line anyway),
 * the output opened as the journal, and the requests still to do.
 *
 * @internal
 */
export const openJob = <E, R>(lines: Stream.Stream<string, E, R>, options: JobOptions) =>
  Effect.gen(function* () {
    yield* refuseOutputIsInput(lines, options)
    const requests = yield* Input.validate(lines)
    const journal = yield* openJournal(options, new Set(requests.map((request) => request.customId)))
    const done = finished(journal)
    const pending = requests.filter((request) => !done.has(request.customId))
    return { requests, journal, pending, skipped: requests.length - pending.length }
  })

/** The first, validating pass: every problem, and the custom_ids with their line numbers (no request is kept). */
const scanInput = <E, R>(lines: Stream.Stream<string, E, R>) =>
  Effect.gen(function* () {
    const scan = Validate.scan()
    yield* Stream.runForEachArray(lines, (texts) =>
      Effect.sync(() => {
        for (const text of texts) scan.feed(text)
      })
    )
    scan.finish()
    if (scan.problems.length > 0) {
      return yield* new Api.BatchInputInvalid({ problems: scan.problems, lines: scan.total() })
    }
    return scan.ids
  })

/**
 * What `run` starts with: a first, validating pass over the input that keeps only the custom_ids and their line
 * numbers, then the output opened as the journal. The lines are read again, one chunk at a time, by the run itself.
 *
 * @internal
 */
export const openStreamingJob = <E, R>(lines: Stream.Stream<string, E, R>, options: JobOptions) =>
  Effect.gen(function* () {
    yield* refuseOutputIsInput(lines, options)
    // The id → line map serves the journal's "is this id in the input" too: no second O(lines) copy as a Set.
    const ids = yield* scanInput(lines)
    const journal = yield* openJournal(options, ids)
    const done = finished(journal)
    return { ids, total: ids.size, journal, done, pending: ids.size - done.size, skipped: done.size }
  })

/** @internal */
export type StreamingJob = Effect.Success<ReturnType<typeof openStreamingJob>>
