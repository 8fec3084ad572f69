/**
 * The client layer the commands share: key, base URL, gates and the attempt meter, from flags and environment.
 *
 * @internal
 */
import * as Fs from "node:fs"
import { Credentials, Gates, OpenAi, OpenAiConfig, Telemetry } from "@sluice/core"
import { Batch } from "@sluice/stream"
import { Layer } from "effect"
import { layerReasons, Reasons } from "./watch.js"

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
    return Credentials.fromFile(flags.apiKeyFile)
  }
  const env = process.env["OPENAI_API_KEY"]
  if (env === undefined || env.trim().length === 0) {
    return "no API key: set OPENAI_API_KEY or pass --api-key-file PATH (a file holding the key; it is re-read when it changes)"
  }
  return Credentials.fromConfig()
}

const gatesOf = (flags: ClientFlags) =>
  Gates.layerDefaults({
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
    Layer.provide(keys)
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
