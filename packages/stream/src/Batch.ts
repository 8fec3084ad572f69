/**
 * Batch jobs in the OpenAI Batch API format, run through the client and its gates.
 *
 * The input is JSONL (`{custom_id, method, url, body}` per line). Every line is validated before anything is
 * sent. The output (`{id, custom_id, response, error}` per line, in completion order) is also the journal:
 * each result is appended as it completes, so a crash loses at most the requests in flight, and a run with
 * `mode: "resume"` skips every `custom_id` already there. A job stops admitting at once on a terminal
 * condition (quota, authentication, a fused circuit, the budget) or on `shutdown`/interruption, lets the
 * requests in flight finish within a grace period, and reports why it stopped; requests it did not finish
 * stay out of the output, so resuming runs them.
 *
 * `remote` runs the same input through the server-side Batch API into the same output format.
 *
 * @since 0.1.0
 */
import type { Errors, Gates, OpenAi } from "@sluice/core"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import type * as Layer from "effect/Layer"
import type * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as Input from "./internal/batch/input.js"
import * as MeterLayer from "./internal/batch/meter.js"
import * as Options from "./internal/batch/options.js"
import * as Outcome from "./internal/batch/outcome.js"
import * as Snapshot from "./internal/batch/progress.js"
import * as Remote from "./internal/batch/remote.js"
import * as Run from "./internal/batch/run.js"
import type * as Validate from "./internal/batch/validate.js"

// ---------------------------------------------------------------------------------------------------------------
// Formats
// ---------------------------------------------------------------------------------------------------------------

/**
 * The endpoints a batch line may target.
 *
 * @since 0.1.0
 * @category models
 */
export type Endpoint = Validate.Endpoint

/**
 * A validated input line.
 *
 * @since 0.1.0
 * @category models
 */
export type Request = Validate.Parsed

/**
 * One line of the output, as the OpenAI Batch API writes it. A response that arrived (2xx or not) is in
 * `response`; a failure without a response (connection, timeout, undecodable body) is in `error`.
 *
 * @since 0.1.0
 * @category models
 */
export interface OutputLine {
  readonly id: string
  readonly custom_id: string
  readonly response: {
    readonly status_code: number
    readonly request_id: string | null
    readonly body: unknown
  } | null
  readonly error: { readonly code: string; readonly message: string } | null
}

// ---------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------

/**
 * A problem with one input line.
 *
 * @since 0.1.0
 * @category models
 */
export const LineProblem = Schema.Struct({
  /** 1-based line number (0: the input as a whole). */
  line: Schema.Number,
  /** The field at fault: `custom_id`, `method`, `url`, `body.messages[0].role`, `(line)` … */
  field: Schema.String,
  problem: Schema.String,
  value: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type LineProblem = typeof LineProblem.Type

/**
 * The input has invalid lines; every one is listed. Nothing was sent and the output was not touched.
 *
 * @since 0.1.0
 * @category errors
 */
export class BatchInputInvalid extends Schema.TaggedError<BatchInputInvalid>()("BatchInputInvalid", {
  /** Every problem, in line order. */
  problems: Schema.Array(LineProblem),
  /** Non-blank lines in the input. */
  lines: Schema.Number
}) {
  /** Line numbers with at least one problem. */
  get badLines(): ReadonlyArray<number> {
    return [...new Set(this.problems.map((problem) => problem.line))]
  }
  override get message(): string {
    const shown = this.problems.slice(0, 20).map(formatProblem)
    const more = this.problems.length > shown.length ? `\n  … and ${this.problems.length - shown.length} more` : ""
    return `${this.badLines.length} of ${this.lines} input lines are invalid; nothing was sent:\n  ${shown.join("\n  ")}${more}`
  }
}

/**
 * One problem as `line 3: custom_id: missing`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatProblem = (problem: LineProblem): string =>
  `${problem.line === 0 ? "input" : `line ${problem.line}`}: ${problem.field}: ${problem.problem}${
    problem.value === undefined ? "" : ` (got ${problem.value})`
  }`

/**
 * The output file exists and neither `resume` nor `overwrite` was asked for.
 *
 * @since 0.1.0
 * @category errors
 */
export class OutputExists extends Schema.TaggedError<OutputExists>()("OutputExists", { path: Schema.String }) {
  override get message(): string {
    return `the output ${this.path} already exists: resume it (skip finished custom_ids) or overwrite it`
  }
}

/**
 * The existing output has a line that is not a batch output line (other than a torn last line, which is
 * repaired): it is left untouched.
 *
 * @since 0.1.0
 * @category errors
 */
export class OutputCorrupt extends Schema.TaggedError<OutputCorrupt>()("OutputCorrupt", {
  path: Schema.String,
  line: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return `the output ${this.path} is not a batch output at line ${this.line} (${this.reason}); fix or remove that line, or overwrite the file`
  }
}

/**
 * The output path is the input file (the same path, or the same file through a hard link or a symlink). Refused
 * in every mode before anything is sent or written: resuming would read the input as a journal, overwriting would
 * destroy it.
 *
 * @since 0.1.0
 * @category errors
 */
export class OutputIsInput extends Schema.TaggedError<OutputIsInput>()("OutputIsInput", {
  input: Schema.String,
  output: Schema.String,
  /** `"same path"`, or `"same file"` (a hard link or symlink: same device and inode). */
  how: Schema.Literals(["same path", "same file"])
}) {
  override get message(): string {
    const via = this.how === "same path" ? "" : " (a hard link or symlink to it)"
    return `the output ${this.output} is the input file ${this.input}${via}: nothing was sent and neither file was touched; write the results to another path`
  }
}

/**
 * Reading the input or writing the output failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class BatchIoError extends Schema.TaggedError<BatchIoError>()("BatchIoError", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot read or write ${this.path}: ${this.reason}`
  }
}

/**
 * The server-side batch failed as a whole (validation) or could not be created.
 *
 * @since 0.1.0
 * @category errors
 */
export class RemoteBatchFailed extends Schema.TaggedError<RemoteBatchFailed>()("RemoteBatchFailed", {
  batchId: Schema.String,
  status: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `remote batch ${this.batchId} ended with status ${this.status}: ${this.reason}`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export type BatchError = BatchInputInvalid | OutputExists | OutputCorrupt | BatchIoError

/**
 * Everything `run` can fail with besides the input stream's own errors: the {@link BatchError}s, the output being
 * the input, and options out of range (`concurrency` 0, a negative `gracePeriod` …: `Errors.InvalidOptions`).
 *
 * @since 0.1.0
 * @category errors
 */
export type RunError = BatchError | OutputIsInput | Errors.InvalidOptions

// ---------------------------------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------------------------------

/**
 * The lines of a file (UTF-8, LF or CRLF), for `run` and `remote`: read through `FileSystem` (on Node,
 * `NodeFileSystem.layer` from `@effect/platform-node`) in 64 KiB chunks, each stream element the chunk's whole lines,
 * so the input is never held whole. `run` and `remote` recognise the stream's file as the input.
 *
 * @since 0.1.0
 * @category constructors
 */
export const linesFromFile = (path: string): Stream.Stream<string, BatchIoError, FileSystem.FileSystem> =>
  Input.linesFromFile(path)

/**
 * Reads and validates every line; fails with every problem found.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = <E, R>(
  lines: Stream.Stream<string, E, R>
): Effect.Effect<ReadonlyArray<Request>, BatchInputInvalid | E, R> => Input.validate(lines)

// ---------------------------------------------------------------------------------------------------------------
// Progress and summary
// ---------------------------------------------------------------------------------------------------------------

/**
 * Why a job stopped before every request was done.
 *
 * - `budget`: a request would have crossed the budget ceiling (`BudgetExceeded`)
 * - `quota`: the account is out of quota (`QuotaExceeded`, 429 `insufficient_quota`)
 * - `auth`: the key was refused after a credentials refresh, or could not be read
 * - `circuit`: the circuit breaker's fuse blew for the key
 * - `store`: the shared gate store (Redis) stayed unreachable past its deadline (`StoreUnavailable`)
 * - `interrupted`: `shutdown` completed or the run was interrupted
 *
 * @since 0.1.0
 * @category models
 */
export interface Stopped {
  readonly reason: "budget" | "quota" | "auth" | "circuit" | "store" | "interrupted"
  readonly message: string
  /** The error that stopped the job, if one did. */
  readonly error?: Errors.OpenAiError | undefined
}

/**
 * The result of a run. `succeeded`/`failed` count lines written by this run; `skipped` were already in the
 * output; `pending` were not finished (the job stopped) and run on resume.
 *
 * @since 0.1.0
 * @category models
 */
export interface Summary {
  readonly total: number
  readonly succeeded: number
  readonly failed: number
  readonly skipped: number
  readonly pending: number
  readonly requests_sent: number
  readonly rate_limited: number
  readonly retries: number
  readonly prompt_tokens: number
  readonly completion_tokens: number
  readonly cost_usd: number
  readonly wall_s: number
  readonly stopped: Stopped | null
}

/**
 * A progress snapshot: the summary so far plus rate and ETA.
 *
 * @since 0.1.0
 * @category models
 */
export interface Progress extends Summary {
  /** Lines written so far, including skipped ones. */
  readonly done: number
  /**
   * Requests of this run started and not finished: sent and awaiting their answer, or waiting at the gates (the rate
   * limiter, a permit). Read from the counters at each snapshot, so it shows requests that hang.
   */
  readonly in_flight: number
  /** Requests finished per second by this run. */
  readonly rate_per_s: number
  /** Estimated seconds left; `null` until something has finished. */
  readonly eta_s: number | null
}

/**
 * The snapshot before anything ran.
 *
 * @since 0.1.0
 * @category constructors
 */
export const initialProgress: Progress = {
  total: 0,
  succeeded: 0,
  failed: 0,
  skipped: 0,
  pending: 0,
  requests_sent: 0,
  rate_limited: 0,
  retries: 0,
  prompt_tokens: 0,
  completion_tokens: 0,
  cost_usd: 0,
  wall_s: 0,
  stopped: null,
  done: 0,
  in_flight: 0,
  rate_per_s: 0,
  eta_s: null
}

/**
 * A `SubscriptionRef` for `options.progress`; read `SubscriptionRef.changes(ref)` for a stream of snapshots.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeProgress: Effect.Effect<SubscriptionRef.SubscriptionRef<Progress>> =
  SubscriptionRef.make(initialProgress)

/**
 * The summary as one JSON object (what `sluice batch --json` prints): `stopped` is `{reason, message}` or null.
 *
 * @since 0.1.0
 * @category formatting
 */
export const summaryJson = (summary: Summary): Record<string, unknown> => Snapshot.summaryJson(summary)

// ---------------------------------------------------------------------------------------------------------------
// Attempt counting: a Gates decorator
// ---------------------------------------------------------------------------------------------------------------

/**
 * Attempt counters.
 *
 * @since 0.1.0
 * @category models
 */
export interface MeterCounts {
  /**
   * Attempts sent: counted when the gates let the attempt through to the transport (so an attempt still in flight
   * when a job stops counts, as the server saw it), less those that provably never left (a connect timeout).
   */
  readonly requestsSent: number
  /** 429 `rate_limit_exceeded` responses. */
  readonly rateLimited: number
  /** Attempts after the first of a call that were sent (one that the gates refused, e.g. a blown fuse, is none). */
  readonly retries: number
}

/**
 * Counts every attempt the client makes. Provided by {@link layerMeter}; `run` uses it when present
 * (otherwise it derives counts from `Response.attempts`, which cannot see 429s of calls that later succeeded).
 *
 * @since 0.1.0
 * @category services
 */
export class Meter extends Context.Service<Meter, { readonly counts: Effect.Effect<MeterCounts> }>()(
  "@sluice/stream/Batch/Meter"
) {}

/**
 * Wraps the `Gates` in context with a counting decorator and provides the `Meter`. Provide it between the
 * gates and the client: `OpenAi.layer.pipe(Layer.provideMerge(Batch.layerMeter), Layer.provide(gates))`.
 *
 * An attempt counts as sent when the gates let it through to the transport (`requestsSent`; a retry when it is
 * not the call's first). The decorator also lets a job that stopped (shutdown, interruption, quota, budget …) send
 * nothing more: an attempt that reaches the gates after the stop — a request that waited for the rate limiter, a
 * retry during the grace period — is held unsent, its request stays pending, and the job's drain ends as soon as
 * the requests already sent are done. Without it, `run` can only stop starting requests.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMeter: Layer.Layer<Gates.Gates | Meter, never, Gates.Gates> = MeterLayer.layer(Meter)

// ---------------------------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------------------------

/**
 * Options of {@link run}.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  /** The output (and journal) path. Never the input file (`OutputIsInput`). */
  readonly output: string
  /**
   * The input file's path, when the lines come from a file: the output may not be that file (same path, hard link
   * or symlink). Not needed with `linesFromFile(path)`, which is recognised.
   */
  readonly input?: string | undefined
  /** `"new"` (default) refuses an existing output; `"resume"` skips finished custom_ids; `"overwrite"` truncates. */
  readonly mode?: "new" | "resume" | "overwrite" | undefined
  /** On resume, run failed lines again (their old lines are removed first, atomically). */
  readonly retryFailed?: boolean | undefined
  /** Requests in flight. Default 16. */
  readonly concurrency?: number | undefined
  /** How long in-flight requests may take to finish once the job stops. Default 10 seconds. */
  readonly gracePeriod?: Duration.Input | undefined
  /** When this completes, the job stops admitting and drains (like an interruption, but `run` returns). */
  readonly shutdown?: Effect.Effect<void> | undefined
  /**
   * Set from the job's counters when the job starts, every `progressInterval`, when it stops and when it ends (not
   * per request).
   */
  readonly progress?: SubscriptionRef.SubscriptionRef<Progress> | undefined
  /** How often `progress` is set while the job runs. Default 100 milliseconds. */
  readonly progressInterval?: Duration.Input | undefined
}

/**
 * Checks the options of {@link run}: `concurrency` an integer ≥ 1 (0 would run nothing and wait forever),
 * `gracePeriod` a duration ≥ 0, `mode` one of its values. `run` uses it before reading anything.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateRunOptions = (options: RunOptions): Result.Result<RunOptions, Errors.InvalidOptions> =>
  Options.validateRunOptions(options)

/**
 * Checks the options of {@link remote}: `pollInterval` a duration > 0, `maxRequestsPerBatch` and
 * `maxBytesPerBatch` integers ≥ 1 (above the Batch API's 50,000 requests / 200 MB they are lowered to those).
 *
 * @since 0.1.0
 * @category validation
 */
export const validateRemoteOptions = (options: RemoteOptions): Result.Result<RemoteOptions, Errors.InvalidOptions> =>
  Options.validateRemoteOptions(options)

/**
 * The output line of a failed request: a response that arrived (non-2xx) goes in `response` with an OpenAI
 * error body; a failure without one goes in `error`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const failureLine = (customId: string, error: Errors.OpenAiError): OutputLine =>
  Outcome.failureLine(customId, error)

/**
 * Runs a batch job through the `OpenAi` client (and whatever gates it was built with): validates every line in a
 * first pass, opens the output, skips finished custom_ids when resuming, and runs the rest on `concurrency` workers
 * that read the input again as they go (so memory does not grow with the input; the stream must be one that can
 * be run twice, as `linesFromFile` and `Stream.fromIterable` are), appending one output line per finished request.
 * Returns the summary; `stopped` says why it ended early. The output is read and written through `FileSystem` (on
 * Node, provide `NodeFileSystem.layer` from `@effect/platform-node`).
 *
 * @since 0.1.0
 * @category running
 */
export const run = <E, R>(
  lines: Stream.Stream<string, E, R>,
  options: RunOptions
): Effect.Effect<Summary, RunError | E, OpenAi.OpenAi | FileSystem.FileSystem | R> => Run.run(lines, options)

// ---------------------------------------------------------------------------------------------------------------
// The server-side Batch API
// ---------------------------------------------------------------------------------------------------------------

/**
 * Options of {@link remote}.
 *
 * @since 0.1.0
 * @category models
 */
export interface RemoteOptions {
  readonly output: string
  /** As in {@link RunOptions}: the input file, which the output may not be. */
  readonly input?: string | undefined
  readonly mode?: "new" | "resume" | "overwrite" | undefined
  readonly retryFailed?: boolean | undefined
  /** Between two `batches.retrieve`. Default 5 seconds. */
  readonly pollInterval?: Duration.Input | undefined
  /** When this completes, the server-side batch is cancelled and `remote` returns what finished. */
  readonly shutdown?: Effect.Effect<void> | undefined
  readonly progress?: SubscriptionRef.SubscriptionRef<Progress> | undefined
  /** Metadata of the server-side batch. */
  readonly metadata?: Readonly<Record<string, string>> | undefined
  /** Called with each server-side batch id once it is created (to log it). */
  readonly onCreated?: ((batchId: string) => Effect.Effect<void>) | undefined
  /** Requests per server-side batch: the Batch API takes at most 50,000 (the default); more are split. */
  readonly maxRequestsPerBatch?: number | undefined
  /** Bytes of one uploaded input file: the Batch API takes at most 200 MB (the default); more are split. */
  readonly maxBytesPerBatch?: number | undefined
}

/**
 * Runs the same input through the server-side Batch API: per endpoint, uploads the pending lines
 * (`files.create`, purpose `batch`; split into several files and batches beyond the API's 50,000 requests or
 * 200 MB per file), creates a batch (24 h window), polls `batches.retrieve` until it ends,
 * then downloads the output and error files and appends their lines to the output (same format, same
 * journal and resume rules as {@link run}, through `FileSystem`). Billed at the Batch API discount; results arrive
 * within 24 h.
 *
 * @since 0.1.0
 * @category running
 */
export const remote = <E, R>(
  lines: Stream.Stream<string, E, R>,
  options: RemoteOptions
): Effect.Effect<
  Summary,
  RunError | RemoteBatchFailed | Errors.OpenAiError | E,
  OpenAi.OpenAi | FileSystem.FileSystem | R
> => Remote.remote(lines, options)
