/**
 * The client layer the commands share: key, base URL, gates and the attempt meter, from flags and environment.
 *
 * @internal
 */
import * as Fs from "node:fs"
import { Credentials, Gates, OpenAi, OpenAiConfig, Telemetry } from "@sluice/core"
import { layerMeter, Reasons } from "./watch.js"
import { type Console, Effect, Layer, Logger, LogLevel } from "effect"
import type { Checks } from "./usage.js"
import { show } from "./usage.js"

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
 * `--api-key-file`: names a readable file that holds a key (the key itself is never printed).
 *
 * @internal
 */
export const checkKeyFile = (checks: Checks, path: string | undefined): void => {
  if (path === undefined) return
  if (path.trim() === "") {
    checks.fail(`--api-key-file ${show(path)}: empty; expected the path of a file holding the API key`)
    return
  }
  try {
    if (Fs.statSync(path).isDirectory()) {
      checks.fail(`--api-key-file ${show(path)}: is a directory; expected a file holding the API key`)
    } else if (Fs.readFileSync(path, "utf8").trim().length === 0) {
      checks.fail(`--api-key-file ${show(path)}: the file is empty; write the key into it`)
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable"
    checks.fail(`--api-key-file ${show(path)}: cannot read it (${code}); expected a readable file holding the API key`)
  }
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

/**
 * The client with every gate (and the attempt meter), for `batch` and `demo`.
 *
 * @internal
 */
export const layer = (
  flags: ClientFlags,
  keys: Layer.Layer<Credentials.Credentials>,
  reasons: Reasons = new Reasons()
) => {
  const gates = Gates.layerDefaults({
    rateLimiter: {
      ...(flags.rpm === undefined ? {} : { requestsPerMinute: flags.rpm }),
      ...(flags.tpm === undefined ? {} : { tokensPerMinute: flags.tpm })
    },
    concurrency: { permits: flags.concurrency ?? 16 },
    ...(flags.budgetUsd === undefined ? {} : { budget: { ceilingUsd: flags.budgetUsd } })
  })
  // Telemetry (for --report) sits between the gates and the meter; the client sees the outermost Gates.
  return OpenAi.layer.pipe(
    Layer.provideMerge(layerMeter(reasons)),
    Layer.provideMerge(Telemetry.wrap(gates, { logs: false })),
    Layer.provide(
      OpenAiConfig.layer({
        ...(baseUrlOf(flags.baseUrl) === undefined ? {} : { baseUrl: baseUrlOf(flags.baseUrl) }),
        allowInsecure: flags.allowInsecure === true,
        ...(flags.maxRetries === undefined ? {} : { retry: { maxAttempts: flags.maxRetries + 1 } })
      })
    ),
    Layer.provide(keys)
  )
}

const ansi = /\x1b\[[0-9;?]*[A-Za-z]/g

/**
 * Whether escape codes may go to this stream: it is a terminal and `NO_COLOR` is not set.
 *
 * @internal
 */
export const colors = (stream: NodeJS.WriteStream): boolean =>
  stream.isTTY === true && (process.env["NO_COLOR"] ?? "") === ""

/** @effect/cli's "Received unknown argument" says neither what was expected nor what to do. */
const explainUnknown = (text: string): string =>
  text.replace(/Received unknown argument: '([^']*)'/, (_, arg: string) =>
    arg.startsWith("-")
      ? `sluice: unknown flag ${show(arg)}; run sluice <command> --help for the flags. Nothing was sent.`
      : `sluice: unexpected argument ${show(arg)}: every command takes at most one (quote a prompt or a path that has spaces). Nothing was sent.`
  )

const plain = (stream: NodeJS.WriteStream, args: ReadonlyArray<unknown>) => {
  const text = explainUnknown(args.map(String).join(" "))
  stream.write(`${colors(stream) ? text : text.replace(ansi, "")}\n`)
}

const base = Effect.runSync(Effect.console)

/**
 * The console @effect/cli prints help and usage errors to: without escape codes when the stream is not a terminal
 * or `NO_COLOR` is set.
 *
 * @internal
 */
export const plainConsole: Console.Console = {
  ...base,
  log: (...args) => Effect.sync(() => plain(process.stdout, args)),
  info: (...args) => Effect.sync(() => plain(process.stdout, args)),
  error: (...args) => Effect.sync(() => plain(process.stderr, args)),
  warn: (...args) => Effect.sync(() => plain(process.stderr, args)),
  unsafe: {
    ...base.unsafe,
    log: (...args) => plain(process.stdout, args),
    info: (...args) => plain(process.stdout, args),
    error: (...args) => plain(process.stderr, args),
    warn: (...args) => plain(process.stderr, args)
  }
}

let clearLine = false
let clearWithEscape = false

/**
 * Whether log lines must first clear a progress bar on the terminal.
 *
 * @internal
 */
export const setClearLine = (value: boolean, escapes = value) => {
  clearLine = value
  clearWithEscape = escapes
}

/**
 * Logs go to stderr (stdout is for results and `--json`), warnings and above by default; `SLUICE_LOG=debug|info`
 * shows more.
 *
 * @internal
 */
export const logging = Layer.merge(
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ logLevel, message }) => {
      const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
      process.stderr.write(
        `${clearLine ? (clearWithEscape ? "\r\x1b[K" : "\n") : ""}${logLevel.label.toLowerCase()}: ${text}\n`
      )
    })
  ),
  Logger.minimumLogLevel(
    process.env["SLUICE_LOG"] === "debug"
      ? LogLevel.Debug
      : process.env["SLUICE_LOG"] === "info"
        ? LogLevel.Info
        : LogLevel.Warning
  )
)
