/**
 * `--prices FILE` and `--lifecycle FILE` (or `SLUICE_PRICES` / `SLUICE_LIFECYCLE`): the price and model-lifecycle
 * tables from files instead of the built-in ones, for every command that prices or checks models (`batch`, `embed`,
 * `chat`, `doctor`). A command adds flags.ts's `tables` to its flags, passes them through {@link checkTables} with
 * its other checks, and reads the files with `tableGates.ts`. The files' contents are validated there, before
 * anything is sent (docs/pricing.md, docs/models.md). No import of `@sluice/core` here: a usage error exits before
 * any command's code is loaded.
 *
 * @internal
 */
import { type Checks, checkReadableFile } from "./usage.js"

/** The table files a command uses (`undefined`: the built-in table). @internal */
export interface TableFiles {
  readonly prices?: string | undefined
  readonly lifecycle?: string | undefined
}

const fromEnv = (name: string): string | undefined => {
  const value = process.env[name]
  return value === undefined || value.trim() === "" ? undefined : value
}

/**
 * The files from the flags, else from the environment; each must be a readable file.
 *
 * @internal
 */
export const checkTables = (
  checks: Checks,
  flags: { readonly prices: string | undefined; readonly lifecycle: string | undefined }
): TableFiles => {
  const prices = flags.prices ?? fromEnv("SLUICE_PRICES")
  const lifecycle = flags.lifecycle ?? fromEnv("SLUICE_LIFECYCLE")
  const flagName = (flag: "--prices" | "--lifecycle", given: string | undefined, env: string) =>
    given !== undefined ? flag : `${env} (${flag})`
  if (prices !== undefined) {
    checkReadableFile(checks, flagName("--prices", flags.prices, "SLUICE_PRICES"), prices, "a JSON prices file")
  }
  if (lifecycle !== undefined) {
    checkReadableFile(
      checks,
      flagName("--lifecycle", flags.lifecycle, "SLUICE_LIFECYCLE"),
      lifecycle,
      "a JSON lifecycle file"
    )
  }
  return { prices, lifecycle }
}

/** The flags that continue a job with the same tables (for `--resume` hints). @internal */
export const tableArgs = (files: TableFiles | undefined): Array<string> => [
  ...(files?.prices === undefined ? [] : ["--prices", files.prices]),
  ...(files?.lifecycle === undefined ? [] : ["--lifecycle", files.lifecycle])
]
