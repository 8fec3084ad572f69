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

const report = (flags: BatchFlags, summary: Batch.Summary, code: number, reasons: Reasons) =>
  Effect.gen(function* () {
    if (flags.json) {
      yield* out(JSON.stringify({ ...Batch.summaryJson(summary), output: flags.output, exit_code: code }))
    } else {
      yield* out(
        `sluice batch: ${summary.succeeded} succeeded, ${summary.failed} failed, ${summary.skipped} already done, ` +
          `${summary.pending} not run — of ${summary.total} in ${summary.wall_s.toFixed(1)} s → ${flags.output}`
      )
      yield* out(
        `  requests sent ${summary.requests_sent} · 429s ${summary.rate_limited} · retries ${summary.retries} · ` +
          `tokens ${summary.prompt_tokens} in / ${summary.completion_tokens} out · $${summary.cost_usd.toFixed(4)}`
      )
    }
    if (reasons.retries.size > 0) yield* err(`retried after: ${Reasons.format(reasons.retries)}`)
    if (summary.failed > 0 && reasons.failures.size > 0) yield* err(`failed with: ${Reasons.format(reasons.failures)}`)
    const stopped = summary.stopped
    const pending = `${summary.pending} request(s) were not run and stay pending`
    switch (stopped?.reason) {
      case "budget":
        yield* err(
          `stopped by the budget: ${stopped.message}. ${pending}. Raise --budget-usd and continue with:\n  ${resumeCommand({ ...flags, budgetUsd: undefined })} --budget-usd <higher>`
        )
        break
      case "quota":
        yield* err(
          `stopped: the account is out of quota (${stopped.message}). ${pending}; nothing was retried. Add credits or use another key, then continue with:\n  ${resumeCommand(flags)}`
        )
        break
      case "auth":
        yield* err(
          `stopped: the API key was refused or unreadable (${stopped.message}). ${pending}. Fix the key (OPENAI_API_KEY or the --api-key-file), then continue with:\n  ${resumeCommand(flags)}`
        )
        break
      case "circuit":
        yield* err(
          `stopped: the circuit breaker fused the key (${stopped.message}). ${pending}. Fix the cause, then continue with:\n  ${resumeCommand(flags)}`
        )
        break
      case "store":
        yield* err(
          `stopped: Redis stayed unreachable (${stopped.message}). ${pending}; nothing was sent without a reservation. Bring Redis back (or raise --redis-wait-seconds), then continue with:\n  ${resumeCommand(flags)}`
        )
        break
      case "interrupted":
        yield* err(
          `interrupted: ${pending}; every finished request is in ${flags.output}. Resume with:\n  ${resumeCommand(flags)}`
        )
        break
      default: {
        const tooLarge = reasons.failures.has("RequestTooLarge")
        if (summary.failed > 0 && tooLarge) {
          yield* err(
            `${reasons.failures.get("RequestTooLarge")} request(s) are larger than the key's token limit per minute${flags.tpm === undefined ? "" : ` (--tpm ${flags.tpm})`}: running them again cannot help until the limit is higher${flags.tpm === undefined ? "" : " (raise --tpm, or leave it out to learn the limit from the headers)"} or the requests (prompt + max_tokens) are smaller.`
          )
        }
        if (summary.failed > 0) {
          yield* err(
            `${summary.failed} request(s) failed; their error lines are in ${flags.output}. Run them again with:\n  ${resumeCommand(tooLarge ? { ...flags, tpm: undefined } : flags, ["--retry-failed"])}`
          )
        }
      }
    }
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

/**
 * Runs the batch command and returns its exit code (and the summary, when there is one).
 *
 * @internal
 */
export const runBatch = (
  flags: BatchFlags,
  options: { readonly quiet?: boolean } = {}
): Effect.Effect<{ readonly code: number; readonly summary: Batch.Summary | undefined }> =>
  Effect.gen(function* () {
    const keys = credentials(flags)
    if (typeof keys === "string") {
      yield* err(keys)
      return { code: ExitCode.usage, summary: undefined }
    }
    const baseUrl = baseUrlOf(flags.baseUrl)
    const checked = yield* Effect.result(
      OpenAiConfig.checkBaseUrl(OpenAiConfig.resolve({ baseUrl, allowInsecure: flags.allowInsecure === true }))
    )
    if (Result.isFailure(checked)) {
      yield* err(
        `${checked.failure.message}. Pass a valid --base-url (or OPENAI_BASE_URL), e.g. https://api.openai.com/v1`
      )
      return { code: ExitCode.usage, summary: undefined }
    }

    const shutdown = yield* Deferred.make<void>()
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
    const progress = yield* Batch.makeProgress
    const reasons = new Reasons()
    const renderer =
      options.quiet === true
        ? undefined
        : yield* Effect.forkChild(
            render(progress, process.stderr.isTTY === true, colors(process.stderr), () => reasons.inFlight)
          )
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
    const job = flags.remote
      ? Batch.remote(lines, {
          ...common,
          onCreated: (id) => err(`created remote batch ${id} (24 h window); waiting for it to finish`)
        })
      : Batch.run(lines, {
          ...common,
          concurrency: flags.concurrency ?? 16,
          gracePeriod: `${flags.graceSeconds ?? 10} seconds`
        })
    // Telemetry only for --report (its recorder is the one consumer): without it the gates are not wrapped.
    const reportPath = flags.report
    const reported =
      reportPath === undefined
        ? job.pipe(Effect.provide(layer(flags, keys, reasons)))
        : Effect.scoped(
            Effect.gen(function* () {
              // @sluice/report is loaded only for --report
              const { RunReport } = yield* Effect.promise(() => import("@sluice/report"))
              const recorder = yield* RunReport.recorder()
              return yield* job.pipe(
                Effect.ensuring(
                  Effect.flatMap(
                    recorder.render({ title: `sluice batch ${flags.input}`, description: `output: ${flags.output}` }),
                    (html) =>
                      Effect.matchEffect(
                        Effect.tryPromise(() => Fs.writeFile(reportPath, html)),
                        {
                          onFailure: () => err(`could not write the report to ${reportPath}: check the path`),
                          onSuccess: () => err(`report: ${reportPath}`)
                        }
                      )
                  )
                )
              )
            })
          ).pipe(Effect.provide(layerWithTelemetry(flags, keys, reasons)))
    const result = yield* Effect.result(reported).pipe(
      Effect.ensuring(
        Effect.sync(() => {
          process.off("SIGINT", onSignal)
          process.off("SIGTERM", onSignal)
        })
      )
    )
    if (renderer !== undefined) yield* Fiber.interrupt(renderer)
    if (Result.isFailure(result)) {
      const error = result.failure
      if ("_tag" in error && batchErrorTags.has(error._tag)) {
        yield* err(explain(error as Batch.RunError, flags))
        return { code: ExitCode.usage, summary: undefined }
      }
      // --redis: the shared Redis did not answer when the gates were built (internal/redis.ts); nothing was sent.
      if ("_tag" in error && error._tag === "StoreUnavailable") {
        yield* err(
          `${(error as { message: string }).message}. Nothing was sent. Start Redis or check --redis / SLUICE_REDIS_URL, then run the same command again.`
        )
        return { code: ExitCode.terminal, summary: undefined }
      }
      if ("_tag" in error && (error._tag === "RemoteBatchFailed" || "retryable" in error)) {
        yield* err(
          `${error._tag}: ${(error as { message: string }).message}. Nothing more was written; fix it and resume:\n  ${resumeCommand(flags)}`
        )
        return { code: ExitCode.failures, summary: undefined }
      }
      yield* err(`configuration error: ${String(error)}`)
      return { code: ExitCode.usage, summary: undefined }
    }
    const summary = result.success
    const code = exitCodeOf(summary)
    if (options.quiet !== true) yield* report(flags, summary, code, reasons)
    return { code, summary }
  })
