/**
 * The body of `Embed.runFile`: an input file → checked (every line, nothing sent if one is wrong) → the output,
 * which is the journal (`resume` continues it), through `embed`.
 *
 * @internal
 */
import * as Path from "node:path"
import { Pricing } from "@sluice/core"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Batch from "../../Batch.js"
import * as Api from "../../Embed.js"
import * as Input from "./input.js"
import * as Cache from "./cache.js"
import * as Journal from "./journal.js"
import * as Remote from "./remote.js"
import * as Run from "./run.js"

const io = (path: string) => (error: unknown) =>
  new Batch.BatchIoError({ path, reason: (error as NodeJS.ErrnoException).code ?? (error as Error).message })

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

/** Checks the options, the paths and every input line; opens the journal. */
const open = (options: Api.FileOptions) =>
  Effect.gen(function* () {
    const problem = Run.validateOptions(options)
    if (problem !== undefined) return yield* problem
    const format = options.format ?? "jsonl"
    const outputs = format === "f32" ? [options.output, Journal.idsPath(options.output)] : [options.output]
    for (const output of outputs) {
      if (Path.resolve(output) === Path.resolve(options.input) || Journal.sameFile(output, options.input)) {
        return yield* new Batch.OutputIsInput({
          input: options.input,
          output,
          how: Path.resolve(output) === Path.resolve(options.input) ? "same path" : "same file"
        })
      }
    }
    const scan = yield* Effect.tryPromise({ try: () => Input.scan(options.input), catch: io(options.input) })
    if (scan.problems.length > 0) {
      return yield* new Batch.BatchInputInvalid({ problems: scan.problems, lines: scan.documents })
    }
    const mode = options.mode ?? "new"
    const exists = yield* Effect.promise(() => Journal.outputExists(options.output, format))
    if (exists && mode === "new") return yield* new Batch.OutputExists({ path: options.output })
    const skipped =
      mode === "resume"
        ? yield* Effect.tryPromise({
            try: () => {
              const ids = (async function* () {
                for await (const document of Input.documents(options.input, scan.format)) yield document.id
              })()
              return Journal.resume(options.output, format, ids, Journal.widthOf(options.model, options.dimensions))
            },
            catch: (error) =>
              error instanceof Journal.Corrupt
                ? new Batch.OutputCorrupt({ path: error.path, line: error.line, reason: error.reason })
                : io(options.output)(error)
          })
        : 0
    const writer = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => Journal.openWriter(options.output, format, mode !== "resume"),
        catch: io(options.output)
      }),
      (writer) => Effect.promise(() => writer.close())
    )
    return { scan, skipped, writer, format }
  })

/** @internal */
export const runFile = (options: Api.FileOptions) =>
  Effect.scoped(
    Effect.gen(function* () {
      const startedAt = yield* Clock.currentTimeMillis
      const { scan, skipped, writer, format } = yield* open(options)
      if (options.onStart !== undefined) yield* options.onStart({ total: scan.documents, skipped })
      const stats = options.stats ?? Api.makeStats()
      let cache = options.cache
      let remote: Remote.Prefilled | undefined
      if (options.remote === true) {
        cache ??= yield* Effect.mapError(
          Cache.temporary,
          (reason) => new Api.CacheError({ path: "(temporary)", reason })
        )
        remote = yield* Remote.prefill(options, scan.format, skipped, cache)
      }
      const meter = Option.getOrUndefined(yield* Effect.serviceOption(Batch.Meter))
      const pricing = Option.getOrElse(yield* Effect.serviceOption(Pricing.Pricing), () => Pricing.fromTable())
      const before = meter === undefined ? undefined : yield* meter.counts
      const width = Journal.widthOf(options.model, options.dimensions)
      const documents = Stream.fromAsyncIterable(Input.documents(options.input, scan.format), io(options.input)).pipe(
        Stream.drop(skipped)
      )
      const stop = yield* Deferred.make<void>()
      if (options.shutdown !== undefined)
        yield* Effect.forkScoped(Effect.andThen(options.shutdown, Deferred.succeed(stop, undefined)))
      let written = 0
      const pipeline = Api.embed(documents, { ...options, cache, stats, shutdown: Deferred.await(stop) }).pipe(
        // Lines are written in groups (one write each); a group not yet written when the process dies is in the
        // store, so resume takes it from there.
        Stream.rechunk(512),
        Stream.runForEachArray((batch) =>
          Effect.gen(function* () {
            if (format === "f32" && width !== undefined && batch.some((e) => e.vector.length !== width)) {
              return yield* new Api.ResponseMismatch({ reason: `a vector is not ${width} floats wide` })
            }
            yield* Effect.tryPromise({ try: () => writer.write(batch), catch: io(options.output) })
            written += batch.length
          })
        )
      )
      const fiber = yield* Effect.forkChild(pipeline)
      const grace = Duration.fromInputUnsafe(options.gracePeriod ?? "10 seconds")
      // Stopped: what is in flight gets the grace period, then the rest is cut (the output stays a clean prefix).
      yield* Effect.forkChild(
        Effect.andThen(Effect.andThen(Deferred.await(stop), Effect.sleep(grace)), Fiber.interrupt(fiber))
      )
      const exit = yield* Fiber.await(fiber)
      let stopped: Api.FileSummary["stopped"] = remote?.stopped ?? null
      if (exit._tag === "Failure") {
        const reason = exit.cause.reasons.find(Cause.isFailReason)
        if (reason !== undefined) {
          const failure = reason.error
          // Bad options, a broken output or cache: the caller's to fix, not a stop.
          if (failure._tag === "InvalidOptions" || failure._tag === "BatchIoError" || failure._tag === "CacheError") {
            return yield* Effect.fail(failure)
          }
          stopped = stoppedBy(failure)
        } else stopped = { reason: "interrupted", message: "interrupted: the grace period ended" }
      } else if (stopped === null && (yield* Deferred.isDone(stop)) && skipped + written < scan.documents) {
        stopped = { reason: "interrupted", message: "interrupted: stopped reading and drained" }
      }
      const after = meter === undefined ? undefined : yield* meter.counts
      const live = {
        sent: after === undefined || before === undefined ? stats.requests : after.requestsSent - before.requestsSent,
        rateLimited: after === undefined || before === undefined ? 0 : after.rateLimited - before.rateLimited,
        retries: after === undefined || before === undefined ? 0 : after.retries - before.retries
      }
      const usage = (tokens: number) => ({ promptTokens: tokens, completionTokens: 0, cachedPromptTokens: 0 })
      const cost = (tokens: number, batch: boolean) =>
        tokens === 0 ? 0 : Option.getOrElse(pricing.cost(options.model, usage(tokens), { batch }), () => 0)
      const summary: Api.FileSummary = {
        total: scan.documents,
        embedded: written,
        skipped,
        pending: scan.documents - skipped - written,
        requests_sent: live.sent + (remote?.packs ?? 0),
        rate_limited: live.rateLimited,
        retries: live.retries,
        inputs_sent: stats.inputsSent + (remote?.inputs ?? 0),
        cache_hits: stats.cacheHits - (remote?.inputs ?? 0),
        deduplicated: stats.deduplicated,
        tokens: stats.tokens + (remote?.tokens ?? 0),
        cost_usd: cost(stats.tokens, false) + cost(remote?.tokens ?? 0, true),
        wall_s: ((yield* Clock.currentTimeMillis) - startedAt) / 1000,
        stopped
      }
      return summary
    })
  )
