/**
 * Every flag that more than one command takes, defined once: a command spreads the records it needs into its flag
 * record (Cli.ts), so `--redis` or `--budget-usd` means, reads and is described the same wherever it appears.
 *
 * Values arrive as the checks want them: an optional flag absent is `undefined` (not an `Option`), and a number is
 * read as text, so that its check (check.ts, usage.ts) can name the flag and the value and report every problem at
 * once (`Flag.Int` would reject the first bad one in the library's words). The scale-out flags come as one
 * nested record, `redis`, the shape `redis.ts`'s check takes. No import of `@sluice/core` here: a usage error exits
 * before any command's code is loaded.
 *
 * @internal
 */
import type * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Option from "effect/Option"

/** The values a record of flags parses to (what a command's check receives). @internal */
export type Values<Flags extends Command.Command.Config> = Command.Command.Config.Infer<Flags>

/** An optional flag with a value, `undefined` when absent. @internal */
export const text = (name: string, metavar: string, description: string): Flag.Flag<string | undefined> =>
  Flag.String(name).pipe(
    Flag.withMetavar(metavar),
    Flag.withDescription(description),
    Flag.optional,
    Flag.map(Option.getOrUndefined)
  )

/** A flag that must be given. @internal */
export const required = (name: string, metavar: string, description: string): Flag.Flag<string> =>
  Flag.String(name).pipe(Flag.withMetavar(metavar), Flag.withDescription(description))

/** An on/off flag, off unless given. @internal */
export const boolean = (name: string, description: string): Flag.Flag<boolean> =>
  Flag.Boolean(name).pipe(Flag.withDescription(description), Flag.withDefault(false))

/** An on/off flag whose name is already a negation (`--no-stream`): there is no `--no-no-stream`. @internal */
export const negative = (name: `no-${string}`, description: string): Flag.Flag<boolean> =>
  boolean(name, description).pipe(Flag.withoutNegation)

/** `-o, --output PATH`: the file a command writes. @internal */
export const output = (description: string): Flag.Flag<string> =>
  required("output", "PATH", description).pipe(Flag.withAlias("o"))

/** `--model ID` with a default (chat, doctor). @internal */
export const model = (description: string, fallback: string): Flag.Flag<string> =>
  required("model", "ID", `${description} (default ${fallback})`).pipe(Flag.withDefault(fallback))

/** Where the requests go and with which key: every command that sends. @internal */
export const connection = {
  baseUrl: text("base-url", "URL", "API base URL (default: OPENAI_BASE_URL, else https://api.openai.com/v1)"),
  // A plain string: `Flag.File` would resolve the path (the resume command must repeat it as given) and check it
  // before the command can say what is wrong with it.
  apiKeyFile: text(
    "api-key-file",
    "PATH",
    "file holding the API key; re-read when it changes and after a 401 (default: OPENAI_API_KEY)"
  ),
  allowInsecure: boolean(
    "allow-insecure",
    "allow plain http:// to a host that is not loopback (the key travels unencrypted)"
  )
} as const

/** `--max-retries N`; the description gives the command's range and default. @internal */
export const maxRetries = (description: string): Flag.Flag<string | undefined> => text("max-retries", "N", description)

/**
 * The gates of a job (batch, embed): `--concurrency` (whose range and default `concurrency` says), `--rpm`,
 * `--tpm`, `--max-retries`, `--budget-usd`.
 *
 * @internal
 */
export const jobGates = (concurrency: string) =>
  ({
    concurrency: text("concurrency", "N", `requests in flight, ${concurrency}`),
    rpm: text("rpm", "N", "requests per minute of the key, 1 to 100000000 (default: learned from headers)"),
    tpm: text("tpm", "N", "tokens per minute of the key, 1 to 10000000000 (default: learned from headers)"),
    maxRetries: maxRetries("retries per request, 0 to 100 (default 5)"),
    budgetUsd: text(
      "budget-usd",
      "USD",
      "spend ceiling in USD, more than 0, at most 1000000; nothing is sent that could cross it (exit 3)"
    )
  }) as const

/** How a job treats its output and its end (batch, embed). @internal */
export const jobOutput = {
  resume: boolean("resume", "continue an existing output"),
  overwrite: boolean("overwrite", "replace an existing output"),
  json: boolean("json", "print the summary as JSON on stdout"),
  graceSeconds: text(
    "grace-seconds",
    "N",
    "after Ctrl-C, how long requests in flight may take to finish, 0 to 3600 (default 10)"
  )
} as const

/**
 * `--prices FILE` and `--lifecycle FILE` (checked by tables.ts, read by tableGates.ts): every command that prices
 * or checks models (batch, embed, chat, doctor).
 *
 * @internal
 */
export const tables = {
  prices: text(
    "prices",
    "FILE",
    "prices from a JSON file (format sluice-prices; default: SLUICE_PRICES, else built in)"
  ),
  lifecycle: text(
    "lifecycle",
    "FILE",
    "model deprecations from a JSON file (format sluice-lifecycle; default: SLUICE_LIFECYCLE, else built in)"
  )
} as const

/** The scale-out flags that share the gates through Redis (batch, embed; checked by redis.ts). @internal */
const redisShared = {
  redis: text(
    "redis",
    "URL",
    "share the key's limits, the fuse and the budget with every process on this Redis, redis://host:port (default: SLUICE_REDIS_URL)"
  ),
  budgetName: text(
    "budget-name",
    "NAME",
    'with --redis: which shared budget --budget-usd caps (default: one shared budget, "default")'
  ),
  redisWaitSeconds: text(
    "redis-wait-seconds",
    "N",
    "with --redis: how long to pause for an unreachable Redis before stopping, 1 to 86400 (default 60)"
  )
} as const

/**
 * The scale-out flags as the nested record `redis` (redis.ts's `RawRedisFlags`): `--redis`, `--budget-name`,
 * `--redis-wait-seconds`, and with `shard` also `--shard I/N` (batch only).
 *
 * @internal
 */
export const scaleOut = { redis: redisShared } as const

/** {@link scaleOut} with `--shard I/N`. @internal */
export const scaleOutSharded = {
  redis: {
    ...redisShared,
    shard: text(
      "shard",
      "I/N",
      "run only shard I of N of the input (by custom_id hash; 1/3, 2/3, 3/3); merge the outputs with sluice merge"
    )
  }
} as const

/** The parsed values of {@link connection}. @internal */
export type Connection = Values<typeof connection>

/** The parsed values of {@link jobGates}. @internal */
export type JobGates = Values<ReturnType<typeof jobGates>>

/** The parsed values of {@link jobOutput}. @internal */
export type JobOutput = Values<typeof jobOutput>

/** The parsed values of {@link tables}. @internal */
export type Tables = Values<typeof tables>
