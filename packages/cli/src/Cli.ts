/**
 * The `sluice` command line (`effect/cli`): `batch`, `chat`, `doctor`, `simulate`, `demo`.
 *
 * Exit codes: 0 all succeeded; 1 bad usage or input (nothing sent); 2 finished with failures; 3 stopped by the
 * budget; 4 stopped by a terminal API condition (quota, authentication); 130 interrupted (the resume command is
 * printed).
 *
 * Every flag is checked before anything starts (internal/check.ts, internal/usage.ts): each problem names the flag,
 * the value and what is allowed, all of them at once, exit 1, nothing sent or written.
 *
 * Each command's code (and with it `@sluice/core`, `@sluice/stream`, the simulator) is imported when the command
 * runs, so that `--help`, `--version` and usage errors load only the command line itself.
 *
 * @since 0.1.0
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Cause from "effect/Cause"
import * as Argument from "effect/cli/Argument"
import * as CliError from "effect/cli/CliError"
import * as CliOutput from "effect/cli/CliOutput"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as TerminalCapabilities from "effect/cli/TerminalCapabilities"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { checkBatch, checkChat, checkMerge, checkSimulate } from "./internal/check.js"
import { checkEmbed } from "./internal/embed.js"
import { logging } from "./internal/logging.js"
import * as ScaleOut from "./internal/redis.js"
import { tableFlags } from "./internal/tables.js"
import { Checks, checkKeyFile, repeatedFlag, show } from "./internal/usage.js"

let exitCode = 0
const exitWith = (code: number) =>
  Effect.sync(() => {
    exitCode = code
  })

const undefinedIfNone = <A>(option: Option.Option<A>): A | undefined => Option.getOrUndefined(option)

/**
 * A numeric flag read as text, so that its check can name the flag and the value and report every problem at once
 * (`Flag.Int` would reject the first bad one with the library's wording; see internal/usage.ts).
 */
const numeric = (name: string, metavar: string, description: string) =>
  Flag.String(name).pipe(Flag.withMetavar(metavar), Flag.withDescription(description), Flag.optional)

const baseUrl = Flag.String("base-url").pipe(
  Flag.withMetavar("URL"),
  Flag.withDescription("API base URL (default: OPENAI_BASE_URL, else https://api.openai.com/v1)"),
  Flag.optional
)
// A plain string: `Flag.File` would resolve the path (the resume command must repeat it as given) and check it
// before the command can say what is wrong with it.
const apiKeyFile = Flag.String("api-key-file").pipe(
  Flag.withMetavar("PATH"),
  Flag.withDescription("file holding the API key; re-read when it changes and after a 401 (default: OPENAI_API_KEY)"),
  Flag.optional
)
const boolean = (name: string, description: string) =>
  Flag.Boolean(name).pipe(Flag.withDescription(description), Flag.withDefault(false))
const allowInsecure = boolean(
  "allow-insecure",
  "allow plain http:// to a host that is not loopback (the key travels unencrypted)"
)

const batchCommand = Command.make(
  "batch",
  {
    input: Argument.String("input.jsonl").pipe(Argument.withDescription("requests in the OpenAI Batch API format")),
    output: Flag.String("output").pipe(
      Flag.withAlias("o"),
      Flag.withMetavar("PATH"),
      Flag.withDescription("results in the OpenAI Batch output format; also the journal for --resume")
    ),
    baseUrl,
    apiKeyFile,
    allowInsecure,
    concurrency: numeric("concurrency", "N", "requests in flight, 1 to 10000 (default 16)"),
    rpm: numeric("rpm", "N", "requests per minute of the key, at least 1 (default: learned from headers)"),
    tpm: numeric("tpm", "N", "tokens per minute of the key, at least 1 (default: learned from headers)"),
    maxRetries: numeric("max-retries", "N", "retries per request, 0 to 100 (default 5)"),
    budgetUsd: numeric(
      "budget-usd",
      "USD",
      "spend ceiling in USD, more than 0; nothing is sent that could cross it (exit 3)"
    ),
    resume: boolean("resume", "continue an existing output"),
    overwrite: boolean("overwrite", "replace an existing output"),
    retryFailed: boolean("retry-failed", "with --resume: run failed lines again"),
    remote: boolean("remote", "use the server-side Batch API (24 h window)"),
    json: boolean("json", "print the summary as JSON on stdout"),
    report: Flag.String("report").pipe(
      Flag.withMetavar("PATH"),
      Flag.withDescription("write a self-contained HTML report of the run (throughput, 429s, latency, spend)"),
      Flag.optional
    ),
    graceSeconds: numeric(
      "grace-seconds",
      "N",
      "after Ctrl-C, how long requests in flight may take to finish, 0 to 3600 (default 10)"
    ),
    ...tableFlags,
    // Scale-out (internal/redis.ts): --redis, --budget-name, --redis-wait-seconds, --shard.
    ...ScaleOut.flags
  },
  (flags) =>
    Effect.suspend(() => {
      const checked = checkBatch({
        input: flags.input,
        output: flags.output,
        baseUrl: undefinedIfNone(flags.baseUrl),
        apiKeyFile: undefinedIfNone(flags.apiKeyFile),
        allowInsecure: flags.allowInsecure,
        concurrency: undefinedIfNone(flags.concurrency),
        rpm: undefinedIfNone(flags.rpm),
        tpm: undefinedIfNone(flags.tpm),
        maxRetries: undefinedIfNone(flags.maxRetries),
        budgetUsd: undefinedIfNone(flags.budgetUsd),
        resume: flags.resume,
        overwrite: flags.overwrite,
        retryFailed: flags.retryFailed,
        remote: flags.remote,
        json: flags.json,
        report: undefinedIfNone(flags.report),
        graceSeconds: undefinedIfNone(flags.graceSeconds),
        prices: undefinedIfNone(flags.prices),
        lifecycle: undefinedIfNone(flags.lifecycle),
        redis: ScaleOut.raw(flags)
      })
      if (typeof checked === "number") return exitWith(checked)
      return Effect.flatMap(
        Effect.flatMap(
          Effect.promise(() => import("./internal/batch.js")),
          (m) => m.runBatch(checked)
        ),
        ({ code }) => exitWith(code)
      )
    })
).pipe(Command.withDescription("run a JSONL batch job through the gates; resumable"))

// Scale-out: the outputs of `batch --shard i/n` as one file (internal/merge.ts).
const mergeCommand = Command.make(
  "merge",
  {
    parts: Argument.String("shard-output.jsonl").pipe(
      Argument.withDescription("the outputs of the shards (sluice batch --shard i/n -o …)"),
      Argument.variadic({ min: 1 })
    ),
    input: Flag.String("input").pipe(
      Flag.withMetavar("PATH"),
      Flag.withDescription("the input the shards split: the merged output follows its order")
    ),
    output: Flag.String("output").pipe(
      Flag.withAlias("o"),
      Flag.withMetavar("PATH"),
      Flag.withDescription("the merged output, in the OpenAI Batch output format")
    ),
    overwrite: boolean("overwrite", "replace an existing merged output")
  },
  (flags) =>
    Effect.suspend(() => {
      const checked = checkMerge({ ...flags, parts: [...flags.parts] })
      if (typeof checked === "number") return exitWith(checked)
      return Effect.flatMap(
        Effect.flatMap(
          Effect.promise(() => import("./internal/merge.js")),
          (m) => m.merge(checked)
        ),
        exitWith
      )
    })
).pipe(Command.withDescription("merge the outputs of sluice batch --shard i/n into one Batch output, in input order"))

const embedCommand = Command.make(
  "embed",
  {
    input: Argument.String("input").pipe(
      Argument.withDescription('documents: JSONL {"id","text"} per line, or plain text with one per line')
    ),
    output: Flag.String("output").pipe(
      Flag.withAlias("o"),
      Flag.withMetavar("PATH"),
      Flag.withDescription("vectors in input order (JSONL, or --format f32); also the journal for --resume")
    ),
    model: Flag.String("model").pipe(Flag.withMetavar("ID"), Flag.withDescription("the embedding model")),
    dimensions: numeric("dimensions", "N", "vector length, 1 to 65536 (default: the model's)"),
    cache: Flag.String("cache").pipe(
      Flag.withMetavar("DIR"),
      Flag.withDescription("a persistent cache (SQLite): texts embedded before are not sent again"),
      Flag.optional
    ),
    format: Flag.String("format").pipe(
      Flag.withMetavar("jsonl|f32"),
      Flag.withDescription("jsonl (default) or f32: a float32 matrix plus OUTPUT.ids"),
      Flag.optional
    ),
    overLong: Flag.String("over-long").pipe(
      Flag.withMetavar("fail|truncate|split"),
      Flag.withDescription("an input over 8,192 tokens: fail (default), truncate it, or split and average"),
      Flag.optional
    ),
    baseUrl,
    apiKeyFile,
    allowInsecure,
    concurrency: numeric("concurrency", "N", "requests in flight, 1 to 1024 (default 8)"),
    rpm: numeric("rpm", "N", "requests per minute of the key, at least 1 (default: learned from headers)"),
    tpm: numeric("tpm", "N", "tokens per minute of the key, at least 1 (default: learned from headers)"),
    maxRetries: numeric("max-retries", "N", "retries per request, 0 to 100 (default 5)"),
    budgetUsd: numeric("budget-usd", "USD", "spend ceiling in USD, more than 0 (exit 3)"),
    resume: boolean("resume", "continue an existing output"),
    overwrite: boolean("overwrite", "replace an existing output"),
    remote: boolean("remote", "send what is not cached through the server-side Batch API (24 h window)"),
    json: boolean("json", "print the summary as JSON on stdout"),
    graceSeconds: numeric("grace-seconds", "N", "after Ctrl-C, seconds for requests in flight, 0 to 3600 (default 10)"),
    ...tableFlags,
    // Scale-out (internal/redis.ts): --redis, --budget-name, --redis-wait-seconds (no --shard for embed).
    ...ScaleOut.sharedFlags
  },
  (flags) =>
    Effect.suspend(() => {
      const checked = checkEmbed({
        ...flags,
        dimensions: undefinedIfNone(flags.dimensions),
        cache: undefinedIfNone(flags.cache),
        format: undefinedIfNone(flags.format),
        overLong: undefinedIfNone(flags.overLong),
        baseUrl: undefinedIfNone(flags.baseUrl),
        apiKeyFile: undefinedIfNone(flags.apiKeyFile),
        concurrency: undefinedIfNone(flags.concurrency),
        rpm: undefinedIfNone(flags.rpm),
        tpm: undefinedIfNone(flags.tpm),
        maxRetries: undefinedIfNone(flags.maxRetries),
        budgetUsd: undefinedIfNone(flags.budgetUsd),
        graceSeconds: undefinedIfNone(flags.graceSeconds),
        prices: undefinedIfNone(flags.prices),
        lifecycle: undefinedIfNone(flags.lifecycle),
        redis: ScaleOut.raw(flags)
      })
      if (typeof checked === "number") return exitWith(checked)
      return Effect.flatMap(
        Effect.flatMap(
          Effect.promise(() => import("./internal/embed.js")),
          (m) => m.runEmbed(checked)
        ),
        exitWith
      )
    })
).pipe(Command.withDescription("embed a file of documents: packed, deduplicated, cached, resumable"))

const chatCommand = Command.make(
  "chat",
  {
    prompt: Argument.String("prompt").pipe(Argument.withDescription("the question (quote it)")),
    model: Flag.String("model").pipe(
      Flag.withMetavar("ID"),
      Flag.withDescription("the model (default gpt-4o-mini)"),
      Flag.withDefault("gpt-4o-mini")
    ),
    maxTokens: numeric("max-tokens", "N", "the longest answer in tokens, 1 to 1000000 (default 512)"),
    timeoutSeconds: numeric(
      "timeout-seconds",
      "N",
      "per attempt: seconds to the first token (streaming, default 120) or to the whole answer (--no-stream, default 300), 1 to 3600"
    ),
    maxRetries: numeric("max-retries", "N", "retries after a retryable failure, 0 to 10 (default 2)"),
    noStream: boolean("no-stream", "wait for the whole answer").pipe(Flag.withoutNegation),
    api: numeric("api", "chat|responses", "the API that answers: chat (Chat Completions, the default) or responses"),
    baseUrl,
    apiKeyFile,
    allowInsecure,
    ...tableFlags
  },
  (flags) =>
    Effect.suspend(() => {
      const checked = checkChat({
        api: undefinedIfNone(flags.api),
        prompt: flags.prompt,
        model: flags.model,
        maxTokens: undefinedIfNone(flags.maxTokens),
        noStream: flags.noStream,
        timeoutSeconds: undefinedIfNone(flags.timeoutSeconds),
        maxRetries: undefinedIfNone(flags.maxRetries),
        baseUrl: undefinedIfNone(flags.baseUrl),
        apiKeyFile: undefinedIfNone(flags.apiKeyFile),
        allowInsecure: flags.allowInsecure,
        prices: undefinedIfNone(flags.prices),
        lifecycle: undefinedIfNone(flags.lifecycle)
      })
      if (typeof checked === "number") return exitWith(checked)
      return Effect.flatMap(
        Effect.flatMap(
          Effect.promise(() => import("./internal/chat.js")),
          (m) => m.chat(checked)
        ),
        exitWith
      )
    })
).pipe(Command.withDescription("ask one question; the answer streams to the terminal"))

const doctorCommand = Command.make(
  "doctor",
  {
    baseUrl,
    apiKeyFile,
    allowInsecure,
    model: Flag.String("model").pipe(
      Flag.withMetavar("ID"),
      Flag.withDescription("the model to check (default gpt-4o-mini)"),
      Flag.withDefault("gpt-4o-mini")
    )
  },
  (flags) =>
    Effect.suspend(() => {
      const checks = new Checks("doctor")
      const model = checks.text("--model", flags.model, "a model id, e.g. gpt-4o-mini", { name: true })
      checks.baseUrl(undefinedIfNone(flags.baseUrl), flags.allowInsecure)
      checkKeyFile(checks, undefinedIfNone(flags.apiKeyFile))
      const code = checks.report()
      if (code !== undefined) return exitWith(code)
      return Effect.flatMap(
        Effect.flatMap(
          Effect.promise(() => import("./internal/doctor.js")),
          (m) =>
            m.doctor({
              baseUrl: undefinedIfNone(flags.baseUrl),
              apiKeyFile: undefinedIfNone(flags.apiKeyFile),
              allowInsecure: flags.allowInsecure,
              model
            })
        ),
        exitWith
      )
    })
).pipe(Command.withDescription("check the key, latency, rate-limit headroom and models"))

const simulateCommand = Command.make(
  "simulate",
  {
    port: numeric("port", "N", "TCP port on 127.0.0.1, 0 to 65535; 0 picks a free one (default 8080)"),
    rpm: numeric("rpm", "N", "requests per minute per key, at least 1"),
    tpm: numeric("tpm", "N", "tokens per minute per key, at least 1"),
    faults: Flag.String("faults").pipe(
      Flag.withDescription(
        'a total fault rate from 0 to 1 ("0.05") or per kind ("500=0.02,503=0.01,reset=0.01,429=0.02")'
      ),
      Flag.optional
    ),
    seed: numeric("seed", "N", "seed of the fault injection, a whole number from 0"),
    quotaUsd: numeric("quota-usd", "USD", "spend after which every request gets 429 insufficient_quota, at least 0"),
    keys: Flag.String("keys").pipe(Flag.withDescription("comma-separated accepted keys"), Flag.optional)
  },
  (flags) =>
    Effect.suspend(() => {
      const checked = checkSimulate({
        port: undefinedIfNone(flags.port),
        rpm: undefinedIfNone(flags.rpm),
        tpm: undefinedIfNone(flags.tpm),
        faults: undefinedIfNone(flags.faults),
        seed: undefinedIfNone(flags.seed),
        quotaUsd: undefinedIfNone(flags.quotaUsd),
        keys: undefinedIfNone(flags.keys)
      })
      if (typeof checked === "number") return exitWith(checked)
      return Effect.flatMap(
        Effect.flatMap(
          Effect.promise(() => import("./internal/simulate.js")),
          (m) => m.simulate(checked)
        ),
        exitWith
      )
    })
).pipe(Command.withDescription("run the OpenAI-compatible simulator in the foreground until Ctrl-C"))

const demoCommand = Command.make(
  "demo",
  {
    requests: numeric("requests", "N", "requests in the job, 1 to 50000 (default 2000)"),
    skipComparison: boolean("skip-comparison", "only the Sluice run, not the openai + p-limit one")
  },
  (flags) =>
    Effect.suspend(() => {
      const checks = new Checks("demo")
      const requests = checks.integer(
        "--requests",
        undefinedIfNone(flags.requests),
        { min: 1, max: 50_000 },
        "requests in the job"
      )
      const code = checks.report()
      if (code !== undefined) return exitWith(code)
      return Effect.flatMap(
        Effect.flatMap(
          Effect.promise(() => import("./internal/demo.js")),
          (m) => m.demo({ requests: requests ?? 2000, compare: !flags.skipComparison })
        ),
        exitWith
      )
    })
).pipe(Command.withDescription("a 2,000-request job on an embedded simulator, then the same with openai + p-limit"))

/**
 * The `sluice` command and its subcommands.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("sluice").pipe(
  Command.withDescription("Sluice: production batch jobs and streams against the OpenAI API"),
  Command.withSubcommands([
    batchCommand,
    embedCommand,
    mergeCommand,
    chatCommand,
    doctorCommand,
    simulateCommand,
    demoCommand
  ])
)

// The package's version (packages/cli/package.json; the Effect 4 line is 0.2.0): Usage.test.ts and Bin.test.ts
// check that they agree.
const version = "0.2.0"

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

// Help on stdout (colored only on a terminal without NO_COLOR: the capabilities' rule); a usage error on stderr
// as plain lines naming the command, without the whole help (as on the Effect 3 line), and the version bare.
const presenter: CliOutput.Presenter = {
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

const cli = Command.runWith(command, { version })

const services = Layer.mergeAll(NodeServices.layer, CliOutput.layerPresenter(presenter), logging)

/**
 * Runs the command line (`argv` as in `process.argv`) and resolves with the exit code.
 *
 * @since 0.1.0
 * @category running
 */
export const main = (argv: ReadonlyArray<string>): Promise<number> => {
  exitCode = 0
  // Before parsing: the message names the values given (the library's names only the flag).
  const repeated = repeatedFlag(argv.slice(2))
  if (repeated !== undefined) {
    process.stderr.write(`${repeated}\n`)
    return Promise.resolve(1)
  }
  const program = cli(argv.slice(2)).pipe(Effect.provide(services))
  return Effect.runPromiseExit(program).then((exit) => {
    if (Exit.isSuccess(exit)) return exitCode
    const failure = Cause.findErrorOption(exit.cause)
    if (Option.isSome(failure) && CliError.isCliError(failure.value)) {
      // `sluice` alone shows the help (no error: exit 0, as before); every other CLI error is a usage error
      const error = failure.value
      return error._tag === "ShowHelp" && error.errors.length === 0 ? 0 : 1
    }
    process.stderr.write(`sluice: ${Cause.pretty(exit.cause)}\n`)
    return 70
  })
}
