/**
 * What the command line itself prints: help on stdout (colored only on a terminal without NO_COLOR: the
 * capabilities' rule), the bare version, and a usage error on stderr as plain lines naming the command, in our
 * words for the errors a user meets most.
 *
 * @internal
 */
import type * as CliError from "effect/cli/CliError"
import * as CliOutput from "effect/cli/CliOutput"
import * as TerminalCapabilities from "effect/cli/TerminalCapabilities"
import * as Effect from "effect/Effect"
import { show } from "./usage.js"

/**
 * Our wording for the parse errors a user meets most (the library's says neither what was expected nor what to
 * do), or `undefined` for the library's own.
 */
const explainUsage = (error: CliError.CliError, nothing: string): string | undefined => {
  switch (error._tag) {
    case "UnrecognizedOption": {
      const guess = error.suggestions.length > 0 ? ` (did you mean ${error.suggestions.join(" or ")}?)` : ""
      return `unknown flag ${show(error.option)}${guess}. ${nothing}.`
    }
    case "UnexpectedArgument":
      return `unexpected argument ${error.arguments.map(show).join(" ")}: every command takes at most one (quote a prompt or a path that has spaces). ${nothing}.`
    case "InvalidValue": {
      // A repeated flag the pre-scan did not see (repeatedFlag covers the usual spellings).
      const occurrences = /^(\d+) occurrences$/.exec(error.value)
      return occurrences === null || error.kind !== "flag"
        ? undefined
        : `--${error.option} is given ${occurrences[1]} times; give it once. ${nothing}.`
    }
    default:
      return undefined
  }
}

/**
 * Help on stdout (colored only on a terminal without NO_COLOR: the capabilities' rule); a usage error on stderr as
 * plain lines naming the command, without the whole help (as on the Effect 3 line), and the version bare.
 *
 * @internal
 */
export const presenter: CliOutput.Presenter = {
  present: (event) =>
    Effect.flatMap(Effect.service(TerminalCapabilities.TerminalCapabilities), ({ canColor }) =>
      Effect.sync(() => {
        const formatter = CliOutput.defaultFormatter({ colors: canColor })
        switch (event._tag) {
          case "Help":
            process.stdout.write(`${formatter.formatHelpDoc(event.helpDoc)}\n`)
            break
          case "Version":
            process.stdout.write(`${event.version}\n`)
            break
          case "InvalidInvocation": {
            const path = event.commandPath.join(" ")
            const nothing = /^sluice (simulate|demo)\b/.test(path) ? "Nothing was started" : "Nothing was sent"
            const lines = event.errors.map(
              (error) => `${path}: ${explainUsage(error, nothing) ?? formatter.formatCliError(error)}`
            )
            const more = event.commandPath.length > 1 ? "every flag" : "the commands"
            process.stderr.write(`${lines.join("\n")}\nRun ${path} --help for ${more}.\n`)
            break
          }
        }
      })
    )
}
