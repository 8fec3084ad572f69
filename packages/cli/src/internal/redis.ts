/**
 * The scale-out flags that `sluice batch` and `sluice embed` share: `--redis URL` (or `SLUICE_REDIS_URL`),
 * `--budget-name NAME`, `--redis-wait-seconds N` and `--shard I/N` (batch only). Defined with the other shared flags
 * in flags.ts (`scaleOut`, `scaleOutSharded`); here their one check and the one place where they go into the resume
 * command. No import of `@sluice/core` here (it is loaded by the checks, before any command runs).
 *
 * @internal
 */
import { type Checks, show } from "./usage.js"

/** The flags as typed (the nested record `redis` of flags.ts's `scaleOut`; `shard` only on batch). @internal */
export interface RawRedisFlags {
  readonly redis: string | undefined
  readonly budgetName: string | undefined
  readonly redisWaitSeconds: string | undefined
  readonly shard?: string | undefined
}

/** One shard of N (1-based). @internal */
export interface Shard {
  readonly index: number
  readonly count: number
}

/** The checked flags. @internal */
export interface RedisFlags {
  /** The Redis URL (from the flag or `SLUICE_REDIS_URL`). */
  readonly url?: string | undefined
  /** Whether the URL came from `--redis` (then the resume command repeats it). */
  readonly fromFlag?: boolean | undefined
  readonly budgetName?: string | undefined
  readonly waitSeconds?: number | undefined
  readonly shard?: Shard | undefined
}

/** A URL shown without its password. */
const redact = (value: string): string => value.replace(/^(\s*[a-z][a-z0-9+.-]*:\/\/[^:@/]*:)[^@/]*@/i, "$1***@")

const checkUrl = (checks: Checks, raw: string | undefined): { url?: string; fromFlag?: boolean } => {
  const fromEnv = raw === undefined
  const value = raw ?? process.env["SLUICE_REDIS_URL"]
  if (value === undefined || (fromEnv && value.trim() === "")) return {}
  const flag = fromEnv ? "SLUICE_REDIS_URL" : "--redis"
  const shown = fromEnv ? `${flag}=${show(redact(value))}` : `${flag} ${show(redact(value))}`
  const example = "e.g. redis://127.0.0.1:6379 or rediss://user:password@host:6380/0"
  let url: URL
  try {
    url = new URL(value.trim())
  } catch {
    checks.fail(`${shown}: not a URL; expected a Redis URL, ${example}`)
    return {}
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    checks.fail(`${shown}: the scheme ${url.protocol} is not supported; expected redis:// or rediss://, ${example}`)
    return {}
  }
  if (url.hostname === "") {
    checks.fail(`${shown}: no host; expected a Redis URL, ${example}`)
    return {}
  }
  return { url: value.trim(), fromFlag: !fromEnv }
}

const checkShard = (checks: Checks, raw: string | undefined): Shard | undefined => {
  if (raw === undefined) return undefined
  const allowed = "I/N with whole numbers 1 ≤ I ≤ N ≤ 10000, e.g. 1/3 (this process runs the first of three shards)"
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(raw)
  if (match === null) {
    checks.fail(`--shard ${show(raw)}: not I/N; expected ${allowed}`)
    return undefined
  }
  const index = Number(match[1])
  const count = Number(match[2])
  if (count < 1 || count > 10_000 || index < 1 || index > count) {
    checks.fail(`--shard ${show(raw)}: out of range; expected ${allowed}`)
    return undefined
  }
  return { index, count }
}

/**
 * Checks the scale-out flags of `command` (`batch`, `embed`): the URL (flag, else `SLUICE_REDIS_URL`), the budget
 * name, the wait and the shard; `--budget-name` and `--redis-wait-seconds` need a Redis. Problems go to `checks`.
 *
 * @internal
 */
export const check = (checks: Checks, raw: RawRedisFlags): RedisFlags => {
  const { url, fromFlag } = checkUrl(checks, raw.redis)
  const waitSeconds = checks.integer(
    "--redis-wait-seconds",
    raw.redisWaitSeconds,
    { min: 1, max: 86_400 },
    "seconds to wait for Redis"
  )
  let budgetName: string | undefined
  if (raw.budgetName !== undefined) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(raw.budgetName)) {
      checks.fail(
        `--budget-name ${show(raw.budgetName)}: expected 1 to 64 letters, digits, '_', '.' or '-' (it becomes part of the Redis keys)`
      )
    } else budgetName = raw.budgetName
  }
  const shared = raw.redis ?? process.env["SLUICE_REDIS_URL"]
  if (shared === undefined || shared.trim() === "") {
    for (const [flag, value] of [
      ["--budget-name", raw.budgetName],
      ["--redis-wait-seconds", raw.redisWaitSeconds]
    ] as const) {
      if (value !== undefined) {
        checks.fail(
          `${flag} ${show(value)} needs --redis (or SLUICE_REDIS_URL): without a shared Redis there is nothing to name or wait for`
        )
      }
    }
  }
  const shard = checkShard(checks, raw.shard)
  return {
    ...(url === undefined ? {} : { url, fromFlag }),
    ...(budgetName === undefined ? {} : { budgetName }),
    ...(waitSeconds === undefined ? {} : { waitSeconds }),
    ...(shard === undefined ? {} : { shard })
  }
}

/**
 * The flags that repeat these in a resume command (a URL from `SLUICE_REDIS_URL` stays in the environment; a
 * password in a `--redis` URL is replaced by `PASSWORD`, never printed).
 *
 * @internal
 */
export const resumeArgs = (flags: RedisFlags | undefined): ReadonlyArray<string> => {
  if (flags === undefined) return []
  const args: Array<string> = []
  if (flags.url !== undefined && flags.fromFlag === true) {
    args.push("--redis", flags.url.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/, "$1PASSWORD@"))
  }
  if (flags.budgetName !== undefined) args.push("--budget-name", flags.budgetName)
  if (flags.waitSeconds !== undefined) args.push("--redis-wait-seconds", String(flags.waitSeconds))
  if (flags.shard !== undefined) args.push("--shard", `${flags.shard.index}/${flags.shard.count}`)
  return args
}
