/**
 * Flag and argument checks that run before anything starts: every problem names the flag, the value given and
 * what is allowed. A command with a usage problem exits 1 having sent nothing and written nothing. Of `@sluice/core`
 * only `BaseUrl` is imported here (nor more in check.ts): it has no dependency, so a usage error exits before any
 * command's code (or Effect) is loaded.
 *
 * @internal
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as BaseUrl from "@sluice/core/BaseUrl"

/** Shown as the shell would need it: bare when safe, else JSON-quoted (so an empty value shows as `""`). */
/** A value that looks like an API key (`sk-…`): never echoed back, whatever flag it was given to. */
const looksLikeKey = (value: string): boolean => /^\s*sk-[\w-]{8,}/.test(value)

export const show = (value: string): string =>
  looksLikeKey(value)
    ? "(a value that looks like an API key, not shown)"
    : /^[\w@%+=:,./-]+$/.test(value)
      ? value
      : JSON.stringify(value)

const wholeNumber = /^[+-]?\d+$/
const decimal = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i

/** Collects every usage problem of one command line, then reports them all at once. */
export class Checks {
  readonly problems: Array<string> = []

  constructor(readonly command: string) {}

  fail(text: string): void {
    this.problems.push(text)
  }

  /** An optional whole number within `[min, max]`. */
  integer(
    flag: string,
    raw: string | undefined,
    range: { readonly min: number; readonly max: number },
    meaning: string
  ): number | undefined {
    if (raw === undefined) return undefined
    const allowed = `a whole number from ${range.min} to ${range.max} (${meaning})`
    const text = raw.trim()
    if (!wholeNumber.test(text)) {
      this.fail(`${flag} ${show(raw)}: not a whole number; expected ${allowed}`)
      return undefined
    }
    const value = Number(text)
    if (!Number.isSafeInteger(value) || value < range.min || value > range.max) {
      this.fail(`${flag} ${show(raw)}: out of range; expected ${allowed}`)
      return undefined
    }
    return value
  }

  /** An optional decimal number; `above` is exclusive, `min` and `max` inclusive. */
  number(
    flag: string,
    raw: string | undefined,
    range: { readonly above?: number; readonly min?: number; readonly max: number },
    meaning: string
  ): number | undefined {
    if (raw === undefined) return undefined
    const lower =
      range.above !== undefined ? `more than ${range.above}` : `at least ${range.min ?? Number.NEGATIVE_INFINITY}`
    const allowed = `a number ${lower} and at most ${range.max} (${meaning})`
    const text = raw.trim()
    if (!decimal.test(text)) {
      this.fail(`${flag} ${show(raw)}: not a number; expected ${allowed}`)
      return undefined
    }
    const value = Number(text)
    const tooLow = range.above !== undefined ? value <= range.above : range.min !== undefined && value < range.min
    if (!Number.isFinite(value) || tooLow || value > range.max) {
      this.fail(`${flag} ${show(raw)}: out of range; expected ${allowed}`)
      return undefined
    }
    return value
  }

  /** A text that must not be blank (and, for names, must not contain white space). */
  text(flag: string, raw: string, meaning: string, options: { readonly name?: boolean } = {}): string {
    if (raw.trim().length === 0) {
      this.fail(`${flag} ${show(raw)}: empty; expected ${meaning}`)
    } else if (options.name === true && /\s/.test(raw)) {
      this.fail(`${flag} ${show(raw)}: contains white space; expected ${meaning}`)
    }
    return raw.trim()
  }

  /** A base URL: parses, http or https, no credentials; plain http only to loopback unless `allowInsecure`. */
  baseUrl(raw: string | undefined, allowInsecure: boolean): void {
    const fromEnv = raw === undefined
    const value = raw ?? process.env["OPENAI_BASE_URL"]
    if (value === undefined || (fromEnv && value.trim() === "")) return
    const flag = fromEnv ? "OPENAI_BASE_URL" : "--base-url"
    const shown = fromEnv ? `${flag}=${show(value)}` : `${flag} ${show(value)}`
    const example = "e.g. https://api.openai.com/v1 or http://127.0.0.1:8080/v1"
    const { problem } = BaseUrl.check(value.trim(), allowInsecure)
    switch (problem?._tag) {
      case "NotUrl":
        this.fail(`${shown}: not a URL; expected an http(s) URL, ${example}`)
        break
      case "Credentials":
        this.fail(
          `${flag}: the URL carries a user name or password; leave them out (the key comes from OPENAI_API_KEY or --api-key-file)`
        )
        break
      case "Scheme":
        this.fail(`${shown}: the scheme ${problem.protocol} is not supported; expected an http(s) URL, ${example}`)
        break
      case "Insecure":
        this.fail(
          `${shown}: plain http to a host that is not loopback would send the API key unencrypted; use https, or add --allow-insecure if this network is trusted`
        )
    }
  }

  /** Writes every problem to stderr; returns the exit code (1), or `undefined` when there is none. */
  report(): number | undefined {
    if (this.problems.length === 0) return undefined
    const lines = this.problems.map((problem) => `sluice ${this.command}: ${problem}`)
    const nothing = this.command === "simulate" || this.command === "demo" ? "Nothing was started" : "Nothing was sent"
    process.stderr.write(`${lines.join("\n")}\n${nothing}. Run sluice ${this.command} --help for every flag.\n`)
    return 1
  }
}

/** The real path of `path`, or of its existing parent joined with the rest (for files yet to be created). */
export const canonical = (path: string): string => {
  const absolute = Path.resolve(path)
  try {
    return Fs.realpathSync(absolute)
  } catch {
    try {
      return Path.join(Fs.realpathSync(Path.dirname(absolute)), Path.basename(absolute))
    } catch {
      return absolute
    }
  }
}

/** Whether the file has at least one non-blank character (reads only until it finds one). */
export const hasContent = (fd: number): boolean => {
  const buffer = Buffer.alloc(64 * 1024)
  for (;;) {
    const read = Fs.readSync(fd, buffer, 0, buffer.length, null)
    if (read === 0) return false
    if (/\S/.test(buffer.toString("utf8", 0, read))) return true
  }
}

/** Checks a file that will be written: its directory exists, it is not a directory itself. */
export const checkWritable = (checks: Checks, flag: string, path: string): void => {
  const absolute = Path.resolve(path)
  try {
    if (Fs.statSync(absolute).isDirectory()) {
      checks.fail(`${flag} ${show(path)}: is a directory; expected a file path`)
    }
    return
  } catch {
    // does not exist yet: its directory must
  }
  try {
    if (!Fs.statSync(Path.dirname(absolute)).isDirectory()) throw new Error("not a directory")
  } catch {
    checks.fail(`${flag} ${show(path)}: the directory ${show(Path.dirname(absolute))} does not exist; create it first`)
  }
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
  if (looksLikeKey(path)) {
    checks.fail(
      `--api-key-file ${show(path)}: expected the path of a file holding the key, not the key itself (or set OPENAI_API_KEY)`
    )
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

/** Every flag of every command that takes no value (all others take one). */
const booleans = new Set([
  "--resume",
  "--overwrite",
  "--retry-failed",
  "--remote",
  "--json",
  "--no-stream",
  "--skip-comparison",
  "--allow-insecure",
  "--help",
  "-h",
  "--version",
  "-v",
  "--wizard"
])

const aliases: Record<string, string> = { "-o": "--output" }

/**
 * A flag given more than once (`--concurrency 50 --concurrency 200`), with the values given (effect/cli 4.1 names
 * the flag but not the values: `"2 occurrences"`). Returns the message, or `undefined`.
 */
export const repeatedFlag = (args: ReadonlyArray<string>): string | undefined => {
  const seen = new Map<string, Array<string>>()
  const command = args.find((arg) => !arg.startsWith("-")) ?? ""
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "--") break
    const match = /^(--?[A-Za-z][\w-]*)(=(.*))?$/.exec(arg)
    if (match === null) continue
    const flag = aliases[match[1]!] ?? match[1]!
    // effect/cli 4.1 gives each boolean flag a negation (`--no-json`): it takes no value either.
    const boolean = booleans.has(flag) || (flag.startsWith("--no-") && booleans.has(`--${flag.slice(5)}`))
    let value = "(given)"
    if (match[3] !== undefined) value = match[3]
    else if (!boolean && i + 1 < args.length) value = args[++i]!
    const values = seen.get(flag) ?? []
    values.push(value)
    seen.set(flag, values)
  }
  for (const [flag, values] of seen) {
    if (values.length > 1) {
      const given = values.every((value) => value === "(given)")
        ? `${values.length} times`
        : `${values.length} times (${values.map(show).join(", ")})`
      const nothing = command === "simulate" || command === "demo" ? "Nothing was started" : "Nothing was sent"
      return `sluice${command === "" ? "" : ` ${command}`}: ${flag} is given ${given}; give it once. ${nothing}.`
    }
  }
  return undefined
}

/** `path` (given to `flag`) is an existing, readable file, not a directory; `what` says what it should hold. */
export const checkReadableFile = (checks: Checks, flag: string, path: string, what: string): void => {
  if (path.trim() === "") {
    checks.fail(`${flag} ${show(path)}: empty; expected the path of ${what}`)
    return
  }
  try {
    if (Fs.statSync(path).isDirectory()) checks.fail(`${flag} ${show(path)}: is a directory; expected ${what}`)
    else Fs.accessSync(path, Fs.constants.R_OK)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    checks.fail(
      code === "ENOENT"
        ? `${flag} ${show(path)} does not exist; expected the path of ${what}`
        : `${flag} ${show(path)} cannot be read (${code ?? "unreadable"}); check the path and permissions`
    )
  }
}
