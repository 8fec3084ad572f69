/**
 * `sluice doctor`: is the key valid, how slow is the server, how much rate-limit headroom is left, which
 * models exist and which of them (or the one you use) are deprecated.
 *
 * @internal
 */
import { Credentials, type Errors, Gates, OpenAi, OpenAiConfig } from "@sluice/core"
import * as ModelLifecycle from "@sluice/core/ModelLifecycle"
import { Effect, Layer, Result } from "effect"
import { hint } from "./chat.js"
import { baseUrlOf, credentials } from "./client.js"
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
}

const say = (text: string) => Effect.sync(() => process.stdout.write(`${text}\n`))

const headroom = (remaining: number | undefined, limit: number | undefined) =>
  remaining === undefined || limit === undefined
    ? "not reported"
    : `${remaining}/${limit} (${Math.round((100 * remaining) / Math.max(1, limit))} %)`

/** @internal */
export const doctor = (flags: DoctorFlags): Effect.Effect<number> =>
  Effect.gen(function* () {
    const keys = credentials(flags)
    if (typeof keys === "string") {
      yield* say(`✗ key: ${keys}`)
      return 1
    }
    const base = baseUrlOf(flags.baseUrl) ?? OpenAiConfig.defaultBaseUrl
    const watch = new Watch("sluice doctor", doctorTimeouts.maxAttempts)
    watch.limits = { headersMs: doctorTimeouts.headersSeconds * 1000 }
    const layer = OpenAi.layer.pipe(
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
    const failed = (what: string, error: Errors.OpenAiError) =>
      Effect.as(say(`✗ ${what}: ${error._tag}: ${error.message}\n  → ${hint(error)}`), error)
    const program = Effect.gen(function* () {
      const openai = yield* OpenAi.OpenAi
      const key = yield* Effect.result((yield* Credentials.Credentials).get)
      yield* say(`  base URL ${base}`)
      if (Result.isFailure(key)) {
        yield* say(`✗ key: ${key.failure.message}`)
        return 4
      }
      yield* say(`  key ${key.success.keyId} (fingerprint; the key itself is never printed)`)
      let problems = 0
      const models = yield* Effect.result(openai.models.list())
      if (Result.isFailure(models)) {
        yield* failed("key / models", models.failure)
        if (models.failure._tag === "AuthenticationFailed" || models.failure._tag === "PermissionDenied") return 4
        problems++
      } else {
        const ids = models.success.body.data.map((model) => model.id)
        yield* say(`✓ key accepted; GET /models in ${models.success.latencyMs} ms: ${ids.length} models`)
        const now = Date.now()
        const flagged = ids
          .map((id) => ({ id, status: ModelLifecycle.status(ModelLifecycle.table, id, now) }))
          .filter((entry) => entry.status._tag !== "Active")
        if (flagged.length > 0) {
          yield* say(
            `! deprecated or retired models offered: ${flagged.map((entry) => `${entry.id} (${entry.status._tag.toLowerCase()})`).join(", ")}`
          )
        }
      }
      const used = ModelLifecycle.status(ModelLifecycle.table, flags.model, Date.now())
      if (used._tag !== "Active") {
        const replacement = used.entry.replacement === undefined ? "" : `; use ${used.entry.replacement} instead`
        yield* say(
          `! the model ${flags.model} is ${used._tag.toLowerCase()}${used.entry.shutdown === undefined ? "" : ` (shutdown ${used.entry.shutdown})`}${replacement}`
        )
        problems++
      }
      const completion = yield* Effect.result(
        openai.chat.completions.create({
          model: flags.model,
          messages: [{ role: "user", content: "ping" }],
          max_completion_tokens: 1
        })
      )
      if (Result.isFailure(completion)) {
        yield* failed(`chat with ${flags.model}`, completion.failure)
        if (completion.failure._tag === "QuotaExceeded" || completion.failure._tag === "AuthenticationFailed") return 4
        problems++
      } else {
        const snapshot = completion.success.snapshot
        yield* say(`✓ chat with ${flags.model}: ${completion.success.latencyMs} ms (1 token)`)
        yield* say(
          `  rate-limit headroom: requests ${headroom(snapshot.remainingRequests, snapshot.limitRequests)}, tokens ${headroom(snapshot.remainingTokens, snapshot.limitTokens)}`
        )
        const low = [
          snapshot.limitRequests !== undefined &&
            snapshot.remainingRequests !== undefined &&
            snapshot.remainingRequests < 0.2 * snapshot.limitRequests,
          snapshot.limitTokens !== undefined &&
            snapshot.remainingTokens !== undefined &&
            snapshot.remainingTokens < 0.2 * snapshot.limitTokens
        ].some(Boolean)
        if (low) {
          yield* say("! less than 20 % of a rate limit is left: something else is using this key right now")
          problems++
        }
      }
      yield* say(problems === 0 ? "all good" : `${problems} problem(s) found`)
      return problems === 0 ? 0 : 2
    })
    return yield* Effect.scoped(Effect.andThen(watch.ticker, program)).pipe(
      Effect.provide(layer),
      Effect.catch((error) => Effect.as(say(`✗ configuration: ${String(error)}`), 1))
    )
  })
