/**
 * The checks of `sluice batch`, `sluice chat` and `sluice simulate` flags, kept apart from the commands so that a
 * usage error exits before the client, the batch runner or the simulator is loaded.
 *
 * @internal
 */
import * as NodeFs from "node:fs"
import type { BatchFlags } from "./batch.js"
import type * as Flags from "./flags.js"
import type { MergeFlags } from "./merge.js"
import * as ScaleOut from "./redis.js"
import { checkTables, type TableFiles } from "./tables.js"
import { Checks, canonical, checkKeyFile, checkWritable, hasContent, show } from "./usage.js"
import { checkJobNumbers } from "./jobNumbers.js"

/**
 * The flags as typed, before their checks: the shared records of flags.ts (connection, the job's gates and output,
 * --prices/--lifecycle) and batch's own.
 *
 * @internal
 */
export interface RawBatchFlags extends Flags.Connection, Flags.JobGates, Flags.JobOutput, Flags.Tables {
  readonly input: string
  readonly output: string
  readonly retryFailed: boolean
  readonly remote: boolean
  readonly report: string | undefined
  /** `--redis`, `--budget-name`, `--redis-wait-seconds`, `--shard` (internal/redis.ts). */
  readonly redis?: ScaleOut.RawRedisFlags | undefined
}

/** Flags that exclude each other, or need another, or have no effect with `--remote`. */
const checkBatchCombinations = (checks: Checks, raw: RawBatchFlags) => {
  if (raw.resume && raw.overwrite) {
    checks.fail("--resume and --overwrite exclude each other: --resume continues the output, --overwrite replaces it")
  }
  if (raw.retryFailed && !raw.resume) {
    checks.fail("--retry-failed needs --resume (it re-runs the failed lines of an existing output)")
  }
  if (!raw.remote) return
  const local = [
    ["--concurrency", raw.concurrency],
    ["--grace-seconds", raw.graceSeconds]
  ].filter(([, value]) => value !== undefined)
  for (const [flag, value] of local) {
    checks.fail(
      `${flag} ${show(value!)} has no effect with --remote (the server runs the batch); leave out one of them`
    )
  }
}

/** The output path: not empty, writable, neither the input (when it is readable) nor the key file. */
const checkBatchOutput = (checks: Checks, raw: RawBatchFlags, inputOk: boolean) => {
  const output = raw.output
  if (output.trim() === "") {
    return checks.fail(`-o/--output ${show(output)}: empty; expected the path of the results file`)
  }
  checkWritable(checks, "-o/--output", output)
  if (inputOk && canonical(output) === canonical(raw.input)) {
    checks.fail(
      `-o/--output ${show(output)} is the input file; results go to another file (writing them would destroy the requests)`
    )
  }
  if (raw.apiKeyFile !== undefined && canonical(output) === canonical(raw.apiKeyFile)) {
    checks.fail(`-o/--output ${show(output)} is the --api-key-file; results go to another file`)
  }
}

/** The report path: not empty, writable, and a file of its own (not the input, the output or the key file). */
const checkBatchReport = (checks: Checks, raw: RawBatchFlags) => {
  if (raw.report === undefined) return
  if (raw.report.trim() === "") {
    return checks.fail(`--report ${show(raw.report)}: empty; expected the path of an HTML file`)
  }
  checkWritable(checks, "--report", raw.report)
  const target = canonical(raw.report)
  for (const [flag, path] of [
    ["the input file", raw.input],
    ["-o/--output", raw.output],
    ["--api-key-file", raw.apiKeyFile]
  ] as const) {
    if (path !== undefined && path.trim() !== "" && target === canonical(path)) {
      checks.fail(`--report ${show(raw.report)} is ${flag}; the report goes to a file of its own`)
    }
  }
}

/**
 * Every check of `sluice batch` that needs no network: ranges, combinations, the input file (exists, is a file, has
 * a request), the output and report paths (writable, not the input, not the key file). Returns the flags, or exit
 * code 1 after printing every problem.
 *
 * @internal
 */
export const checkBatch = (raw: RawBatchFlags): BatchFlags | number => {
  const checks = new Checks("batch")
  const numbers = checkJobNumbers(checks, raw, 10_000)
  const redis = raw.redis === undefined ? undefined : ScaleOut.check(checks, raw.redis)
  checkBatchCombinations(checks, raw)
  checks.baseUrl(raw.baseUrl, raw.allowInsecure)
  checkKeyFile(checks, raw.apiKeyFile)
  checkBatchOutput(checks, raw, checkInput(checks, raw.input))
  checkBatchReport(checks, raw)
  const tables = checkTables(checks, raw)
  const code = checks.report()
  if (code !== undefined) return code
  return {
    tables,
    input: raw.input,
    output: raw.output,
    baseUrl: raw.baseUrl,
    apiKeyFile: raw.apiKeyFile,
    allowInsecure: raw.allowInsecure,
    ...numbers,
    resume: raw.resume,
    overwrite: raw.overwrite,
    retryFailed: raw.retryFailed,
    remote: raw.remote,
    json: raw.json,
    report: raw.report,
    ...(redis === undefined ? {} : { redis })
  }
}

/** The flags of `sluice merge` as typed. @internal */
export interface RawMergeFlags {
  readonly input: string
  readonly output: string
  readonly parts: ReadonlyArray<string>
  readonly overwrite: boolean
}

/**
 * Every check of `sluice merge`: the input and each shard output exist and are files, the merged output is none of
 * them, and an existing one needs `--overwrite`.
 *
 * @internal
 */
export const checkMerge = (raw: RawMergeFlags): MergeFlags | number => {
  const checks = new Checks("merge")
  checkInput(checks, raw.input)
  for (const part of raw.parts) {
    const stat = NodeFs.statSync(part, { throwIfNoEntry: false })
    if (stat === undefined)
      checks.fail(`the shard output ${show(part)} does not exist; expected an output of sluice batch --shard`)
    else if (!stat.isFile()) checks.fail(`the shard output ${show(part)} is not a file`)
  }
  const output = raw.output
  if (output.trim() === "") checks.fail(`-o/--output ${show(output)}: empty; expected the path of the merged file`)
  else {
    checkWritable(checks, "-o/--output", output)
    const target = canonical(output)
    for (const [what, path] of [
      ["the --input file", raw.input],
      ...raw.parts.map((p) => ["a shard output", p] as const)
    ]) {
      if (path.trim() !== "" && canonical(path) === target) {
        checks.fail(`-o/--output ${show(output)} is ${what}; the merged output goes to a file of its own`)
      }
    }
    if (!raw.overwrite && NodeFs.statSync(output, { throwIfNoEntry: false }) !== undefined) {
      checks.fail(`-o/--output ${show(output)} already exists; add --overwrite to replace it`)
    }
  }
  const code = checks.report()
  if (code !== undefined) return code
  return { input: raw.input, output, parts: raw.parts, overwrite: raw.overwrite }
}

/** The input exists, is a readable file and has at least one non-blank line. */
const checkInput = (checks: Checks, input: string): boolean => {
  if (input.trim() === "") {
    checks.fail(`the input ${show(input)} is empty; expected the path of a JSONL file of requests`)
    return false
  }
  let fd: number | undefined
  try {
    if (NodeFs.statSync(input).isDirectory()) {
      checks.fail(`the input ${show(input)} is a directory; expected a JSONL file of requests`)
      return false
    }
    fd = NodeFs.openSync(input, "r")
    if (!hasContent(fd)) {
      checks.fail(
        `the input ${show(input)} has no requests (the file is empty or blank); expected one JSON request per line`
      )
    }
    return true
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    checks.fail(
      code === "ENOENT"
        ? `the input ${show(input)} does not exist; check the path`
        : `the input ${show(input)} cannot be read (${code ?? "unreadable"}); check the path and permissions`
    )
    return false
  } finally {
    if (fd !== undefined) NodeFs.closeSync(fd)
  }
}

/** @internal */
export interface ChatFlags {
  readonly prompt: string
  readonly model: string
  /** Which API answers: Chat Completions (the default) or Responses. */
  readonly api: "chat" | "responses"
  readonly maxTokens: number
  readonly stream: boolean
  /** Per attempt: to the first token (streaming) or to the whole answer (`--no-stream`). */
  readonly timeoutSeconds: number
  readonly maxRetries: number
  readonly baseUrl?: string | undefined
  readonly apiKeyFile?: string | undefined
  readonly allowInsecure: boolean
  readonly tables?: TableFiles | undefined
}

/**
 * The defaults of `sluice chat`: a person is waiting, so a dead server is given up on within minutes (and every
 * 10 s of waiting is reported), yet a slow reasoning model gets two minutes to its first token.
 *
 * @internal
 */
export const chatDefaults = {
  maxTokens: 512,
  firstTokenSeconds: 120,
  noStreamSeconds: 300,
  maxRetries: 2
} as const

/** @internal */
export const checkChat = (raw: {
  readonly prompt: string
  readonly model: string
  readonly maxTokens: string | undefined
  readonly noStream: boolean
  readonly timeoutSeconds: string | undefined
  readonly maxRetries: string | undefined
  readonly baseUrl: string | undefined
  readonly apiKeyFile: string | undefined
  readonly allowInsecure: boolean
  readonly prices: string | undefined
  readonly lifecycle: string | undefined
  readonly api?: string | undefined
}): ChatFlags | number => {
  const checks = new Checks("chat")
  if (raw.prompt.trim().length === 0) {
    checks.fail(`the prompt ${show(raw.prompt)} is empty; pass the question, e.g. sluice chat "Explain backpressure"`)
  }
  const model = checks.text("--model", raw.model, "a model id, e.g. gpt-4o-mini", { name: true })
  const maxTokens = checks.integer("--max-tokens", raw.maxTokens, { min: 1, max: 1_000_000 }, "the longest answer")
  const timeoutSeconds = checks.integer(
    "--timeout-seconds",
    raw.timeoutSeconds,
    { min: 1, max: 3600 },
    "seconds per attempt"
  )
  const maxRetries = checks.integer("--max-retries", raw.maxRetries, { min: 0, max: 10 }, "retries")
  const api = raw.api ?? "chat"
  if (api !== "chat" && api !== "responses") {
    checks.fail(`--api ${show(api)}: expected chat (Chat Completions, the default) or responses (the Responses API)`)
  }
  checks.baseUrl(raw.baseUrl, raw.allowInsecure)
  checkKeyFile(checks, raw.apiKeyFile)
  const tables = checkTables(checks, raw)
  const code = checks.report()
  if (code !== undefined) return code
  return {
    tables,
    prompt: raw.prompt,
    model,
    api: api === "responses" ? "responses" : "chat",
    maxTokens: maxTokens ?? chatDefaults.maxTokens,
    stream: !raw.noStream,
    timeoutSeconds: timeoutSeconds ?? (raw.noStream ? chatDefaults.noStreamSeconds : chatDefaults.firstTokenSeconds),
    maxRetries: maxRetries ?? chatDefaults.maxRetries,
    baseUrl: raw.baseUrl,
    apiKeyFile: raw.apiKeyFile,
    allowInsecure: raw.allowInsecure
  }
}

/** @internal */
export interface SimulateFlags {
  readonly port: number
  readonly rpm?: number | undefined
  readonly tpm?: number | undefined
  /** A total rate (spread over the kinds by the simulator) or rates by simulator field. */
  readonly faults?: number | Record<string, number> | undefined
  readonly seed?: number | undefined
  readonly quotaUsd?: number | undefined
  readonly keys?: ReadonlyArray<string> | undefined
}

const kinds: Record<string, string> = {
  "500": "rate500",
  "503": "rate503",
  "502": "rate502Html",
  "502html": "rate502Html",
  "429": "rate429",
  reset: "rateReset",
  hang: "rateHang",
  truncated: "rateTruncatedJson",
  truncatedjson: "rateTruncatedJson",
  drop: "rateStreamDrop",
  streamdrop: "rateStreamDrop",
  slow: "rateSlowFirstToken"
}

/**
 * `"0.05"` is a total rate (spread over 500, 503, 502 HTML, reset, truncated JSON and stream drop);
 * `"500=0.02,reset=0.01"` sets kinds one by one. Every rate is from 0 to 1, and so is their sum.
 *
 * @internal
 */
export const parseFaults = (text: string): number | Record<string, number> | string => {
  const usage = `use a total rate from 0 to 1 like 0.05, or kind=rate pairs with kinds ${Object.keys(kinds).join(", ")}`
  const trimmed = text.trim()
  if (trimmed === "") return `--faults ${show(text)}: empty; ${usage}`
  if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(trimmed)) {
    const total = Number(trimmed)
    return total >= 0 && total <= 1 ? total : `--faults ${show(text)}: the total rate is out of range; ${usage}`
  }
  const faults: Record<string, number> = {}
  for (const part of text.split(",")) {
    const [kind, value, extra] = part.split("=")
    const key = kinds[(kind ?? "").trim().toLowerCase()]
    const rate = value === undefined || value.trim() === "" ? Number.NaN : Number(value)
    if (key === undefined || extra !== undefined || !Number.isFinite(rate) || rate < 0 || rate > 1) {
      return `--faults: cannot read "${part}"; ${usage}`
    }
    if (faults[key] !== undefined) return `--faults: the kind "${kind}" is given twice; give each kind once`
    faults[key] = rate
  }
  const sum = Object.values(faults).reduce((a, b) => a + b, 0)
  if (sum > 1) return `--faults ${show(text)}: the rates add up to ${sum}, more than 1; lower them`
  return faults
}

/** @internal */
export const checkSimulate = (raw: {
  readonly port: string | undefined
  readonly rpm: string | undefined
  readonly tpm: string | undefined
  readonly faults: string | undefined
  readonly seed: string | undefined
  readonly quotaUsd: string | undefined
  readonly keys: string | undefined
}): SimulateFlags | number => {
  const checks = new Checks("simulate")
  const port = checks.integer("--port", raw.port, { min: 0, max: 65_535 }, "a TCP port; 0 picks a free one")
  const rpm = checks.integer("--rpm", raw.rpm, { min: 1, max: 100_000_000 }, "requests per minute")
  const tpm = checks.integer("--tpm", raw.tpm, { min: 1, max: 10_000_000_000 }, "tokens per minute")
  const seed = checks.integer("--seed", raw.seed, { min: 0, max: Number.MAX_SAFE_INTEGER }, "the fault seed")
  const quotaUsd = checks.number("--quota-usd", raw.quotaUsd, { min: 0, max: 1_000_000 }, "USD")
  let faults: SimulateFlags["faults"]
  if (raw.faults !== undefined) {
    const parsed = parseFaults(raw.faults)
    if (typeof parsed === "string") checks.fail(parsed)
    else faults = parsed
  }
  let keys: Array<string> | undefined
  if (raw.keys !== undefined) {
    keys = raw.keys.split(",").map((key) => key.trim())
    if (keys.some((key) => key.length === 0)) {
      checks.fail(
        `--keys: an empty key in the list (${keys.length} entries); expected comma-separated keys, e.g. sk-a,sk-b`
      )
    } else if (keys.some((key) => /\s/.test(key))) {
      checks.fail("--keys: a key contains white space; expected comma-separated keys, e.g. sk-a,sk-b")
    }
  }
  const code = checks.report()
  if (code !== undefined) return code
  return {
    port: port ?? 8080,
    ...(rpm === undefined ? {} : { rpm }),
    ...(tpm === undefined ? {} : { tpm }),
    ...(faults === undefined ? {} : { faults }),
    ...(seed === undefined ? {} : { seed }),
    ...(quotaUsd === undefined ? {} : { quotaUsd }),
    ...(keys === undefined ? {} : { keys })
  }
}
