/**
 * `remote`: the same input through the server-side Batch API, per endpoint and within its limits per input file:
 * upload, create, poll on a `Schedule` until it ends, then append its output and error files to the journal.
 *
 * @internal
 */
import { type Batches, type Errors, OpenAi } from "@sluice/core"
import * as Pricing from "@sluice/core/Pricing"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import type * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as Api from "../../Batch.js"
import * as Job from "./job.js"
import * as Journal from "./journal.js"
import * as Options from "./options.js"
import * as Outcome from "./outcome.js"
import * as Progress from "./progress.js"
import { addUsage, modelOf, type Tally } from "./tally.js"

/** The Batch API's limits on one input file. */
const batchApiMaxRequests = 50_000
const batchApiMaxBytes = 200 * 1024 * 1024

const terminalStatuses: ReadonlySet<string> = new Set(["completed", "failed", "expired", "cancelled"])

/**
 * Splits one endpoint's requests into input files within the Batch API's limits (requests and bytes, a newline
 * after every line), in order.
 */
const splitForUpload = (
  group: ReadonlyArray<Api.Request>,
  maxRequests: number,
  maxBytes: number
): ReadonlyArray<ReadonlyArray<Api.Request>> => {
  const parts: Array<Array<Api.Request>> = []
  let current: Array<Api.Request> = []
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

/** The pending requests by endpoint, each split into the input files it is uploaded as. */
const uploads = (pending: ReadonlyArray<Api.Request>, options: Api.RemoteOptions) => {
  const byUrl = new Map<Api.Endpoint, Array<Api.Request>>()
  for (const request of pending) {
    const group = byUrl.get(request.url)
    if (group === undefined) byUrl.set(request.url, [request])
    else group.push(request)
  }
  const maxRequests = Math.max(1, Math.min(options.maxRequestsPerBatch ?? batchApiMaxRequests, batchApiMaxRequests))
  const maxBytes = Math.max(1, Math.min(options.maxBytesPerBatch ?? batchApiMaxBytes, batchApiMaxBytes))
  return [...byUrl].flatMap(([url, group]) =>
    splitForUpload(group, maxRequests, maxBytes).map((part) => ({ url, part }))
  )
}

interface Counters extends Tally {
  succeeded: number
  failed: number
  sent: number
}

/** A remote job: what it started with, its counters, and whether (and why) it stopped. */
interface State {
  readonly options: Api.RemoteOptions
  readonly client: OpenAi.Service
  readonly pricing: Pricing.Pricing["Service"]
  readonly journal: Journal.Journal
  readonly total: number
  readonly pending: number
  readonly skipped: number
  readonly startedAt: number
  readonly counters: Counters
  readonly shutdown: Deferred.Deferred<void>
  /** Requests the server reports finished, over every batch so far. */
  serverDone: number
  stopped: Api.Stopped | null
}

const summaryOf = (state: State, now: number): Api.Summary =>
  Progress.summaryOf(
    { total: state.total, skipped: state.skipped, toDo: state.pending },
    state.counters,
    { requestsSent: state.counters.sent, rateLimited: 0, retries: 0 },
    now - state.startedAt,
    state.stopped
  )

const publish = (state: State): Effect.Effect<void> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    if (state.options.progress === undefined) return Effect.void
    const finished = Math.max(state.serverDone, state.counters.succeeded + state.counters.failed)
    const progress = Progress.progressOf(summaryOf(state, now), finished, state.pending, state.pending - finished)
    return SubscriptionRef.set(state.options.progress, progress)
  })

const parseLine = (text: string): Api.OutputLine | undefined => {
  try {
    return JSON.parse(text) as Api.OutputLine
  } catch {
    return undefined
  }
}

/** Counts a line of the server's output, and its tokens and cost at the Batch API price. */
const count = (state: State, line: Api.OutputLine, model: string | undefined) => {
  const status = line.response?.status_code
  if (line.error == null && status !== undefined && status >= 200 && status < 300) {
    state.counters.succeeded++
    addUsage(state.counters, state.pricing, line.response?.body, model, true)
  } else state.counters.failed++
}

/**
 * Appends the lines of a server-side output or error file. A line without the output shape, or for a request not
 * in this batch, is not written: the request stays pending (resume sends it again) rather than poisoning the journal.
 */
const appendFile = (
  state: State,
  fileId: string | null | undefined,
  expected: Set<string>,
  models: ReadonlyMap<string, string | undefined>
) =>
  Effect.gen(function* () {
    if (fileId == null) return
    const content = yield* state.client.files.content(fileId)
    for (const text of new TextDecoder().decode(content.body).split("\n")) {
      const line = text.trim().length === 0 ? undefined : parseLine(text)
      if (line === undefined || Journal.lineProblem(line, expected) !== undefined) continue
      expected.delete(line.custom_id)
      yield* Job.write(state.journal, line)
      count(state, line, models.get(line.custom_id))
    }
  })

/** Uploads one input file and creates its batch (24 h window); returns the batch id. */
const create = (state: State, url: Api.Endpoint, group: ReadonlyArray<Api.Request>) =>
  Effect.gen(function* () {
    const file = yield* state.client.files.create({
      file: new TextEncoder().encode(`${group.map((request) => request.raw).join("\n")}\n`),
      filename: `sluice-batch-${url.split("/").pop()}.jsonl`,
      purpose: "batch"
    })
    const metadata = state.options.metadata
    const created = yield* state.client.batches.create({
      input_file_id: file.body.id,
      endpoint: url,
      completion_window: "24h",
      ...(metadata === undefined ? {} : { metadata: { ...metadata } })
    })
    state.counters.sent += group.length
    if (state.options.onCreated !== undefined) yield* state.options.onCreated(created.body.id)
    return created.body.id
  })

/** Polls the batch on a Schedule until it reaches a terminal status; `None` when the job was shut down first. */
const awaitEnd = (state: State, batchId: string) => {
  const base = state.serverDone
  const check = Effect.flatMap(state.client.batches.retrieve(batchId), (response) => {
    const counts = response.body.request_counts
    if (counts != null) state.serverDone = base + counts.completed + counts.failed
    return Effect.as(publish(state), response.body)
  })
  const poll: Effect.Effect<Batches.Batch, Errors.OpenAiError> = Effect.repeat(check, {
    schedule: Schedule.spaced(Duration.fromInputUnsafe(state.options.pollInterval ?? "5 seconds")),
    until: (batch: Batches.Batch) => terminalStatuses.has(batch.status)
  })
  return Effect.raceFirst(
    Effect.map(poll, Option.some),
    Effect.as(Deferred.await(state.shutdown), Option.none<Batches.Batch>())
  )
}

/** One input file through the Batch API into the journal. */
const runGroup = (state: State, url: Api.Endpoint, group: ReadonlyArray<Api.Request>) =>
  Effect.gen(function* () {
    const batchId = yield* create(state, url, group)
    const ended = yield* awaitEnd(state, batchId)
    if (Option.isNone(ended)) {
      state.stopped = { reason: "interrupted", message: `interrupted: remote batch ${batchId} cancelled` }
      return yield* Effect.ignore(state.client.batches.cancel(batchId))
    }
    const batch = ended.value
    if (batch.status === "failed") {
      const reason = JSON.stringify(batch.errors ?? "no details").slice(0, 500)
      return yield* new Api.RemoteBatchFailed({ batchId, status: batch.status, reason })
    }
    const expected = new Set(group.map((request) => request.customId))
    const models = new Map(group.map((request) => [request.customId, modelOf(request.body)] as const))
    yield* appendFile(state, batch.output_file_id, expected, models)
    yield* appendFile(state, batch.error_file_id, expected, models)
    yield* publish(state)
  })

const makeState = (job: Effect.Success<ReturnType<typeof Job.openJob>>, options: Api.RemoteOptions) =>
  Effect.gen(function* () {
    const shutdown = yield* Deferred.make<void>()
    if (options.shutdown !== undefined) {
      yield* Effect.forkScoped(Effect.andThen(options.shutdown, Deferred.succeed(shutdown, undefined)))
    }
    const state: State = {
      options,
      client: yield* OpenAi.OpenAi,
      pricing: yield* Pricing.current,
      journal: job.journal,
      total: job.requests.length,
      pending: job.pending.length,
      skipped: job.skipped,
      startedAt: yield* Clock.currentTimeMillis,
      counters: { succeeded: 0, failed: 0, sent: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 },
      shutdown,
      serverDone: 0,
      stopped: null
    }
    return state
  })

/** @internal */
export const remote = <E, R>(
  lines: Stream.Stream<string, E, R>,
  options: Api.RemoteOptions
): Effect.Effect<
  Api.Summary,
  Api.RunError | Api.RemoteBatchFailed | Errors.OpenAiError | E,
  OpenAi.OpenAi | FileSystem.FileSystem | R
> =>
  Effect.scoped(
    Effect.gen(function* () {
      yield* Effect.fromResult(Options.validateRemoteOptions(options))
      const job = yield* Job.openJob(lines, options)
      const state = yield* makeState(job, options)
      yield* publish(state)
      for (const { url, part } of uploads(job.pending, options)) {
        if (state.stopped !== null) break
        const result = yield* Effect.result(runGroup(state, url, part))
        if (Result.isFailure(result)) {
          const error = result.failure
          const reason = "retryable" in error ? Outcome.stopReason(error) : undefined
          if (reason === undefined) return yield* Effect.fail(error)
          state.stopped = reason
        }
      }
      yield* Job.flush(state.journal)
      yield* publish(state)
      return summaryOf(state, yield* Clock.currentTimeMillis)
    })
  )
