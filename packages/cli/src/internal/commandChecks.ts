/**
 * The checks of `sluice doctor` and `sluice demo` (those of batch, chat, merge and simulate are in check.ts, embed's
 * in embed.ts): run before the command's code is loaded, every problem named at once, exit 1.
 *
 * @internal
 */
import type { DemoFlags } from "./demo.js"
import type { DoctorFlags } from "./doctor.js"
import { checkTables } from "./tables.js"
import { Checks, checkKeyFile } from "./usage.js"

/** `sluice doctor`'s flags as typed. @internal */
export interface RawDoctorFlags {
  readonly model: string
  readonly baseUrl: string | undefined
  readonly apiKeyFile: string | undefined
  readonly allowInsecure: boolean
  readonly prices: string | undefined
  readonly lifecycle: string | undefined
}

/** The model, the base URL, the key file and the table files (`--prices`, `--lifecycle` or their variables). @internal */
export const checkDoctor = (raw: RawDoctorFlags): DoctorFlags | number => {
  const checks = new Checks("doctor")
  const model = checks.text("--model", raw.model, "a model id, e.g. gpt-4o-mini", { name: true })
  checks.baseUrl(raw.baseUrl, raw.allowInsecure)
  checkKeyFile(checks, raw.apiKeyFile)
  const tables = checkTables(checks, raw)
  return (
    checks.report() ?? {
      model,
      baseUrl: raw.baseUrl,
      apiKeyFile: raw.apiKeyFile,
      allowInsecure: raw.allowInsecure,
      tables
    }
  )
}

/** `--requests` (1 to 50000, default 2000). @internal */
export const checkDemo = (raw: {
  readonly requests: string | undefined
  readonly skipComparison: boolean
}): DemoFlags | number => {
  const checks = new Checks("demo")
  const requests = checks.integer("--requests", raw.requests, { min: 1, max: 50_000 }, "requests in the job")
  return checks.report() ?? { requests: requests ?? 2000, compare: !raw.skipComparison }
}
