/**
 * Where the commands' log lines go. Its own module (no `@sluice/core` import) so that the command line can install
 * it before any command's code is loaded.
 *
 * @internal
 */
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"
import * as References from "effect/References"

/**
 * Whether escape codes may go to this stream: it is a terminal and `NO_COLOR` is not set.
 *
 * @internal
 */
export const colors = (stream: NodeJS.WriteStream): boolean =>
  stream.isTTY === true && (process.env["NO_COLOR"] ?? "") === ""

let clearLine = false
let clearWithEscape = false

/**
 * Whether log lines must first clear a progress bar on the terminal (with an escape code, or with `NO_COLOR` by
 * starting a new line).
 *
 * @internal
 */
export const setClearLine = (value: boolean, escapes = value) => {
  clearLine = value
  clearWithEscape = escapes
}

// The labels of the Effect 3 line ("warning", not Effect 4's "warn"), which users and scripts have seen.
const labels: Record<LogLevel.LogLevel, string> = {
  All: "all",
  Fatal: "fatal",
  Error: "error",
  Warn: "warning",
  Info: "info",
  Debug: "debug",
  Trace: "trace",
  None: "none"
}

/**
 * Logs go to stderr (stdout is for results and `--json`), warnings and above by default; `SLUICE_LOG=debug|info`
 * shows more (and `--log-level`, which applies inside the command, wins over both).
 *
 * @internal
 */
export const logging = Layer.merge(
  Logger.layer([
    Logger.make(({ logLevel, message }) => {
      const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
      process.stderr.write(`${clearLine ? (clearWithEscape ? "\r\x1b[K" : "\n") : ""}${labels[logLevel]}: ${text}\n`)
    })
  ]),
  Layer.succeed(
    References.MinimumLogLevel,
    process.env["SLUICE_LOG"] === "debug" ? "Debug" : process.env["SLUICE_LOG"] === "info" ? "Info" : "Warn"
  )
)
