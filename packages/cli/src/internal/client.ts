/**
 * The client layer the commands share: key, base URL, gates and the attempt meter, from flags and environment.
 *
 * @internal
 */
import * as Fs from "node:fs"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import {
  Concurrency,
  Credentials,
  Gates,
  ModelLifecycle,
  OpenAi,
  OpenAiConfig,
  Pricing,
  Telemetry,
  Tokens
} from "@sluice/core"
import { Batch } from "@sluice/stream"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { RedisFlags } from "./redis.js"
import { layerReasons, Reasons } from "./watch.js"
import { gatesWithTables, tableOptions } from "./tableGates.js"
import type { TableFiles } from "./tables.js"

/** @internal */
export interface ClientFlags {
  readonly baseUrl?: string | undefined
  readonly apiKeyFile?: string | undefined
  readonly concurrency?: number | undefined
  readonly rpm?: number | undefined
  readonly tpm?: number | undefined
  readonly maxRetries?: number | undefined
  readonly budgetUsd?: number | undefined
  /** Allow plain http:// to a host that is not loopback (`--allow-insecure`). */
  readonly allowInsecure?: boolean | undefined
  /** A fixed key (the demo's simulator key); otherwise the file or `OPENAI_API_KEY`. */
  readonly staticKey?: string | undefined
  /** `--prices` / `--lifecycle` (tables.ts). */
  readonly tables?: TableFiles | undefined
  /** `--redis` and friends: gates shared through Redis (internal/redis.ts). */
  readonly redis?: RedisFlags | undefined
}

/**
 * The base URL: the flag, else a non-empty `OPENAI_BASE_URL`, else the default (`undefined`).
 *
 * @internal
 */
export const baseUrlOf = (flag: string | undefined): string | undefined => {
  const value = flag ?? process.env["OPENAI_BASE_URL"]
  return value === undefined || value.trim().length === 0 ? undefined : value.trim()
}

/**
 * Where the key comes from, or a message naming the problem and the way out.
 *
 * @internal
 */
export const credentials = (flags: ClientFlags): Layer.Layer<Credentials.Credentials> | string => {
  if (flags.staticKey !== undefined) return Credentials.static(flags.staticKey)
  if (flags.apiKeyFile !== undefined) {
    try {
      const text = Fs.readFileSync(flags.apiKeyFile, "utf8")
      if (text.trim().length === 0) return `the API key file ${flags.apiKeyFile} is empty: write the key into it`
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "unreadable"
      return `cannot read the API key file ${flags.apiKeyFile} (${code}): check the path given to --api-key-file`
    }
    return Credentials.fromFile(flags.apiKeyFile).pipe(Layer.provide(NodeFileSystem.layer))
  }
  const env = process.env["OPENAI_API_KEY"]
  if (env === undefined || env.trim().length === 0) {
    return "no API key: set OPENAI_API_KEY or pass --api-key-file PATH (a file holding the key; it is re-read when it changes)"
  }
  return Credentials.fromConfig()
}

/**
 * With a Redis: the gates of `Gates.layerDefaults`, with the rate limiter's buckets, the breaker's fuse and openings,
 * and the budget shared through Redis; one connection for all of them. The tables of `--prices` / `--lifecycle`
 * apply as without Redis, and the prices are also provided as `Pricing` for the batch summary.
 */
const sharedGatesOf = (flags: ClientFlags, url: string) =>
  Layer.unwrap(
    Effect.flatMap(Effect.fromResult(tableOptions(flags.tables)), (tables) =>
      // Loaded only here: `@sluice/redis` and its client are most of what a command would load otherwise.
      Effect.map(
        Effect.promise(() => import("@sluice/redis")),
        (redis) => Layer.merge(sharedGatesWith(redis, flags, url, tables), Pricing.layer(tables.pricing))
      )
    )
  )

const sharedGatesWith = (
  { RedisBreaker, RedisBudget, RedisLimiter, RedisStore }: typeof import("@sluice/redis"),
  flags: ClientFlags,
  url: string,
  tables: Pick<Gates.DefaultsOptions, "pricing" | "modelLifecycle">
) => {
  const rateLimiter = {
    ...(flags.rpm === undefined ? {} : { requestsPerMinute: flags.rpm }),
    ...(flags.tpm === undefined ? {} : { tokensPerMinute: flags.tpm })
  }
  const shared = Layer.mergeAll(
    RedisLimiter.layer(rateLimiter),
    RedisBreaker.layer(),
    flags.budgetUsd === undefined
      ? Layer.empty
      : RedisBudget.layer({ name: flags.redis?.budgetName ?? "default", ceilingUsd: flags.budgetUsd })
  ).pipe(
    Layer.provide(
      RedisStore.layer({
        url,
        ...(flags.redis?.waitSeconds === undefined ? {} : { waitMs: flags.redis.waitSeconds * 1000 })
      })
    )
  )
  const services = Layer.mergeAll(
    Concurrency.layer({ permits: flags.concurrency ?? 16 }),
    ModelLifecycle.layer(tables.modelLifecycle === false ? {} : tables.modelLifecycle),
    Pricing.layer(tables.pricing),
    Tokens.layer(),
    shared
  )
  return Gates.layer().pipe(Layer.provide(services))
}

const gatesOf = (flags: ClientFlags) =>
  flags.redis?.url !== undefined ? sharedGatesOf(flags, flags.redis.url) : localGatesOf(flags)

const localGatesOf = (flags: ClientFlags) =>
  gatesWithTables(flags.tables, {
    rateLimiter: {
      ...(flags.rpm === undefined ? {} : { requestsPerMinute: flags.rpm }),
      ...(flags.tpm === undefined ? {} : { tokensPerMinute: flags.tpm })
    },
    concurrency: { permits: flags.concurrency ?? 16 },
    ...(flags.budgetUsd === undefined ? {} : { budget: { ceilingUsd: flags.budgetUsd } })
  })

// The client sees the outermost Gates: the reasons (and what is in flight) of the summary, then Batch's meter
// (the attempt counts, and a stopped job sends nothing more: it holds the attempts that reach the gates after the
// stop, which the reasons decorator then never sees), then the gates (wrapped in Telemetry for --report). The
// meter's services (Batch.Meter, and that the gates are metered) reach `Batch.run` through provideMerge.
const wire = <ROut, E, RIn>(
  flags: ClientFlags,
  keys: Layer.Layer<Credentials.Credentials>,
  reasons: Reasons,
  gates: Layer.Layer<ROut, E, RIn>
) =>
  OpenAi.layer.pipe(
    Layer.provideMerge(layerReasons(reasons)),
    Layer.provideMerge(Batch.layerMeter),
    Layer.provideMerge(gates),
    Layer.provide(
      Layer.orDie(
        OpenAiConfig.layerConfig({
          ...(baseUrlOf(flags.baseUrl) === undefined ? {} : { baseUrl: baseUrlOf(flags.baseUrl) }),
          allowInsecure: flags.allowInsecure === true,
          ...(flags.maxRetries === undefined ? {} : { retry: { maxAttempts: flags.maxRetries + 1 } })
        })
      )
    ),
    Layer.provide(keys),
    // Batch's input and journal, and Embed.runFile's remote path, go through FileSystem.
    Layer.provideMerge(NodeFileSystem.layer)
  )

/**
 * The client with every gate (and the attempt meter), for `batch` and `demo`. No Telemetry: nothing in these
 * commands reads its events or metrics but the --report recorder (see {@link layerWithTelemetry}), and it costs
 * about 0.1 ms and 13 KB per request (decision 0007).
 *
 * @internal
 */
export const layer = (
  flags: ClientFlags,
  keys: Layer.Layer<Credentials.Credentials>,
  reasons: Reasons = new Reasons()
) => wire(flags, keys, reasons, gatesOf(flags))

/**
 * {@link layer} with the gates wrapped in Telemetry (no logs), which it also provides: for `batch --report`, whose
 * `RunReport.recorder` subscribes to it.
 *
 * @internal
 */
export const layerWithTelemetry = (
  flags: ClientFlags,
  keys: Layer.Layer<Credentials.Credentials>,
  reasons: Reasons = new Reasons()
) => wire(flags, keys, reasons, Telemetry.wrap(gatesOf(flags), { logs: false }))

export { colors, logging, setClearLine } from "./logging.js"
export { checkKeyFile } from "./usage.js"
