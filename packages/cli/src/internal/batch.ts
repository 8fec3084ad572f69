/**
 * `sluice batch` (also the demo's Sluice run): flags → client → `Batch.run` → progress, summary, exit code.
 *
 * @internal
 */
import * as Fs from "node:fs/promises"
import { OpenAiConfig } from "@sluice/core"
import { Batch } from "@sluice/stream"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Result from "effect/Result"
import type * as SubscriptionRef from "effect/SubscriptionRef"
import { baseUrlOf, type ClientFlags, colors, credentials, layer, layerWithTelemetry } from "./client.js"
import { render } from "./progress.js"
import * as ScaleOut from "./redis.js"
import { shardLines } from "./shard.js"
import { Reasons } from "./watch.js"
import { tableArgs } from "./tables.js"

/** @internal */
export const ExitCode = {
  ok: 0,
  usage: 1,
  failures: 2,
  budget: 3,
  terminal: 4,
  interrupted: 130
} as const

/** @internal */
export interface BatchFlags extends ClientFlags {
  readonly input: string
  readonly output: string
  readonly resume: boolean
  readonly overwrite: boolean
  readonly retryFailed: boolean
  readonly remote: boolean
  readonly json: boolean
  /** Write an HTML report of the run here. */
  readonly report?: string | undefined
  /** Seconds in-flight requests may take to finish after Ctrl-C. */
  readonly graceSeconds?: number | undefined
}

const quote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`)

/**
 * The command that continues this job.
 *
 * @internal
 */
export const resumeCommand = (flags: BatchFlags, extra: ReadonlyArray<string> = []): string => {
  const args = ["sluice", "batch", flags.input, "-o", flags.output, "--resume"]
  if (flags.baseUrl !== undefined) args.push("--base-url", flags.baseUrl)
  if (flags.apiKeyFile !== undefined) args.push("--api-key-file", flags.apiKeyFile)
  if (flags.allowInsecure === true) args.push("--allow-insecure")
  if (flags.concurrency !== undefined) args.push("--concurrency", String(flags.concurrency))
  if (flags.rpm !== undefined) args.push("--rpm", String(flags.rpm))
  if (flags.tpm !== undefined) args.push("--tpm", String(flags.tpm))
  if (flags.maxRetries !== undefined) args.push("--max-retries", String(flags.maxRetries))
  if (flags.budgetUsd !== undefined) args.push("--budget-usd", String(flags.budgetUsd))
  if (flags.remote) args.push("--remote")
  if (flags.json) args.push("--json")
  if (flags.report !== undefined) args.push("--report", flags.report)
  args.push(...tableArgs(flags.tables))
  args.push(...ScaleOut.resumeArgs(flags.redis))
  return [...args, ...extra].map(quote).join(" ")
}

/** Two signals this close together are one signal delivered twice (see `onSignal`). */
const duplicateSignalMs = 250

const err = (text: string) => Effect.sync(() => process.stderr.write(`${text}\n`))
const out = (text: string) => Effect.sync(() => process.stdout.write(`${text}\n`))

/** @internal */
export const exitCodeOf = (summary: Batch.Summary): number => {
  switch (summary.stopped?.reason) {
    case "budget":
      return ExitCode.budget
    case "quota":
    case "auth":
    case "circuit":
    case "store":
      return ExitCode.terminal
    case "interrupted":
      return ExitCode.interrupted
    default:
      return summary.failed > 0 || summary.pending > 0 ? ExitCode.failures : ExitCode.ok
  }
}

const printSummary = (flags: BatchFlags, summary: Batch.Summary, code: number) =>
  flags.json
    ? out(JSON.stringify({ ...Batch.summaryJson(summary), output: flags.output, exit_code: code }))
    : out(
        `sluice batch: ${summary.succeeded} succeeded, ${summary.failed} failed, ${summary.skipped} already done, ` +
          `${summary.pending} not run — of ${summary.total} in ${summary.wall_s.toFixed(1)} s → ${flags.output}\n` +
          `  requests sent ${summary.requests_sent} · 429s ${summary.rate_limited} · retries ${summary.retries} · ` +
          `tokens ${summary.prompt_tokens} in / ${summary.completion_tokens} out · $${summary.cost_usd.toFixed(4)}`
      )

/** What to do about a job that stopped early, with the command that continues it. */
const stoppedAdvice = (flags: BatchFlags, stopped: Batch.Stopped, pendingCount: number): string => {
  const pending = `${pendingCount} request(s) were not run and stay pending`
  switch (stopped.reason) {
    case "budget":
      return `stopped by the budget: ${stopped.message}. ${pending}. Raise --budget-usd and continue with:\n  ${resumeCommand({ ...flags, budgetUsd: undefined })} --budget-usd <higher>`
    case "quota":
      return `stopped: the account is out of quota (${stopped.message}). ${pending}; nothing was retried. Add credits or use another key, then continue with:\n  ${resumeCommand(flags)}`
    case "auth":
      return `stopped: the API key was refused or unreadable (${stopped.message}). ${pending}. Fix the key (OPENAI_API_KEY or the --api-key-file), then continue with:\n  ${resumeCommand(flags)}`
    case "circuit":
      return `stopped: the circuit breaker fused the key (${stopped.message}). ${pending}. Fix the cause, then continue with:\n  ${resumeCommand(flags)}`
    case "store":
      return `stopped: Redis stayed unreachable (${stopped.message}). ${pending}; nothing was sent without a reservation. Bring Redis back (or raise --redis-wait-seconds), then continue with:\n  ${resumeCommand(flags)}`
    case "interrupted":
      return `interrupted: ${pending}; every finished request is in ${flags.output}. Resume with:\n  ${resumeCommand(flags)}`
  }
}

/** What to do about the failed requests of a job that ran to the end (none: nothing to say). */
const failureAdvice = (flags: BatchFlags, summary: Batch.Summary, reasons: Reasons): ReadonlyArray<string> => {
  if (summary.failed === 0) return []
  const tooLarge = reasons.failures.has("RequestTooLarge")
  const tpm = flags.tpm === undefined ? "" : ` (--tpm ${flags.tpm})`
  const raise = flags.tpm === undefined ? "" : " (raise --tpm, or leave it out to learn the limit from the headers)"
  return [
    ...(tooLarge
      ? [
          `${reasons.failures.get("RequestTooLarge")} request(s) are larger than the key's token limit per minute${tpm}: running them again cannot help until the limit is higher${raise} or the requests (prompt + max_tokens) are smaller.`
        ]
      : []),
    `${summary.failed} request(s) failed; their error lines are in ${flags.output}. Run them again with:\n  ${resumeCommand(tooLarge ? { ...flags, tpm: undefined } : flags, ["--retry-failed"])}`
  ]
}

const report = (flags: BatchFlags, summary: Batch.Summary, code: number, reasons: Reasons) =>
  Effect.gen(function* () {
    yield* printSummary(flags, summary, code)
    if (reasons.retries.size > 0) yield* err(`retried after: ${Reasons.format(reasons.retries)}`)
    if (summary.failed > 0 && reasons.failures.size > 0) yield* err(`failed with: ${Reasons.format(reasons.failures)}`)
    const advice =
      summary.stopped === null
        ? failureAdvice(flags, summary, reasons)
        : [stoppedAdvice(flags, summary.stopped, summary.pending)]
    for (const text of advice) yield* err(text)
  })

const batchErrorTags: ReadonlySet<string> = new Set([
  "BatchInputInvalid",
  "OutputExists",
  "OutputCorrupt",
  "BatchIoError",
  "OutputIsInput",
  "InvalidOptions"
])

const explain = (error: Batch.RunError, flags: BatchFlags): string => {
  switch (error._tag) {
    case "BatchInputInvalid":
      return [
        `${flags.input}: ${error.badLines.length} of ${error.lines} lines are invalid; nothing was sent and ${flags.output} was not touched.`,
        ...error.problems.map((problem) => `  ${Batch.formatProblem(problem)}`),
        `Fix these lines (format: {"custom_id","method":"POST","url":"/v1/chat/completions"|"/v1/embeddings"|"/v1/responses","body":{…}}) and run again.`
      ].join("\n")
    case "OutputExists":
      return `${error.path} already exists. Add --resume to continue it (finished custom_ids are skipped) or --overwrite to start over.`
    case "OutputCorrupt":
      return `${error.message}. Nothing was sent.`
    case "BatchIoError":
      return `${error.message}. Check the path and permissions; nothing was sent.`
    case "OutputIsInput":
      return `${error.message}. Choose another -o; nothing was sent and ${flags.input} was not touched.`
    case "InvalidOptions":
      return `${error.message}. Nothing was sent.`
  }
}

type Outcome = { readonly code: number; readonly summary: Batch.Summary | undefined }

const usage = (text: string): Effect.Effect<Outcome> =>
  Effect.as(err(text), { code: ExitCode.usage, summary: undefined })

/** The key(s) of the job; `undefined` after saying why there are none or the base URL is bad. */
const checkClient = (flags: BatchFlags) =>
  Effect.gen(function* () {
    const keys = credentials(flags)
    if (typeof keys === "string") return yield* Effect.as(err(keys), undefined)
    const baseUrl = baseUrlOf(flags.baseUrl)
    const checked = yield* Effect.result(
      OpenAiConfig.checkBaseUrl(OpenAiConfig.resolve({ baseUrl, allowInsecure: flags.allowInsecure === true }))
    )
    if (Result.isSuccess(checked)) return keys
    const fix = "Pass a valid --base-url (or OPENAI_BASE_URL), e.g. https://api.openai.com/v1"
    return yield* Effect.as(err(`${checked.failure.message}. ${fix}`), undefined)
  })

type Keys = Exclude<ReturnType<typeof credentials>, string>

/**
 * SIGINT/SIGTERM: the first completes `shutdown` (the job drains), a second exits at once with the resume command.
 * Returns the function that removes the handlers.
 */
const onSignals = (flags: BatchFlags, shutdown: Deferred.Deferred<void>): (() => void) => {
  let signals = 0
  let firstSignalAt = 0
  const onSignal = (signal: NodeJS.Signals) => {
    // A signal sent to the process group (timeout(1), systemd, a CI cancel) reaches sluice directly and again
    // through its launcher a moment later: that is one request to stop, not the second press that exits now.
    if (signals > 0 && Date.now() - firstSignalAt < duplicateSignalMs) return
    if (signals === 0) firstSignalAt = Date.now()
    signals++
    if (signals > 1) {
      process.stderr.write(`\n${signal} again: exiting now. Resume with:\n  ${resumeCommand(flags)}\n`)
      process.exit(ExitCode.interrupted)
    }
    process.stderr.write(
      `\n${signal}: no new requests; waiting up to ${flags.graceSeconds ?? 10} s for those in flight (again to exit now)\n`
    )
    Deferred.doneUnsafe(shutdown, Effect.void)
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  return () => {
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
  }
}

/** `Batch.run`, or `Batch.remote` with `--remote`, on the input (this shard's lines with `--shard`). */
const makeJob = (
  flags: BatchFlags,
  shutdown: Deferred.Deferred<void>,
  progress: SubscriptionRef.SubscriptionRef<Batch.Progress>
) => {
  const mode = flags.resume ? "resume" : flags.overwrite ? "overwrite" : "new"
  // --shard: this process's lines only (internal/shard.ts); `input` names the file, which the stream no longer does.
  const lines = shardLines(Batch.linesFromFile(flags.input), flags.redis?.shard)
  const common = {
    input: flags.input,
    output: flags.output,
    mode,
    retryFailed: flags.retryFailed,
    shutdown: Deferred.await(shutdown),
    progress
  } as const
  return flags.remote
    ? Batch.remote(lines, {
        ...common,
        onCreated: (id) => err(`created remote batch ${id} (24 h window); waiting for it to finish`)
      })
    : Batch.run(lines, {
        ...common,
        concurrency: flags.concurrency ?? 16,
        gracePeriod: `${flags.graceSeconds ?? 10} seconds`
      })
}

type JobEffect = ReturnType<typeof makeJob>

/** Writes the HTML report of the run (the job's telemetry) to `--report`'s path, when the job ends. */
const withReport = (flags: BatchFlags, path: string, job: JobEffect) =>
  Effect.scoped(
    Effect.gen(function* () {
      // @sluice/report is loaded only for --report
      const { RunReport } = yield* Effect.promise(() => import("@sluice/report"))
      const recorder = yield* RunReport.recorder()
      const written = Effect.flatMap(
        recorder.render({ title: `sluice batch ${flags.input}`, description: `output: ${flags.output}` }),
        (html) =>
          Effect.matchEffect(
            Effect.tryPromise(() => Fs.writeFile(path, html)),
            {
              onFailure: () => err(`could not write the report to ${path}: check the path`),
              onSuccess: () => err(`report: ${path}`)
            }
          )
      )
      return yield* Effect.ensuring(job, written)
    })
  )

/** The job with its client: telemetry only for --report (its recorder is the one consumer). */
const provideClient = (flags: BatchFlags, keys: Keys, reasons: Reasons, job: JobEffect) =>
  flags.report === undefined
    ? job.pipe(Effect.provide(layer(flags, keys, reasons)))
    : withReport(flags, flags.report, job).pipe(Effect.provide(layerWithTelemetry(flags, keys, reasons)))

/** The exit code of a job that failed, after saying what happened and what to do. */
const failed = (flags: BatchFlags, error: unknown): Effect.Effect<Outcome> => {
  const tag = typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : undefined
  const message = (error as { message?: string }).message
  if (tag !== undefined && batchErrorTags.has(tag)) return usage(explain(error as Batch.RunError, flags))
  // --redis: the shared Redis did not answer when the gates were built (internal/redis.ts); nothing was sent.
  if (tag === "StoreUnavailable") {
    return Effect.as(
      err(
        `${message}. Nothing was sent. Start Redis or check --redis / SLUICE_REDIS_URL, then run the same command again.`
      ),
      { code: ExitCode.terminal, summary: undefined }
    )
  }
  if (tag !== undefined && (tag === "RemoteBatchFailed" || "retryable" in (error as object))) {
    return Effect.as(
      err(`${tag}: ${message}. Nothing more was written; fix it and resume:\n  ${resumeCommand(flags)}`),
      { code: ExitCode.failures, summary: undefined }
    )
  }
  return usage(`configuration error: ${String(error)}`)
}

/**
 * Runs the batch command and returns its exit code (and the summary, when there is one).
 *
 * @internal
 */
export const runBatch = (flags: BatchFlags, options: { readonly quiet?: boolean } = {}): Effect.Effect<Outcome> =>
  Effect.gen(function* () {
    const keys = yield* checkClient(flags)
    if (keys === undefined) return { code: ExitCode.usage, summary: undefined }
    const shutdown = yield* Deferred.make<void>()
    const removeHandlers = onSignals(flags, shutdown)
    const progress = yield* Batch.makeProgress
    const reasons = new Reasons()
    const renderer =
      options.quiet === true
        ? undefined
        : yield* Effect.forkChild(
            render(progress, process.stderr.isTTY === true, colors(process.stderr), () => reasons.inFlight)
          )
    const job = provideClient(flags, keys, reasons, makeJob(flags, shutdown, progress))
    const result = yield* Effect.result(job).pipe(Effect.ensuring(Effect.sync(removeHandlers)))
    if (renderer !== undefined) yield* Fiber.interrupt(renderer)
    if (Result.isFailure(result)) return yield* failed(flags, result.failure)
    const summary = result.success
    const code = exitCodeOf(summary)
    if (options.quiet !== true) yield* report(flags, summary, code, reasons)
    return { code, summary }
  })
