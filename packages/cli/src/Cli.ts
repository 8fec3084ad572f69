/**
 * The `sluice` command line (`@effect/cli`): `batch`, `chat`, `doctor`, `simulate`, `demo`.
 *
 * Exit codes: 0 all succeeded; 1 bad usage or input (nothing sent); 2 finished with failures; 3 stopped by the
 * budget; 4 stopped by a terminal API condition (quota, authentication); 130 interrupted (the resume command is
 * printed).
 *
 * @since 0.1.0
 */
import { Args, Command, Options, ValidationError } from "@effect/cli"
import { NodeContext } from "@effect/platform-node"
import { Cause, Effect, Exit, Option } from "effect"
import { checkBatch, runBatch } from "./internal/batch.js"
import { checkChat, checkSimulate } from "./internal/check.js"
import { checkKeyFile, logging, plainConsole } from "./internal/client.js"
import { Checks, repeatedFlag } from "./internal/usage.js"

let exitCode = 0
const exitWith = (code: number) =>
  Effect.sync(() => {
    exitCode = code
  })

const undefinedIfNone = <A>(option: Option.Option<A>): A | undefined => Option.getOrUndefined(option)

/** A numeric flag read as text, so that its check can name the flag and the value (see internal/usage.ts). */
const numeric = (name: string, pseudo: string, description: string) =>
  Options.text(name).pipe(Options.withPseudoName(pseudo), Options.withDescription(description), Options.optional)

const baseUrl = Options.text("base-url").pipe(
  Options.withPseudoName("URL"),
  Options.withDescription("API base URL (default: OPENAI_BASE_URL, else https://api.openai.com/v1)"),
  Options.optional
)
const apiKeyFile = Options.text("api-key-file").pipe(
  Options.withPseudoName("PATH"),
  Options.withDescription(
    "file holding the API key; re-read when it changes and after a 401 (default: OPENAI_API_KEY)"
  ),
  Options.optional
)
const allowInsecure = Options.boolean("allow-insecure").pipe(
  Options.withDescription("allow plain http:// to a host that is not loopback (the key travels unencrypted)")
)

const batchCommand = Command.make(
  "batch",
  {
    input: Args.text({ name: "input.jsonl" }).pipe(Args.withDescription("requests in the OpenAI Batch API format")),
    output: Options.text("output").pipe(
      Options.withAlias("o"),
      Options.withPseudoName("PATH"),
      Options.withDescription("results in the OpenAI Batch output format; also the journal for --resume")
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
    resume: Options.boolean("resume").pipe(Options.withDescription("continue an existing output")),
    overwrite: Options.boolean("overwrite").pipe(Options.withDescription("replace an existing output")),
    retryFailed: Options.boolean("retry-failed").pipe(Options.withDescription("with --resume: run failed lines again")),
    remote: Options.boolean("remote").pipe(Options.withDescription("use the server-side Batch API (24 h window)")),
    json: Options.boolean("json").pipe(Options.withDescription("print the summary as JSON on stdout")),
    report: Options.text("report").pipe(
      Options.withPseudoName("PATH"),
      Options.withDescription("write a self-contained HTML report of the run (throughput, 429s, latency, spend)"),
      Options.optional
    ),
    graceSeconds: numeric(
      "grace-seconds",
      "N",
      "after Ctrl-C, how long requests in flight may take to finish, 0 to 3600 (default 10)"
    )
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
        graceSeconds: undefinedIfNone(flags.graceSeconds)
      })
      if (typeof checked === "number") return exitWith(checked)
      return Effect.flatMap(runBatch(checked), ({ code }) => exitWith(code))
    })
).pipe(Command.withDescription("run a JSONL batch job through the gates; resumable"))

const chatCommand = Command.make(
  "chat",
  {
    prompt: Args.text({ name: "prompt" }).pipe(Args.withDescription("the question (quote it)")),
    model: Options.text("model").pipe(
      Options.withPseudoName("ID"),
      Options.withDescription("the model (default gpt-4o-mini)"),
      Options.withDefault("gpt-4o-mini")
    ),
    maxTokens: numeric("max-tokens", "N", "the longest answer in tokens, 1 to 1000000 (default 512)"),
    timeoutSeconds: numeric(
      "timeout-seconds",
      "N",
      "per attempt: seconds to the first token (streaming, default 120) or to the whole answer (--no-stream, default 300), 1 to 3600"
    ),
    maxRetries: numeric("max-retries", "N", "retries after a retryable failure, 0 to 10 (default 2)"),
    noStream: Options.boolean("no-stream").pipe(Options.withDescription("wait for the whole answer")),
    baseUrl,
    apiKeyFile,
    allowInsecure
  },
  (flags) =>
    Effect.suspend(() => {
      const checked = checkChat({
        prompt: flags.prompt,
        model: flags.model,
        maxTokens: undefinedIfNone(flags.maxTokens),
        noStream: flags.noStream,
        timeoutSeconds: undefinedIfNone(flags.timeoutSeconds),
        maxRetries: undefinedIfNone(flags.maxRetries),
        baseUrl: undefinedIfNone(flags.baseUrl),
        apiKeyFile: undefinedIfNone(flags.apiKeyFile),
        allowInsecure: flags.allowInsecure
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
    model: Options.text("model").pipe(
      Options.withPseudoName("ID"),
      Options.withDescription("the model to check (default gpt-4o-mini)"),
      Options.withDefault("gpt-4o-mini")
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
    faults: Options.text("faults").pipe(
      Options.withDescription(
        'a total fault rate from 0 to 1 ("0.05") or per kind ("500=0.02,503=0.01,reset=0.01,429=0.02")'
      ),
      Options.optional
    ),
    seed: numeric("seed", "N", "seed of the fault injection, a whole number from 0"),
    quotaUsd: numeric("quota-usd", "USD", "spend after which every request gets 429 insufficient_quota, at least 0"),
    keys: Options.text("keys").pipe(Options.withDescription("comma-separated accepted keys"), Options.optional)
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
    skipComparison: Options.boolean("skip-comparison").pipe(
      Options.withDescription("only the Sluice run, not the openai + p-limit one")
    )
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
  Command.withSubcommands([batchCommand, chatCommand, doctorCommand, simulateCommand, demoCommand])
)

const cli = Command.run(command, { name: "sluice", version: "0.1.0" })

/**
 * Runs the command line (`argv` as in `process.argv`) and resolves with the exit code.
 *
 * @since 0.1.0
 * @category running
 */
export const main = (argv: ReadonlyArray<string>): Promise<number> => {
  exitCode = 0
  const repeated = repeatedFlag(argv.slice(2))
  if (repeated !== undefined) {
    process.stderr.write(`${repeated}\n`)
    return Promise.resolve(1)
  }
  const program = cli(argv).pipe(
    Effect.withConsole(plainConsole),
    Effect.provide(NodeContext.layer),
    Effect.provide(logging)
  )
  return Effect.runPromiseExit(program).then((exit) => {
    if (Exit.isSuccess(exit)) return exitCode
    const failure = Cause.failureOption(exit.cause)
    if (Option.isSome(failure) && ValidationError.isValidationError(failure.value)) return 1
    process.stderr.write(`sluice: ${Cause.pretty(exit.cause)}\n`)
    return 70
  })
}
