/**
 * The body of `Embed.runFile`: an input file → checked (every line, nothing sent if one is wrong) → the output,
 * which is the journal (`resume` continues it), through `embed`.
 *
 * @internal
 */
import type { Errors, OpenAi } from "@sluice/core"
import { Pricing } from "@sluice/core"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as FileSystem from "effect/FileSystem"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Batch from "../../Batch.js"
import * as Api from "../../Embed.js"
import * as Input from "./input.js"
import * as Cache from "./cache.js"
import * as BatchJournal from "../batch/journal.js"
import * as Journal from "./journal.js"
import * as Remote from "./remote.js"
import * as Run from "./run.js"

/** Why a job stopped: the client's terminal conditions, as in `Batch`; anything else is a failure. */
const stoppedBy = (error: unknown): Api.FileSummary["stopped"] => {
  const tag = (error as { _tag?: string })._tag
  const message = (error as Error).message ?? String(error)
  switch (tag) {
    case "BudgetExceeded":
      return { reason: "budget", message }
    case "QuotaExceeded":
      return { reason: "quota", message: `insufficient quota: ${message}` }
    case "AuthenticationFailed":
    case "PermissionDenied":
    case "CredentialsUnavailable":
      return { reason: "auth", message: `${tag}: ${message}` }
    case "CircuitOpen":
      return { reason: "circuit", message }
    default:
      return { reason: "failed", message: `${tag ?? "Error"}: ${message}` }
  }
}

/** Checks the output against the input (both read through FileSystem); how many documents are done. */
const resume = (options: Api.FileOptions, input: Input.Format, format: Journal.OutputFormat) =>
  Journal.resume(
    options.output,
    format,
    Stream.map(Input.documents(options.input, input), (document) => document.id),
    Journal.widthOf(options.model, options.dimensions)
  )

/** Checks the options, the paths and every input line; opens the journal. */
const open = (options: Api.FileOptions) =>
  Effect.gen(function* () {
    const problem = Run.validateOptions(options)
    if (problem !== undefined) return yield* problem
    const format = options.format ?? "jsonl"
    const outputs = format === "f32" ? [options.output, Journal.idsPath(options.output)] : [options.output]
    for (const output of outputs) {
      const how = yield* BatchJournal.sameFile(options.input, output)
      if (how !== undefined) return yield* new Batch.OutputIsInput({ input: options.input, output, how })
    }
    const scan = yield* Input.scan(options.input)
    if (scan.problems.length > 0) {
      return yield* new Batch.BatchInputInvalid({ problems: scan.problems, lines: scan.documents })
    }
    const mode = options.mode ?? "new"
    const exists = yield* Journal.outputExists(options.output, format)
    if (exists && mode === "new") return yield* new Batch.OutputExists({ path: options.output })
    const skipped = mode === "resume" ? yield* resume(options, scan.format, format) : 0
    const writer = yield* Journal.openWriter(options.output, format, mode !== "resume")
    return { scan, skipped, writer, format }
  })

/** With `remote`, the texts not in the cache go through the Batch API first (into the cache, or a temporary one). */
const prefillRemote = (options: Api.FileOptions, format: Input.Format, skipped: number) =>
  Effect.gen(function* () {
    if (options.remote !== true) return { cache: options.cache, remote: undefined }
    const cache =
      options.cache ??
      (yield* Effect.mapError(Cache.temporary, (reason) => new Api.CacheError({ path: "(temporary)", reason })))
    return { cache, remote: yield* Remote.prefill(options, format, skipped, cache) }
  })

/** Embeds the documents after the `skipped` ones into the writer, in groups; returns how many were written. */
const pipeline = (
  options: Api.FileOptions,
  opened: { readonly scan: Input.Scan; readonly skipped: number; readonly writer: Journal.Writer },
  embedOptions: Api.Options,
  written: { count: number }
) => {
  const width = Journal.widthOf(options.model, options.dimensions)
  const documents = Input.documents(options.input, opened.scan.format).pipe(Stream.drop(opened.skipped))
  return Api.embed(documents, embedOptions).pipe(
    // Lines are written in groups (one write each); a group not yet written when the process dies is in the
    // store, so resume takes it from there.
    Stream.rechunk(512),
    Stream.runForEachArray((batch) =>
      Effect.gen(function* () {
        if (options.format === "f32" && width !== undefined && batch.some((e) => e.vector.length !== width)) {
          return yield* new Api.ResponseMismatch({ reason: `a vector is not ${width} floats wide` })
        }
        yield* opened.writer.write(batch)
        written.count += batch.length
      })
    )
  )
}

/** Runs the pipeline; once `stop` completes, what is in flight gets the grace period, then the rest is cut. */
const runUntilStopped = <E>(
  pipeline: Effect.Effect<void, E, OpenAi.OpenAi | FileSystem.FileSystem>,
  stop: Deferred.Deferred<void>,
  grace: Duration.Duration
) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(pipeline)
    yield* Effect.forkChild(
      Effect.andThen(Effect.andThen(Deferred.await(stop), Effect.sleep(grace)), Fiber.interrupt(fiber))
    )
    return yield* Fiber.await(fiber)
  })

/** Why the run stopped (or null), from its exit; bad options, a broken output or cache fail the job instead. */
type CallersFault = Errors.InvalidOptions | Batch.BatchIoError | Api.CacheError

/** Bad options, a broken output or cache: the caller's to fix, not a stop. */
const callersFault = (error: { readonly _tag: string }): error is CallersFault =>
  error._tag === "InvalidOptions" || error._tag === "BatchIoError" || error._tag === "CacheError"

const stopOf = (
  exit: Exit.Exit<void, { readonly _tag: string }>,
  stopped: boolean,
  unfinished: boolean
): Effect.Effect<Api.FileSummary["stopped"], CallersFault> => {
  if (exit._tag === "Success") {
    return Effect.succeed(
      stopped && unfinished ? { reason: "interrupted", message: "interrupted: stopped reading and drained" } : null
    )
  }
  const reason = exit.cause.reasons.find(Cause.isFailReason)
  if (reason === undefined) {
    return Effect.succeed({
      reason: "interrupted",
      message: "interrupted: the grace period ended"
    })
  }
  const failure = reason.error
  if (callersFault(failure)) return Effect.fail(failure)
  return Effect.succeed(stoppedBy(failure))
}

/** The summary: the meter's counts when there is one (every attempt), else the run's own. */
const summarize = (
  options: Api.FileOptions,
  run: {
    readonly total: number
    readonly skipped: number
    readonly written: number
    readonly stats: Api.Stats
    readonly remote: Remote.Prefilled | undefined
    readonly live: { readonly sent: number; readonly rateLimited: number; readonly retries: number }
    readonly wallMs: number
    readonly stopped: Api.FileSummary["stopped"]
  },
  pricing: Pricing.Pricing["Service"]
): Api.FileSummary => {
  const { stats, remote } = run
  const usage = (tokens: number) => ({ promptTokens: tokens, completionTokens: 0, cachedPromptTokens: 0 })
  const cost = (tokens: number, batch: boolean) =>
    tokens === 0 ? 0 : Option.getOrElse(pricing.cost(options.model, usage(tokens), { batch }), () => 0)
  return {
    total: run.total,
    embedded: run.written,
    skipped: run.skipped,
    pending: run.total - run.skipped - run.written,
    requests_sent: run.live.sent + (remote?.packs ?? 0),
    rate_limited: run.live.rateLimited,
    retries: run.live.retries,
    inputs_sent: stats.inputsSent + (remote?.inputs ?? 0),
    cache_hits: stats.cacheHits - (remote?.inputs ?? 0),
    deduplicated: stats.deduplicated,
    tokens: stats.tokens + (remote?.tokens ?? 0),
    cost_usd: cost(stats.tokens, false) + cost(remote?.tokens ?? 0, true),
    wall_s: run.wallMs / 1000,
    stopped: run.stopped
  }
}

/** Attempts, 429s and retries between two meter readings (without a meter: the run's own requests). */
const liveCounts = (stats: Api.Stats, before: Batch.MeterCounts | undefined, after: Batch.MeterCounts | undefined) =>
  after === undefined || before === undefined
    ? { sent: stats.requests, rateLimited: 0, retries: 0 }
    : {
        sent: after.requestsSent - before.requestsSent,
        rateLimited: after.rateLimited - before.rateLimited,
        retries: after.retries - before.retries
      }

/** @internal */
export const runFile = (options: Api.FileOptions) =>
  Effect.scoped(
    Effect.gen(function* () {
      const startedAt = yield* Clock.currentTimeMillis
      const opened = yield* open(options)
      const { scan, skipped } = opened
      if (options.onStart !== undefined) yield* options.onStart({ total: scan.documents, skipped })
      const stats = options.stats ?? Api.makeStats()
      const { cache, remote } = yield* prefillRemote(options, scan.format, skipped)
      const meter = Option.getOrUndefined(yield* Effect.serviceOption(Batch.Meter))
      const pricing = Option.getOrElse(yield* Effect.serviceOption(Pricing.Pricing), () => Pricing.fromTable())
      const before = meter === undefined ? undefined : yield* meter.counts
      const stop = yield* Deferred.make<void>()
      if (options.shutdown !== undefined)
        yield* Effect.forkScoped(Effect.andThen(options.shutdown, Deferred.succeed(stop, undefined)))
      const written = { count: 0 }
      const embedOptions = { ...options, cache, stats, shutdown: Deferred.await(stop) }
      const grace = Duration.fromInputUnsafe(options.gracePeriod ?? "10 seconds")
      const exit = yield* runUntilStopped(pipeline(options, opened, embedOptions, written), stop, grace)
      const unfinished = skipped + written.count < scan.documents
      const fromExit = yield* stopOf(exit, yield* Deferred.isDone(stop), unfinished)
      // a background fsync that failed after the last write fails the job instead of being lost
      yield* opened.writer.flush
      const after = meter === undefined ? undefined : yield* meter.counts
      const wallMs = (yield* Clock.currentTimeMillis) - startedAt
      const live = liveCounts(stats, before, after)
      const run = { total: scan.documents, skipped, written: written.count, stats, remote, live, wallMs }
      const stopped = exit._tag === "Failure" ? fromExit : (remote?.stopped ?? fromExit)
      return summarize(options, { ...run, stopped }, pricing)
    })
  )
