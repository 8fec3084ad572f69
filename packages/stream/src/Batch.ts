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
import { randomBytes } from "node:crypto"
import { createReadStream } from "node:fs"
import type { Batches, ChatCompletions, Embeddings, Responses } from "@sluice/core"
import { type Errors, Gates, OpenAi } from "@sluice/core"
import * as Options from "@sluice/core/Options"
import * as Pricing from "@sluice/core/Pricing"
import * as Usage from "@sluice/core/Usage"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Pull from "effect/Pull"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Semaphore from "effect/Semaphore"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as Journal from "./internal/batch/journal.js"
import * as Validate from "./internal/batch/validate.js"

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

const fromJournalError = (error: Journal.JournalError): BatchError =>
  error._tag === "OutputExists"
    ? new OutputExists({ path: error.path })
    : error._tag === "OutputCorrupt"
      ? new OutputCorrupt({ path: error.path, line: error.line, reason: error.message })
      : new BatchIoError({ path: error.path, reason: error.message })

// ---------------------------------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------------------------------

/**
 * The lines of a file (UTF-8, LF or CRLF), for `run` and `remote`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const linesFromFile = (path: string): Stream.Stream<string, BatchIoError> => {
  // Read in 64 KiB chunks (node:fs's stream decodes UTF-8 across chunk boundaries); each element is the chunk's
  // whole lines, so the input is never held whole and a stream element is a chunk, not a line.
  const chunks = async function* () {
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
  const stream = Stream.fromAsyncIterable(
    { [Symbol.asyncIterator]: () => chunks() },
    (error) => new BatchIoError({ path, reason: (error as NodeJS.ErrnoException).code ?? (error as Error).message })
  )
  inputFiles.set(stream, path)
  return stream
}

/** The file behind a stream made by `linesFromFile`, so `run(linesFromFile(p), …)` knows its input path. */
const inputFiles = new WeakMap<object, string>()

/**
 * The input file of a job: `options.input`, else the file of a `linesFromFile` stream.
 */
const inputPathOf = (lines: object, options: { readonly input?: string | undefined }): string | undefined =>
  options.input ?? inputFiles.get(lines)

/**
 * Reads and validates every line; fails with every problem found.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = <E, R>(
  lines: Stream.Stream<string, E, R>
): Effect.Effect<ReadonlyArray<Request>, BatchInputInvalid | E, R> =>
  Effect.flatMap(Stream.runCollect(lines), (chunk) => {
    const result = Validate.validate(chunk.flatMap((text) => text.split(/\r?\n/)))
    return result.problems.length > 0
      ? Effect.fail(new BatchInputInvalid({ problems: result.problems, lines: result.total }))
      : Effect.succeed(result.requests)
  })

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
   * limiter, a permit). Published when each starts and when it ends, so it shows requests that hang.
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
export const summaryJson = (summary: Summary): Record<string, unknown> => ({
  total: summary.total,
  succeeded: summary.succeeded,
  failed: summary.failed,
  skipped: summary.skipped,
  pending: summary.pending,
  requests_sent: summary.requests_sent,
  rate_limited: summary.rate_limited,
  retries: summary.retries,
  prompt_tokens: summary.prompt_tokens,
  completion_tokens: summary.completion_tokens,
  cost_usd: Math.round(summary.cost_usd * 1e6) / 1e6,
  wall_s: Math.round(summary.wall_s * 100) / 100,
  stopped: summary.stopped === null ? null : { reason: summary.stopped.reason, message: summary.stopped.message }
})

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

const sentBy = (error: Errors.OpenAiError): boolean =>
  ("status" in error && typeof error.status === "number") ||
  error._tag === "ConnectionFailed" ||
  error._tag === "Timeout" ||
  error._tag === "ResponseDecodeFailed"

/**
 * What a running job tells the gates decorator of {@link layerMeter}, through the fiber of each of its requests:
 * whether the job has stopped (then no attempt is let through: it waits, unsent, until the job's drain ends it),
 * and when the request's first attempt is sent or held.
 */
interface Admission {
  readonly stopped: () => boolean
  /** An attempt of this request was let through to the transport. */
  readonly sent: () => void
  /** An attempt of this request was held because the job stopped. */
  readonly held: Effect.Effect<void>
}

/** The job's `Admission`, in the fiber of each of its requests (none outside `run`). */
const CurrentAdmission = Context.Reference<Admission | undefined>("@sluice/stream/Batch/CurrentAdmission", {
  defaultValue: () => undefined
})

/** Whether {@link layerMeter}'s decorator is in the gates of the client `run` uses (it then holds attempts). */
const Gated = Context.Reference<boolean>("@sluice/stream/Batch/Gated", { defaultValue: () => false })

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
export const layerMeter: Layer.Layer<Gates.Gates | Meter, never, Gates.Gates> = Layer.effectContext(
  Effect.gen(function* () {
    const inner = yield* Gates.Gates
    const counts = { requestsSent: 0, rateLimited: 0, retries: 0 }
    const hold = (admission: Admission) => Effect.andThen(admission.held, Effect.never)
    const metered = (call: Gates.Call): Gates.Call => ({
      ...call,
      attempt: (keyId, send) =>
        Effect.flatMap(Effect.service(CurrentAdmission), (admission) => {
          if (admission?.stopped()) return hold(admission)
          const counted = Effect.suspend(() => {
            // stopped while it waited for the limiter or a permit: still unsent
            if (admission?.stopped()) return hold(admission)
            counts.requestsSent++
            if (call.progress.attempts > 1) counts.retries++
            admission?.sent()
            return send
          })
          return Effect.tapError(call.attempt(keyId, counted), (error) =>
            Effect.sync(() => {
              // refused before the connection was made: it never reached the server
              if (error._tag === "Timeout" && error.phase === "connect") counts.requestsSent--
              if (error._tag === "RateLimited") counts.rateLimited++
            })
          )
        })
    })
    const gates: Gates.Gates["Service"] = { admit: (info) => Effect.map(inner.admit(info), metered) }
    return Context.make(Gates.Gates, gates).pipe(
      Context.add(Meter, { counts: Effect.sync(() => ({ ...counts })) }),
      Context.add(Gated, true)
    )
  })
)

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
  orProblem(
    options,
    Options.first(
      checkMode(options.mode),
      Options.integer("concurrency", options.concurrency, 1),
      Options.duration("gracePeriod", options.gracePeriod, false),
      Options.duration("progressInterval", options.progressInterval, true)
    )
  )

/**
 * Checks the options of {@link remote}: `pollInterval` a duration > 0, `maxRequestsPerBatch` and
 * `maxBytesPerBatch` integers ≥ 1 (above the Batch API's 50,000 requests / 200 MB they are lowered to those).
 *
 * @since 0.1.0
 * @category validation
 */
export const validateRemoteOptions = (options: RemoteOptions): Result.Result<RemoteOptions, Errors.InvalidOptions> =>
  orProblem(
    options,
    Options.first(
      checkMode(options.mode),
      Options.duration("pollInterval", options.pollInterval, true),
      Options.integer("maxRequestsPerBatch", options.maxRequestsPerBatch, 1),
      Options.integer("maxBytesPerBatch", options.maxBytesPerBatch, 1)
    )
  )

const checkMode = (mode: unknown) => Options.oneOf("mode", mode, ["new", "resume", "overwrite"])

const orProblem = <A>(value: A, problem: Errors.InvalidOptions | undefined): Result.Result<A, Errors.InvalidOptions> =>
  problem === undefined ? Result.succeed(value) : Result.fail(problem)

// Output line ids: `batch_req_` and 24 hex digits, as before, but from one random 64-bit prefix per process plus
// a 32-bit counter (a fresh prefix when it wraps) instead of 12 random bytes per line (about 15 us each, decision
// 0007). Unique across runs and resumes because each process draws its own prefix.
let idPrefix = ""
let idCounter = 0x1_0000_0000
const newId = () => {
  if (idCounter === 0x1_0000_0000) {
    idPrefix = `batch_req_${randomBytes(8).toString("hex")}`
    idCounter = 0
  }
  return `${idPrefix}${(idCounter++).toString(16).padStart(8, "0")}`
}

const snake = (tag: string) => tag.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase()

/**
 * The output line of a failed request: a response that arrived (non-2xx) goes in `response` with an OpenAI
 * error body; a failure without one goes in `error`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const failureLine = (customId: string, error: Errors.OpenAiError): OutputLine => {
  const status = "status" in error ? error.status : undefined
  if (typeof status === "number" && (status < 200 || status >= 300)) {
    const fields = error as { code?: string; type?: string; param?: string; requestId?: string; message: string }
    return {
      id: newId(),
      custom_id: customId,
      response: {
        status_code: status,
        request_id: fields.requestId ?? null,
        body: {
          error: {
            message: fields.message,
            type: fields.type ?? null,
            param: fields.param ?? null,
            code: fields.code ?? null
          }
        }
      },
      error: null
    }
  }
  return {
    id: newId(),
    custom_id: customId,
    response: null,
    error: { code: snake(error._tag), message: error.message }
  }
}

/** Errors that stop the whole job (and are not written: the request stays pending for resume). */
const stopReason = (error: Errors.OpenAiError): Stopped | undefined => {
  switch (error._tag) {
    case "BudgetExceeded":
      return { reason: "budget", message: error.message, error }
    case "QuotaExceeded":
      return { reason: "quota", message: `insufficient quota: ${error.message}`, error }
    case "AuthenticationFailed":
    case "PermissionDenied":
    case "CredentialsUnavailable":
      return { reason: "auth", message: `${error._tag}: ${error.message}`, error }
    case "CircuitOpen":
      return error.closesAtMs === undefined ? { reason: "circuit", message: error.message, error } : undefined
    case "StoreUnavailable":
      return { reason: "store", message: error.message, error }
    default:
      return undefined
  }
}

interface Counters {
  succeeded: number
  failed: number
  sentFallback: number
  retriesFallback: number
  promptTokens: number
  completionTokens: number
  costUsd: number
  inFlight: number
}

/** The request each endpoint's call takes: a line's body has passed that endpoint's decoder in `Validate`. */
interface Bodies {
  readonly "/v1/chat/completions": ChatCompletions.Request
  readonly "/v1/embeddings": Embeddings.Request
  readonly "/v1/responses": Responses.Request
}

/**
 * How a line of each endpoint is sent: one entry per endpoint of `Validate.endpoints` (a new endpoint adds its
 * validation there and its call here; the rest of the per-line path does not look at the endpoint).
 */
const senders: {
  readonly [K in Endpoint]: (
    client: OpenAi.Service,
    body: Bodies[K]
  ) => Effect.Effect<OpenAi.Response<unknown>, Errors.OpenAiError>
} = {
  "/v1/chat/completions": (client, body) => client.chat.completions.create(body),
  "/v1/embeddings": (client, body) => client.embeddings.create(body),
  "/v1/responses": (client, body) => client.responses.create(body)
}

/** A validated line through its endpoint's call (the body is sent as given, unknown fields included). */
const sendLine = <K extends Endpoint>(client: OpenAi.Service, url: K, body: Record<string, unknown>) =>
  senders[url](client, body as Bodies[K])

const closesLater = (error: Errors.OpenAiError): error is Errors.CircuitOpen =>
  error._tag === "CircuitOpen" && error.closesAtMs !== undefined

/** Waits until the open circuit of the last failure says it closes (at least 50 ms), by the `Clock`. */
const untilCircuitCloses: Schedule.Schedule<Errors.OpenAiError, Errors.OpenAiError> = Schedule.fromStep(
  Effect.succeed((now: number, error: Errors.OpenAiError) =>
    Effect.succeed([
      error,
      Duration.millis(Math.max(50, error._tag === "CircuitOpen" ? (error.closesAtMs ?? 0) - now : 0))
    ] as const)
  )
)

/** One request through the client; a temporarily open circuit is waited out (not counted as a failure). */
const send = (
  client: OpenAi.Service,
  request: Request,
  stopped: Effect.Effect<boolean>
): Effect.Effect<OpenAi.Response<unknown>, Errors.OpenAiError> =>
  Effect.retry(sendLine(client, request.url, request.body), {
    while: (error) => (closesLater(error) ? Effect.map(stopped, (isStopped) => !isStopped) : false),
    schedule: untilCircuitCloses
  })

/** Refuses an output that is the input file (same path, hard link or symlink) before anything is read. */
const refuseOutputIsInput = (
  lines: object,
  options: { readonly output: string; readonly input?: string | undefined }
) =>
  Effect.gen(function* () {
    const input = inputPathOf(lines, options)
    if (input === undefined) return
    const how = yield* Journal.sameFile(input, options.output)
    if (how !== undefined) return yield* new OutputIsInput({ input, output: options.output, how })
  })

interface JobOptions {
  readonly output: string
  readonly input?: string | undefined
  readonly mode?: RunOptions["mode"]
  readonly retryFailed?: boolean | undefined
}

const openJournal = (options: JobOptions, inputIds: ReadonlySet<string>) =>
  Journal.open(options.output, options.mode ?? "new", options.retryFailed ?? false, inputIds).pipe(
    Effect.mapError(fromJournalError)
  )

/**
 * What `remote` starts with: the input validated and collected (nothing sent or written if any line is bad; the
 * server-side batch uploads every line anyway), the output opened as the journal, and the requests still to do.
 */
const openJob = <E, R>(lines: Stream.Stream<string, E, R>, options: JobOptions) =>
  Effect.gen(function* () {
    yield* refuseOutputIsInput(lines, options)
    const requests = yield* validate(lines)
    const journal = yield* openJournal(options, new Set(requests.map((request) => request.customId)))
    const done = new Set([...journal.existing.succeeded, ...journal.existing.failed])
    const pending = requests.filter((request) => !done.has(request.customId))
    return { requests, journal, pending, skipped: requests.length - pending.length }
  })

/**
 * What `run` starts with: a first, validating pass over the input that keeps only the custom_ids and their line
 * numbers (nothing sent or written if any line is bad), then the output opened as the journal. The lines are read
 * again, one chunk at a time, by the run itself.
 */
const openStreamingJob = <E, R>(lines: Stream.Stream<string, E, R>, options: JobOptions) =>
  Effect.gen(function* () {
    yield* refuseOutputIsInput(lines, options)
    const scan = Validate.scan()
    yield* Stream.runForEachArray(lines, (texts) =>
      Effect.sync(() => {
        for (const text of texts) scan.feed(text)
      })
    )
    scan.finish()
    if (scan.problems.length > 0) {
      return yield* new BatchInputInvalid({ problems: scan.problems, lines: scan.total() })
    }
    const ids = new Set(scan.ids.keys())
    const journal = yield* openJournal(options, ids)
    const done = new Set([...journal.existing.succeeded, ...journal.existing.failed])
    return { ids: scan.ids, total: ids.size, journal, done, pending: ids.size - done.size, skipped: done.size }
  })

/**
 * The second pass as a shared feed for the workers: `next` hands out the next request still to do (one pull of the
 * input for a whole chunk of lines, under a lock), `undefined` once the input has ended. A line that changed since
 * the first pass fails the job (`BatchIoError`), as does an input that ended early.
 */
const makeFeed = <E, R>(
  lines: Stream.Stream<string, E, R>,
  ids: ReadonlyMap<string, number>,
  done: ReadonlySet<string>,
  path: string
) =>
  Effect.gen(function* () {
    const pull = yield* Stream.toPull(lines)
    const lock = yield* Semaphore.make(1)
    const reader = Validate.reader(ids)
    const changed = (reason: string) =>
      new BatchIoError({ path, reason: `the input changed while the job ran: ${reason}` })
    let buffer: Array<Request> = []
    let index = 0
    let ended = false
    let read = 0
    const keep = (request: Request) => {
      read++
      if (!done.has(request.customId)) buffer.push(request)
    }
    const refill: Effect.Effect<void, E | BatchIoError, R> = Effect.suspend(() => {
      if (index < buffer.length || ended) return Effect.void
      return Effect.matchCauseEffect(pull, {
        onSuccess: (texts) =>
          Effect.suspend(() => {
            buffer = []
            index = 0
            for (const text of texts) {
              const problem = reader.feed(text, keep)
              if (problem !== undefined) return Effect.fail(changed(formatProblem(problem)))
            }
            return Effect.void
          }),
        onFailure: (cause): Effect.Effect<void, E | BatchIoError> => {
          if (!Pull.isDoneCause(cause)) return Effect.failCause(cause as Cause.Cause<E>)
          ended = true
          return read === ids.size ? Effect.void : Effect.fail(changed(`${read} of ${ids.size} requests read`))
        }
      })
    })
    const next: Effect.Effect<Request | undefined, E | BatchIoError, R> = Effect.suspend(() => {
      if (index < buffer.length) return Effect.succeed(buffer[index++])
      if (ended) return Effect.succeed(undefined)
      return Effect.andThen(lock.withPermits(1)(refill), next)
    })
    return { next }
  })

/**
 * Runs a batch job through the `OpenAi` client (and whatever gates it was built with): validates every line in a
 * first pass, opens the output, skips finished custom_ids when resuming, and runs the rest on `concurrency` workers
 * that read the input again as they go (so memory does not grow with the input; the stream must be one that can
 * be run twice, as `linesFromFile` and `Stream.fromIterable` are), appending one output line per finished request.
 * Returns the summary; `stopped` says why it ended early.
 *
 * @since 0.1.0
 * @category running
 */
export const run = <E, R>(
  lines: Stream.Stream<string, E, R>,
  options: RunOptions
): Effect.Effect<Summary, RunError | E, OpenAi.OpenAi | R> =>
  Effect.scoped(
    Effect.gen(function* () {
      yield* Effect.fromResult(validateRunOptions(options))
      const job = yield* openStreamingJob(lines, options)
      const { journal, skipped } = job
      const feed = yield* makeFeed(lines, job.ids, job.done, inputPathOf(lines, options) ?? "(input)")
      const client = yield* OpenAi.OpenAi
      const pricing = yield* Pricing.current
      const meter = Option.getOrUndefined(yield* Effect.serviceOption(Meter))
      const meterStart = meter === undefined ? undefined : yield* meter.counts
      const gated = yield* Effect.service(Gated)
      const startedAt = yield* Clock.currentTimeMillis
      const counters: Counters = {
        succeeded: 0,
        failed: 0,
        sentFallback: 0,
        retriesFallback: 0,
        promptTokens: 0,
        completionTokens: 0,
        costUsd: 0,
        inFlight: 0
      }
      const stop = yield* Deferred.make<Stopped>()
      let stoppedWith: Stopped | null = null
      // Requests with an attempt sent and not finished (known only through layerMeter's decorator, `gated`). Once
      // the job stops and none is left, the drain need not wait: every other request is unsent (held at the gates,
      // or not there yet) and stays pending.
      let sending = 0
      const idle = yield* Deferred.make<void>()
      const checkIdle = Effect.suspend(() =>
        gated && stoppedWith !== null && sending === 0 ? Deferred.succeed(idle, undefined) : Effect.void
      )
      const snapshot: Effect.Effect<Progress> = Effect.gen(function* () {
        const now = meter === undefined ? undefined : yield* meter.counts
        const finished = counters.succeeded + counters.failed
        const wall = ((yield* Clock.currentTimeMillis) - startedAt) / 1000
        const rate = wall > 0 ? finished / wall : 0
        const left = job.pending - finished
        const metered = now !== undefined && meterStart !== undefined
        return {
          total: job.total,
          succeeded: counters.succeeded,
          failed: counters.failed,
          skipped,
          pending: left,
          requests_sent: metered ? now.requestsSent - meterStart.requestsSent : counters.sentFallback,
          rate_limited: metered ? now.rateLimited - meterStart.rateLimited : 0,
          retries: metered ? now.retries - meterStart.retries : counters.retriesFallback,
          prompt_tokens: counters.promptTokens,
          completion_tokens: counters.completionTokens,
          cost_usd: counters.costUsd,
          wall_s: wall,
          stopped: stoppedWith,
          done: skipped + finished,
          in_flight: counters.inFlight,
          rate_per_s: rate,
          eta_s: rate > 0 ? left / rate : null
        }
      })
      // Progress is read from the counters: published when the job starts, every `progressInterval`, when it
      // stops and when it ends, never per request (decision 0007).
      const publish =
        options.progress === undefined
          ? Effect.void
          : Effect.flatMap(snapshot, (progress) => SubscriptionRef.set(options.progress!, progress))
      const halt = (reason: Stopped) =>
        Effect.suspend(() => {
          if (stoppedWith !== null) return Effect.void
          stoppedWith = reason
          return Effect.andThen(Effect.andThen(Deferred.succeed(stop, reason), checkIdle), publish)
        })

      const write = (line: OutputLine) => journal.append(JSON.stringify(line)).pipe(Effect.mapError(fromJournalError))

      // One Admission per worker, provided once: `sent` and `held` are about the worker's current request.
      const workerAdmission = () => {
        let sent = false
        const unsent = Effect.suspend(() => {
          if (!sent) return Effect.void
          sent = false
          sending--
          return checkIdle
        })
        const admission: Admission = {
          stopped: () => stoppedWith !== null,
          sent: () => {
            if (sent) return
            sent = true
            sending++
          },
          held: unsent
        }
        return { admission, done: unsent }
      }

      const settle = (request: Request, result: Result.Result<OpenAi.Response<unknown>, Errors.OpenAiError>) => {
        if (Result.isSuccess(result)) {
          const response = result.success
          counters.sentFallback += response.attempts
          counters.retriesFallback += response.attempts - 1
          const usage = Usage.fromBody(response.body)
          if (usage !== undefined) {
            counters.promptTokens += usage.promptTokens
            counters.completionTokens += usage.completionTokens
            const model = (request.body as { model?: unknown }).model
            if (typeof model === "string") counters.costUsd += Option.getOrElse(pricing.cost(model, usage), () => 0)
          }
          return Effect.map(
            write({
              id: newId(),
              custom_id: request.customId,
              response: { status_code: response.status, request_id: response.requestId ?? null, body: response.body },
              error: null
            }),
            () => {
              counters.succeeded++
            }
          )
        }
        const error = result.failure
        const reason = stopReason(error)
        if (reason !== undefined) return halt(reason)
        if (sentBy(error)) counters.sentFallback++
        return Effect.map(write(failureLine(request.customId, error)), () => {
          counters.failed++
        })
      }

      const processOne = (request: Request) =>
        Effect.suspend(() => {
          counters.inFlight++
          return Effect.flatMap(
            Effect.ensuring(
              Effect.result(send(client, request, Deferred.isDone(stop))),
              Effect.sync(() => counters.inFlight--)
            ),
            (result) => settle(request, result)
          )
        })

      // A fixed pool of `concurrency` workers, each taking the next request from the feed: no fiber or stream per
      // line (decision 0007).
      const worker = Effect.suspend(() => {
        const { admission, done } = workerAdmission()
        const loop: Effect.Effect<void, RunError | E, R> = Effect.flatMap(feed.next, (request) =>
          request === undefined || stoppedWith !== null
            ? Effect.void
            : Effect.andThen(Effect.ensuring(processOne(request), done), loop)
        )
        return Effect.provideService(loop, CurrentAdmission, admission)
      })

      yield* publish
      if (options.progress !== undefined) {
        const every = Duration.fromInputUnsafe(options.progressInterval ?? "100 millis")
        yield* Effect.forkScoped(Effect.delay(Effect.repeat(publish, Schedule.spaced(every)), every))
      }
      const pipeline = yield* Effect.forkScoped(
        Effect.forEach(Array.from({ length: options.concurrency ?? 16 }), () => worker, {
          concurrency: "unbounded",
          discard: true
        })
      )
      const grace = Duration.fromInputUnsafe(options.gracePeriod ?? "10 seconds")
      // Once stopped: no new requests start (workers check) and, with layerMeter's decorator, no attempt is sent
      // any more; the requests already sent get the grace period. The pipeline is interrupted when the grace period
      // ends or, gated, as soon as no sent request is left (the rest wait unsent at the gates).
      const drain = Effect.andThen(
        Effect.timeoutOrElse(Effect.raceFirst(Effect.asVoid(Fiber.await(pipeline)), Deferred.await(idle)), {
          duration: grace,
          orElse: () => Effect.void
        }),
        Fiber.interrupt(pipeline)
      )
      const interrupted: Stopped = { reason: "interrupted", message: "interrupted: stopped admitting and drained" }
      const shutdown =
        options.shutdown === undefined ? Effect.never : Effect.andThen(options.shutdown, halt(interrupted))
      const watcher = yield* Effect.forkScoped(Effect.andThen(Effect.race(Deferred.await(stop), shutdown), drain))
      // Interrupted: the same drain, and the last snapshot published (run returns no summary then).
      const exit = yield* Fiber.await(pipeline).pipe(
        Effect.onInterrupt(() => Effect.andThen(Effect.andThen(halt(interrupted), drain), publish))
      )
      yield* Fiber.interrupt(watcher)
      // A write error fails the job; an interruption after the grace period does not (the summary stands).
      if (exit._tag === "Failure" && !Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.failCause(exit.cause)
      const summary = yield* snapshot
      yield* publish
      const { done: _done, in_flight: _inFlight, rate_per_s: _rate, eta_s: _eta, ...rest } = summary
      return rest
    })
  )

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

/** The Batch API's limits on one input file. */
const batchApiMaxRequests = 50_000
const batchApiMaxBytes = 200 * 1024 * 1024

/**
 * Splits one endpoint's requests into input files within the Batch API's limits (requests and bytes, a newline
 * after every line), in order.
 */
const splitForUpload = (
  group: ReadonlyArray<Request>,
  maxRequests: number,
  maxBytes: number
): ReadonlyArray<ReadonlyArray<Request>> => {
  const parts: Array<Array<Request>> = []
  let current: Array<Request> = []
  let bytes = 0
  for (const request of group) {
    const size = Buffer.byteLength(request.raw) + 1
    if (current.length > 0 && (current.length >= maxRequests || bytes + size > maxBytes)) {
      parts.push(current)
      current = []
      bytes = 0
    }
    current.push(request)
    bytes += size
  }
  if (current.length > 0) parts.push(current)
  return parts
}

const terminalStatuses: ReadonlySet<string> = new Set(["completed", "failed", "expired", "cancelled"])

/**
 * Runs the same input through the server-side Batch API: per endpoint, uploads the pending lines
 * (`files.create`, purpose `batch`; split into several files and batches beyond the API's 50,000 requests or
 * 200 MB per file), creates a batch (24 h window), polls `batches.retrieve` until it ends,
 * then downloads the output and error files and appends their lines to the output (same format, same
 * journal and resume rules as {@link run}). Billed at the Batch API discount; results arrive within 24 h.
 *
 * @since 0.1.0
 * @category running
 */
export const remote = <E, R>(
  lines: Stream.Stream<string, E, R>,
  options: RemoteOptions
): Effect.Effect<Summary, RunError | RemoteBatchFailed | Errors.OpenAiError | E, OpenAi.OpenAi | R> =>
  Effect.scoped(
    Effect.gen(function* () {
      yield* Effect.fromResult(validateRemoteOptions(options))
      const { requests, journal, pending, skipped } = yield* openJob(lines, options)
      const client = yield* OpenAi.OpenAi
      const pricing = yield* Pricing.current
      const startedAt = yield* Clock.currentTimeMillis
      const counters = { succeeded: 0, failed: 0, sent: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 }
      let serverDone = 0
      let stopped: Stopped | null = null
      const summary = (now: number): Summary => ({
        total: requests.length,
        succeeded: counters.succeeded,
        failed: counters.failed,
        skipped,
        pending: pending.length - counters.succeeded - counters.failed,
        requests_sent: counters.sent,
        rate_limited: 0,
        retries: 0,
        prompt_tokens: counters.promptTokens,
        completion_tokens: counters.completionTokens,
        cost_usd: counters.costUsd,
        wall_s: (now - startedAt) / 1000,
        stopped
      })
      const publish = Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (options.progress === undefined) return Effect.void
        const s = summary(now)
        const finished = Math.max(serverDone, counters.succeeded + counters.failed)
        const wall = s.wall_s
        const rate = wall > 0 ? finished / wall : 0
        return SubscriptionRef.set(options.progress, {
          ...s,
          done: skipped + finished,
          in_flight: pending.length - finished,
          rate_per_s: rate,
          eta_s: rate > 0 ? (pending.length - finished) / rate : null
        })
      })
      const shutdownSignal = yield* Deferred.make<void>()
      if (options.shutdown !== undefined) {
        yield* Effect.forkScoped(Effect.andThen(options.shutdown, Deferred.succeed(shutdownSignal, undefined)))
      }
      const pollInterval = Duration.fromInputUnsafe(options.pollInterval ?? "5 seconds")
      const byUrl = new Map<Endpoint, Array<Request>>()
      for (const request of pending) {
        const group = byUrl.get(request.url)
        if (group === undefined) byUrl.set(request.url, [request])
        else group.push(request)
      }
      const maxRequests = Math.max(1, Math.min(options.maxRequestsPerBatch ?? batchApiMaxRequests, batchApiMaxRequests))
      const maxBytes = Math.max(1, Math.min(options.maxBytesPerBatch ?? batchApiMaxBytes, batchApiMaxBytes))

      const appendFile = (fileId: string | null | undefined, expected: Set<string>, model: Map<string, string>) =>
        Effect.gen(function* () {
          if (fileId == null) return
          const content = yield* client.files.content(fileId)
          for (const text of new TextDecoder().decode(content.body).split("\n")) {
            if (text.trim().length === 0) continue
            let line: OutputLine
            try {
              line = JSON.parse(text) as OutputLine
            } catch {
              continue
            }
            // A line without the output shape, or for a request not in this batch, is not written: the request
            // stays pending (resume sends it again) rather than poisoning the journal.
            if (Journal.lineProblem(line, expected) !== undefined) continue
            expected.delete(line.custom_id)
            yield* journal.append(JSON.stringify(line)).pipe(Effect.mapError(fromJournalError))
            const status = line.response?.status_code
            if (line.error == null && status !== undefined && status >= 200 && status < 300) {
              counters.succeeded++
              const usage = Usage.fromBody(line.response?.body)
              if (usage !== undefined) {
                counters.promptTokens += usage.promptTokens
                counters.completionTokens += usage.completionTokens
                const name = model.get(line.custom_id)
                if (name !== undefined) {
                  counters.costUsd += Option.getOrElse(pricing.cost(name, usage, { batch: true }), () => 0)
                }
              }
            } else counters.failed++
          }
        })

      const runGroup = (url: Endpoint, group: ReadonlyArray<Request>) =>
        Effect.gen(function* () {
          const file = yield* client.files.create({
            file: new TextEncoder().encode(`${group.map((request) => request.raw).join("\n")}\n`),
            filename: `sluice-batch-${url.split("/").pop()}.jsonl`,
            purpose: "batch"
          })
          const created = yield* client.batches.create({
            input_file_id: file.body.id,
            endpoint: url,
            completion_window: "24h",
            ...(options.metadata === undefined ? {} : { metadata: { ...options.metadata } })
          })
          const batchId = created.body.id
          counters.sent += group.length
          if (options.onCreated !== undefined) yield* options.onCreated(batchId)
          const base = serverDone
          const check = Effect.flatMap(client.batches.retrieve(batchId), (response) => {
            const counts = response.body.request_counts
            if (counts != null) serverDone = base + counts.completed + counts.failed
            return Effect.as(publish, response.body)
          })
          // Polled on a Schedule until the batch reaches a terminal status.
          const poll: Effect.Effect<Batches.Batch, Errors.OpenAiError> = Effect.repeat(check, {
            schedule: Schedule.spaced(pollInterval),
            until: (batch: Batches.Batch) => terminalStatuses.has(batch.status)
          })
          const ended = yield* Effect.raceFirst(
            Effect.map(poll, Option.some),
            Effect.as(Deferred.await(shutdownSignal), Option.none<Batches.Batch>())
          )
          if (Option.isNone(ended)) {
            stopped = { reason: "interrupted", message: `interrupted: remote batch ${batchId} cancelled` }
            yield* Effect.ignore(client.batches.cancel(batchId))
            return
          }
          const batch = ended.value
          if (batch.status === "failed") {
            return yield* new RemoteBatchFailed({
              batchId,
              status: batch.status,
              reason: JSON.stringify(batch.errors ?? "no details").slice(0, 500)
            })
          }
          const expected = new Set(group.map((request) => request.customId))
          const models = new Map(
            group.map((request) => [request.customId, String((request.body as { model?: unknown }).model)] as const)
          )
          yield* appendFile(batch.output_file_id, expected, models)
          yield* appendFile(batch.error_file_id, expected, models)
          yield* publish
        })

      yield* publish
      for (const [url, group] of byUrl) {
        for (const part of splitForUpload(group, maxRequests, maxBytes)) {
          if (stopped !== null) break
          const result = yield* Effect.result(runGroup(url, part))
          if (Result.isFailure(result)) {
            const error = result.failure
            const reason = "retryable" in error ? stopReason(error) : undefined
            if (reason === undefined) return yield* Effect.fail(error)
            stopped = reason
          }
        }
      }
      yield* publish
      return summary(yield* Clock.currentTimeMillis)
    })
  )
