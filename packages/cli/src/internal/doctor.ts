/**
 * `sluice doctor`: is the key valid, how slow is the server, how much rate-limit headroom is left, which
 * models exist and which of them (or the one you use) are deprecated, and what the one you use costs. The
 * lifecycle and the prices are the tables the other commands use: built in, or the files of `--lifecycle` /
 * `--prices` (`SLUICE_LIFECYCLE` / `SLUICE_PRICES`), read and validated by tableGates.ts before anything is sent.
 *
 * @internal
 */
import {
  Credentials,
  type Errors,
  Gates,
  ModelLifecycle,
  OpenAi,
  OpenAiConfig,
  Pricing,
  type RateLimitHeaders
} from "@sluice/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import { hint } from "./chat.js"
import { baseUrlOf, credentials } from "./client.js"
import { tableOptions } from "./tableGates.js"
import type { TableFiles } from "./tables.js"
import { Watch, layer as watchLayer } from "./watch.js"

/**
 * Each check is quick on a healthy server: a dead one is reported within about a minute, not after the client's
 * 10-minute defaults.
 *
 * @internal
 */
export const doctorTimeouts = { headersSeconds: 30, totalSeconds: 60, maxAttempts: 2 } as const

/** @internal */
export interface DoctorFlags {
  readonly baseUrl?: string | undefined
  readonly apiKeyFile?: string | undefined
  readonly allowInsecure?: boolean | undefined
  readonly model: string
  /** `--prices` / `--lifecycle` (tables.ts); `undefined`: the built-in tables. */
  readonly tables?: TableFiles | undefined
}

/** The tables the checks read, and where they came from. */
interface Tables {
  readonly lifecycle: ModelLifecycle.ModelLifecycle["Service"]
  readonly pricing: Pricing.Pricing["Service"]
  readonly files: TableFiles | undefined
}

/** What one check found: problems to count, or the exit code that ends the run (a refused key). */
interface Verdict {
  readonly problems: number
  readonly exit?: number
}

const ok: Verdict = { problems: 0 }

const say = (text: string) => Effect.sync(() => process.stdout.write(`${text}\n`))

const failed = (what: string, error: Errors.OpenAiError) =>
  say(`✗ ${what}: ${error._tag}: ${error.message}\n  → ${hint(error)}`)

/** The tables of `--prices` / `--lifecycle` (or the built-in ones); a bad file is its `InvalidOptions`. */
const tablesOf = (files: TableFiles | undefined): Effect.Effect<Tables, Errors.InvalidOptions> =>
  Effect.flatMap(Effect.fromResult(tableOptions(files)), (options) =>
    Effect.map(
      ModelLifecycle.make(options.modelLifecycle === false ? {} : options.modelLifecycle),
      (lifecycle): Tables => ({ lifecycle, pricing: Pricing.fromTable(options.pricing), files })
    )
  )

/** The client: no gates but the watch (announcing retries and every 10 s of waiting), short timeouts. */
const clientOf = (flags: DoctorFlags, base: string, keys: Layer.Layer<Credentials.Credentials>, watch: Watch) =>
  OpenAi.layer.pipe(
    Layer.provide(Layer.provide(watchLayer(watch), Gates.none)),
    Layer.provide(
      Layer.orDie(
        OpenAiConfig.layerConfig({
          baseUrl: base,
          allowInsecure: flags.allowInsecure === true,
          headersTimeout: `${doctorTimeouts.headersSeconds} seconds`,
          totalTimeout: `${doctorTimeouts.totalSeconds} seconds`,
          retry: { maxAttempts: doctorTimeouts.maxAttempts }
        })
      )
    ),
    Layer.provideMerge(keys)
  )

/** The key's fingerprint, or exit 4 when no key can be read. */
const keyCheck: Effect.Effect<Verdict, never, Credentials.Credentials> = Effect.gen(function* () {
  const key = yield* Effect.result((yield* Credentials.Credentials).get)
  if (Result.isFailure(key)) {
    yield* say(`✗ key: ${key.failure.message}`)
    return { problems: 0, exit: 4 }
  }
  yield* say(`  key ${key.success.keyId} (fingerprint; the key itself is never printed)`)
  return ok
})

/** Where the tables come from: a file, or built in as of the table's date. */
const tablesLine = (files: TableFiles | undefined) => {
  const source = (file: string | undefined, asOf: string) => file ?? `built in (as of ${asOf})`
  return `  prices ${source(files?.prices, Pricing.asOf)}; model lifecycle ${source(files?.lifecycle, ModelLifecycle.asOf)}`
}

const stateOf = (status: ModelLifecycle.Status) => status._tag.toLowerCase()

/** `GET /models`: the key is accepted, the latency, and which offered models the lifecycle flags (a note). */
const modelsCheck = (openai: OpenAi.OpenAi["Service"], tables: Tables): Effect.Effect<Verdict> =>
  Effect.gen(function* () {
    const models = yield* Effect.result(openai.models.list())
    if (Result.isFailure(models)) {
      yield* failed("key / models", models.failure)
      const refused = models.failure._tag === "AuthenticationFailed" || models.failure._tag === "PermissionDenied"
      return refused ? { problems: 0, exit: 4 } : { problems: 1 }
    }
    const ids = models.success.body.data.map((model) => model.id)
    yield* say(`✓ key accepted; GET /models in ${models.success.latencyMs} ms: ${ids.length} models`)
    const flagged: Array<string> = []
    for (const id of ids) {
      const status = yield* tables.lifecycle.status(id)
      if (status._tag !== "Active") flagged.push(`${id} (${stateOf(status)})`)
    }
    if (flagged.length > 0) yield* say(`! deprecated or retired models offered: ${flagged.join(", ")}`)
    return ok
  })

/** The model in use: deprecated or retired in the lifecycle table is a problem, with its replacement. */
const modelInUseCheck = (model: string, tables: Tables): Effect.Effect<Verdict> =>
  Effect.gen(function* () {
    const status = yield* tables.lifecycle.status(model)
    if (status._tag === "Active") return ok
    const shutdown = status.entry.shutdown === undefined ? "" : ` (shutdown ${status.entry.shutdown})`
    const replacement = status.entry.replacement === undefined ? "" : `; use ${status.entry.replacement} instead`
    yield* say(`! the model ${model} is ${stateOf(status)}${shutdown}${replacement}`)
    return { problems: 1 }
  })

const perMillion = (usd: number) => `$${usd}`

/**
 * The model's price in the prices table, as the budget and the summaries use it. No price is a note, not a problem:
 * only a job with `--budget-usd` needs one (it refuses the model's requests, `PriceUnknown`).
 */
const priceCheck = (model: string, tables: Tables): Effect.Effect<Verdict> => {
  const price = tables.pricing.price(model)
  if (price._tag === "None") {
    return Effect.as(
      say(
        `! no price for ${model}: with --budget-usd its requests are refused (PriceUnknown); add it to a --prices file`
      ),
      ok
    )
  }
  const { input, cachedInput, output } = price.value
  const parts = [
    `${perMillion(input)} input`,
    ...(cachedInput === undefined ? [] : [`${perMillion(cachedInput)} cached input`]),
    ...(output === undefined ? [] : [`${perMillion(output)} output`])
  ]
  return Effect.as(say(`  price of ${model}: ${parts.join(", ")} per 1M tokens`), ok)
}

const headroom = (remaining: number | undefined, limit: number | undefined) =>
  remaining === undefined || limit === undefined
    ? "not reported"
    : `${remaining}/${limit} (${Math.round((100 * remaining) / Math.max(1, limit))} %)`

const isLow = (remaining: number | undefined, limit: number | undefined) =>
  remaining !== undefined && limit !== undefined && remaining < 0.2 * limit

/** The rate-limit headroom of one response's headers; under 20 % of a limit is a problem. */
const headroomCheck = (snapshot: RateLimitHeaders.RateLimitSnapshot): Effect.Effect<Verdict> =>
  Effect.gen(function* () {
    const requests = headroom(snapshot.remainingRequests, snapshot.limitRequests)
    const tokens = headroom(snapshot.remainingTokens, snapshot.limitTokens)
    yield* say(`  rate-limit headroom: requests ${requests}, tokens ${tokens}`)
    if (
      !isLow(snapshot.remainingRequests, snapshot.limitRequests) &&
      !isLow(snapshot.remainingTokens, snapshot.limitTokens)
    ) {
      return ok
    }
    yield* say("! less than 20 % of a rate limit is left: something else is using this key right now")
    return { problems: 1 }
  })

/** A 1-token chat completion with the model: its latency and the headroom it reports. */
const chatCheck = (openai: OpenAi.OpenAi["Service"], model: string): Effect.Effect<Verdict> =>
  Effect.gen(function* () {
    const completion = yield* Effect.result(
      openai.chat.completions.create({
        model,
        messages: [{ role: "user", content: "ping" }],
        max_completion_tokens: 1
      })
    )
    if (Result.isFailure(completion)) {
      yield* failed(`chat with ${model}`, completion.failure)
      const refused = completion.failure._tag === "QuotaExceeded" || completion.failure._tag === "AuthenticationFailed"
      return refused ? { problems: 0, exit: 4 } : { problems: 1 }
    }
    yield* say(`✓ chat with ${model}: ${completion.success.latencyMs} ms (1 token)`)
    return yield* headroomCheck(completion.success.snapshot)
  })

/** Runs the checks in order; the first that ends the run gives the exit code, else 0 or 2 by the problems. */
const runChecks = <R>(checks: ReadonlyArray<Effect.Effect<Verdict, never, R>>): Effect.Effect<number, never, R> =>
  Effect.gen(function* () {
    let problems = 0
    for (const check of checks) {
      const verdict = yield* check
      if (verdict.exit !== undefined) return verdict.exit
      problems += verdict.problems
    }
    yield* say(problems === 0 ? "all good" : `${problems} problem(s) found`)
    return problems === 0 ? 0 : 2
  })

const program = (flags: DoctorFlags, tables: Tables) =>
  Effect.flatMap(OpenAi.OpenAi, (openai) =>
    runChecks([
      keyCheck,
      modelsCheck(openai, tables),
      modelInUseCheck(flags.model, tables),
      priceCheck(flags.model, tables),
      chatCheck(openai, flags.model)
    ])
  )

/** @internal */
export const doctor = (flags: DoctorFlags): Effect.Effect<number> =>
  Effect.gen(function* () {
    const keys = credentials(flags)
    if (typeof keys === "string") {
      yield* say(`✗ key: ${keys}`)
      return 1
    }
    const tables = yield* Effect.result(tablesOf(flags.tables))
    if (Result.isFailure(tables)) {
      process.stderr.write(`sluice doctor: ${tables.failure.message}. Nothing was sent.\n`)
      return 1
    }
    const base = baseUrlOf(flags.baseUrl) ?? OpenAiConfig.defaultBaseUrl
    yield* say(`  base URL ${base}`)
    yield* say(tablesLine(flags.tables))
    const watch = new Watch("sluice doctor", doctorTimeouts.maxAttempts)
    watch.limits = { headersMs: doctorTimeouts.headersSeconds * 1000 }
    return yield* Effect.scoped(Effect.andThen(watch.ticker, program(flags, tables.success))).pipe(
      Effect.provide(clientOf(flags, base, keys, watch)),
      Effect.catch((error) => Effect.as(say(`✗ configuration: ${String(error)}`), 1))
    )
  })
