/**
 * `sluice embed INPUT -o OUTPUT --model M`: flags checked here (no client, stream or simulator loaded until they
 * pass), then `Embed.runFile` (or, with `--remote`, the Batch API) with a progress bar, a summary and batch's exit
 * codes.
 *
 * @internal
 */
import * as NodeFs from "node:fs"
import type { Batch, Embed } from "@sluice/stream"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type { ClientFlags } from "./client.js"
import type * as Flags from "./flags.js"
import { checkJobNumbers } from "./jobNumbers.js"
import * as ScaleOut from "./redis.js"
import { checkTables, tableArgs } from "./tables.js"
import { Checks, canonical, checkKeyFile, checkWritable, hasContent, show } from "./usage.js"

/** @internal */
export interface EmbedFlags extends ClientFlags {
  readonly input: string
  readonly output: string
  readonly model: string
  readonly dimensions: number | undefined
  readonly cache: string | undefined
  readonly resume: boolean
  readonly overwrite: boolean
  readonly remote: boolean
  readonly json: boolean
  readonly format: "jsonl" | "f32"
  readonly overLong: Embed.OverLong
  readonly graceSeconds: number | undefined
}

/** The flags as typed, before their checks (the shared records' fields from flags.ts). @internal */
export interface RawEmbedFlags extends Flags.Connection, Flags.JobGates, Flags.JobOutput, Flags.Tables {
  readonly input: string
  readonly output: string
  readonly model: string
  readonly dimensions: string | undefined
  readonly cache: string | undefined
  readonly remote: boolean
  readonly format: string | undefined
  readonly overLong: string | undefined
  /** `--redis`, `--budget-name`, `--redis-wait-seconds` (internal/redis.ts; embed has no `--shard`). */
  readonly redis?: ScaleOut.RawRedisFlags | undefined
}

const oneOf = <A extends string>(checks: Checks, flag: string, raw: string | undefined, allowed: ReadonlyArray<A>) => {
  if (raw === undefined) return undefined
  if ((allowed as ReadonlyArray<string>).includes(raw)) return raw as A
  checks.fail(`${flag} ${show(raw)}: expected one of ${allowed.join(", ")}`)
  return undefined
}

const checkInput = (checks: Checks, input: string): boolean => {
  const what = 'a file of documents (JSONL {"id","text"} or one per line)'
  if (input.trim() === "") {
    checks.fail(`the input ${show(input)} is empty; expected the path of ${what}`)
    return false
  }
  let fd: number | undefined
  try {
    if (NodeFs.statSync(input).isDirectory()) {
      checks.fail(`the input ${show(input)} is a directory; expected ${what}`)
      return false
    }
    fd = NodeFs.openSync(input, "r")
    if (!hasContent(fd)) {
      checks.fail(`the input ${show(input)} has no documents (the file is empty or blank)`)
      return false
    }
    return true
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable"
    checks.fail(
      code === "ENOENT"
        ? `the input ${show(input)} does not exist; expected ${what}`
        : `the input ${show(input)} cannot be read (${code}); expected ${what}`
    )
    return false
  } finally {
    if (fd !== undefined) NodeFs.closeSync(fd)
  }
}

const checkCache = (checks: Checks, dir: string | undefined) => {
  if (dir === undefined) return
  if (dir.trim() === "") return checks.fail(`--cache ${show(dir)}: empty; expected a directory for the cache`)
  try {
    if (!NodeFs.statSync(dir).isDirectory()) checks.fail(`--cache ${show(dir)}: is a file; expected a directory`)
  } catch {
    checkWritable(checks, "--cache", dir) // does not exist yet: its parent must
  }
}

/** With `--remote` the server runs the batch: the flags that only shape a local run are mistakes. */
const checkRemote = (checks: Checks, raw: RawEmbedFlags) => {
  if (!raw.remote) return
  const local = { "--concurrency": raw.concurrency, "--grace-seconds": raw.graceSeconds }
  for (const [flag, value] of Object.entries(local)) {
    if (value === undefined) continue
    checks.fail(`${flag} ${show(value)} has no effect with --remote (the server runs the batch); leave out one of them`)
  }
}

/** The output (and its `.ids` file with `--format f32`): writable, and neither the input nor the key file. */
const checkOutputs = (checks: Checks, raw: RawEmbedFlags, format: "jsonl" | "f32", inputOk: boolean) => {
  if (raw.output.trim() === "")
    return checks.fail(`-o/--output ${show(raw.output)}: empty; expected the path of the output`)
  for (const output of format === "f32" ? [raw.output, `${raw.output}.ids`] : [raw.output]) {
    checkWritable(checks, "-o/--output", output)
    if (inputOk && canonical(output) === canonical(raw.input)) {
      checks.fail(`-o/--output ${show(output)} is the input file; the vectors go to another file`)
    }
    if (raw.apiKeyFile !== undefined && canonical(output) === canonical(raw.apiKeyFile)) {
      checks.fail(`-o/--output ${show(output)} is the --api-key-file; the vectors go to another file`)
    }
  }
}

/**
 * Every check of `sluice embed` that needs no network. Returns the flags, or exit code 1 after printing every
 * problem.
 *
 * @internal
 */
export const checkEmbed = (raw: RawEmbedFlags): EmbedFlags | number => {
  const checks = new Checks("embed")
  const model = checks.text("--model", raw.model, "an embedding model id, e.g. text-embedding-3-small", { name: true })
  const dimensions = checks.integer("--dimensions", raw.dimensions, { min: 1, max: 65_536 }, "vector length")
  const numbers = checkJobNumbers(checks, raw, 1024)
  const format = oneOf(checks, "--format", raw.format, ["jsonl", "f32"] as const) ?? "jsonl"
  const overLong = oneOf(checks, "--over-long", raw.overLong, ["fail", "truncate", "split"] as const) ?? "fail"
  if (raw.resume && raw.overwrite) {
    checks.fail("--resume and --overwrite exclude each other: --resume continues the output, --overwrite replaces it")
  }
  checkRemote(checks, raw)
  checks.baseUrl(raw.baseUrl, raw.allowInsecure)
  checkKeyFile(checks, raw.apiKeyFile)
  checkCache(checks, raw.cache)
  checkOutputs(checks, raw, format, checkInput(checks, raw.input))
  const tables = checkTables(checks, raw)
  const redis = raw.redis === undefined ? undefined : ScaleOut.check(checks, raw.redis)
  const code = checks.report()
  if (code !== undefined) return code
  return {
    ...numbers,
    dimensions,
    tables,
    ...(redis === undefined ? {} : { redis }),
    input: raw.input,
    output: raw.output,
    model,
    cache: raw.cache,
    resume: raw.resume,
    overwrite: raw.overwrite,
    remote: raw.remote,
    json: raw.json,
    format,
    overLong,
    baseUrl: raw.baseUrl,
    apiKeyFile: raw.apiKeyFile,
    allowInsecure: raw.allowInsecure
  }
}

const quote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`)

/**
 * The command that continues this job.
 *
 * @internal
 */
export const resumeCommand = (flags: EmbedFlags, extra: ReadonlyArray<string> = []): string => {
  const args = ["sluice", "embed", flags.input, "-o", flags.output, "--model", flags.model, "--resume"]
  const add = (flag: string, value: string | number | undefined) => {
    if (value !== undefined) args.push(flag, String(value))
  }
  add("--dimensions", flags.dimensions)
  add("--cache", flags.cache)
  if (flags.format !== "jsonl") add("--format", flags.format)
  if (flags.overLong !== "fail") add("--over-long", flags.overLong)
  add("--base-url", flags.baseUrl)
  add("--api-key-file", flags.apiKeyFile)
  if (flags.allowInsecure === true) args.push("--allow-insecure")
  add("--concurrency", flags.concurrency)
  add("--rpm", flags.rpm)
  add("--tpm", flags.tpm)
  add("--max-retries", flags.maxRetries)
  add("--budget-usd", flags.budgetUsd)
  if (flags.remote) args.push("--remote")
  if (flags.json) args.push("--json")
  args.push(...tableArgs(flags.tables))
  args.push(...ScaleOut.resumeArgs(flags.redis))
  return [...args, ...extra].map(quote).join(" ")
}

const err = (text: string) => Effect.sync(() => process.stderr.write(`${text}\n`))
const out = (text: string) => Effect.sync(() => process.stdout.write(`${text}\n`))

/** Exit codes as batch's: 0 done, 1 usage, 2 failures or pending, 3 budget, 4 terminal, 130 interrupted. */
const exitCodeOf = (summary: Embed.FileSummary): number => {
  switch (summary.stopped?.reason) {
    case "budget":
      return 3
    case "quota":
    case "auth":
    case "circuit":
    case "store":
      return 4
    case "interrupted":
      return 130
    default:
      return summary.stopped !== null || summary.pending > 0 ? 2 : 0
  }
}

const report = (flags: EmbedFlags, summary: Embed.FileSummary, code: number) =>
  Effect.gen(function* () {
    if (flags.json) yield* out(JSON.stringify({ ...summary, output: flags.output, exit_code: code }))
    else {
      yield* out(
        `sluice embed: ${summary.embedded} embedded, ${summary.skipped} already done, ${summary.pending} not run — of ${summary.total} in ${summary.wall_s.toFixed(1)} s → ${flags.output}`
      )
      yield* out(
        `  requests sent ${summary.requests_sent} · inputs sent ${summary.inputs_sent} · cache hits ${summary.cache_hits} · repeats joined ${summary.deduplicated} · 429s ${summary.rate_limited} · retries ${summary.retries} · tokens ${summary.tokens} · $${summary.cost_usd.toFixed(4)}`
      )
    }
    const stopped = summary.stopped
    if (stopped === null) return
    const pending = `${summary.pending} document(s) stay pending; every earlier one is in ${flags.output}`
    const next =
      stopped.reason === "budget"
        ? `Raise --budget-usd and continue with:\n  ${resumeCommand({ ...flags, budgetUsd: undefined })} --budget-usd <higher>`
        : `Continue with:\n  ${resumeCommand(flags)}`
    yield* err(`stopped (${stopped.reason}): ${stopped.message}. ${pending}. ${next}`)
  })

const explain = (error: { readonly _tag: string; readonly message: string }, flags: EmbedFlags): string => {
  switch (error._tag) {
    case "BatchInputInvalid":
      return `${flags.input}: ${error.message.replace("input lines are invalid; nothing was sent", "lines are invalid; nothing was sent")}\nFix these lines (format: {"id": string, "text": string} per line, or plain text) and run again; ${flags.output} was not touched.`
    case "OutputExists":
      return `${flags.output} already exists. Add --resume to continue it (the documents in it are skipped) or --overwrite to start over.`
    case "OutputCorrupt":
      return `${error.message.replace("is not a batch output", "is not this input's embeddings")}. Nothing was sent.`
    default:
      return `${error.message}. Nothing was sent.`
  }
}

const usageTags = new Set([
  "BatchInputInvalid",
  "OutputExists",
  "OutputCorrupt",
  "BatchIoError",
  "OutputIsInput",
  "InvalidOptions",
  "CacheError"
])

type Stream = typeof import("@sluice/stream")
type Progress = SubscriptionRef.SubscriptionRef<Batch.Progress>

/**
 * Ctrl-C / SIGTERM: the first stops new requests (those in flight finish), the second exits at once. Returns the
 * effect that removes the handlers.
 */
const onSignals = (flags: EmbedFlags, shutdown: Deferred.Deferred<void>) => {
  const onSignal = (signal: NodeJS.Signals) => {
    if (Deferred.isDoneUnsafe(shutdown)) {
      process.stderr.write(`\n${signal} again: exiting now. Resume with:\n  ${resumeCommand(flags)}\n`)
      process.exit(130)
    }
    process.stderr.write(`\n${signal}: no new requests; waiting for those in flight (again to exit now)\n`)
    Deferred.doneUnsafe(shutdown, Effect.void)
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  return Effect.sync(() => {
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
  })
}

/** The progress bar's state from the run's counters (published every 100 ms, and once at the end). */
const publisher = (stats: Embed.Stats, bar: Progress, skipped: () => number) => {
  const startedAt = Date.now()
  return Effect.suspend(() => {
    const wall = (Date.now() - startedAt) / 1000
    const done = skipped() + stats.emitted
    const rate = wall > 0 ? stats.emitted / wall : 0
    return SubscriptionRef.update(bar, (p) => ({
      ...p,
      done,
      succeeded: stats.emitted,
      in_flight: stats.inFlight,
      prompt_tokens: stats.tokens,
      wall_s: wall,
      rate_per_s: rate,
      eta_s: rate > 0 ? Math.max(0, p.total - done) / rate : null
    }))
  })
}

/** The job itself: the cache (when asked for) and `Embed.runFile` with the flags. */
const job = (
  { Embed }: Stream,
  flags: EmbedFlags,
  run: { readonly stats: Embed.Stats; readonly shutdown: Deferred.Deferred<void>; readonly bar: Progress },
  setSkipped: (skipped: number) => void
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const cache = flags.cache === undefined ? undefined : yield* Embed.openCache(flags.cache)
      return yield* Embed.runFile({
        input: flags.input,
        output: flags.output,
        model: flags.model,
        dimensions: flags.dimensions,
        format: flags.format,
        overLong: flags.overLong,
        mode: flags.resume ? "resume" : flags.overwrite ? "overwrite" : "new",
        concurrency: flags.concurrency,
        tokensPerMinute: flags.tpm,
        cache,
        stats: run.stats,
        remote: flags.remote,
        shutdown: Deferred.await(run.shutdown),
        gracePeriod: `${flags.graceSeconds ?? 10} seconds`,
        onStart: (start) =>
          Effect.andThen(
            Effect.sync(() => setSkipped(start.skipped)),
            SubscriptionRef.update(run.bar, (p) => ({ ...p, total: start.total, skipped: start.skipped }))
          )
      })
    })
  )

/** The exit code of a failed job, after saying what to do. */
const failed = (flags: EmbedFlags, error: { readonly _tag: string; readonly message: string }) => {
  if (usageTags.has(error._tag)) return Effect.as(err(explain(error, flags)), 1)
  // --redis: the shared Redis did not answer when the gates were built (internal/redis.ts); nothing was sent.
  if (error._tag === "StoreUnavailable") {
    return Effect.as(
      err(
        `${error.message}. Nothing was sent. Start Redis or check --redis / SLUICE_REDIS_URL, then run the same command again.`
      ),
      4
    )
  }
  return Effect.as(err(`${error._tag}: ${error.message}. Fix it and resume:\n  ${resumeCommand(flags)}`), 2)
}

/**
 * Runs the command (its code loads here, after the checks) and returns the exit code.
 *
 * @internal
 */
export const runEmbed = (flags: EmbedFlags): Effect.Effect<number> =>
  Effect.flatMap(
    Effect.promise(() => Promise.all([import("@sluice/stream"), import("./client.js"), import("./progress.js")])),
    ([stream, client, progress]) =>
      Effect.gen(function* () {
        const keys = client.credentials(flags)
        if (typeof keys === "string") return yield* Effect.as(err(keys), 1)
        const shutdown = yield* Deferred.make<void>()
        const removeSignals = onSignals(flags, shutdown)
        const stats = stream.Embed.makeStats()
        const bar = yield* stream.Batch.makeProgress
        let skipped = 0
        const publish = publisher(stats, bar, () => skipped)
        const renderer =
          flags.json && process.stderr.isTTY !== true
            ? undefined
            : yield* Effect.forkChild(
                Effect.andThen(
                  Effect.forkChild(Effect.repeat(publish, Schedule.spaced("100 millis"))),
                  progress.render(bar, process.stderr.isTTY === true, client.colors(process.stderr))
                )
              )
        const running = job(stream, flags, { stats, shutdown, bar }, (n) => {
          skipped = n
        })
        const result = yield* Effect.result(running.pipe(Effect.provide(client.layer(flags, keys)))).pipe(
          Effect.ensuring(removeSignals)
        )
        if (renderer !== undefined) yield* Effect.andThen(publish, Fiber.interrupt(renderer))
        if (Result.isFailure(result)) {
          return yield* failed(flags, result.failure as { readonly _tag: string; readonly message: string })
        }
        const code = exitCodeOf(result.success)
        yield* report(flags, result.success, code)
        return code
      })
  )
