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
import { runBatch } from "./internal/batch.js"
import { logging } from "./internal/client.js"

let exitCode = 0
const exitWith = (code: number) =>
  Effect.sync(() => {
    exitCode = code
  })

const undefinedIfNone = <A>(option: Option.Option<A>): A | undefined => Option.getOrUndefined(option)

const baseUrl = Options.text("base-url").pipe(
  Options.withDescription("API base URL (default: OPENAI_BASE_URL, else https://api.openai.com/v1)"),
  Options.optional
)
const apiKeyFile = Options.file("api-key-file").pipe(
  Options.withDescription(
    "file holding the API key; re-read when it changes and after a 401 (default: OPENAI_API_KEY)"
  ),
  Options.optional
)

const batchCommand = Command.make(
  "batch",
  {
    input: Args.text({ name: "input.jsonl" }).pipe(Args.withDescription("requests in the OpenAI Batch API format")),
    output: Options.text("output").pipe(
      Options.withAlias("o"),
      Options.withDescription("results in the OpenAI Batch output format; also the journal for --resume")
    ),
    baseUrl,
    apiKeyFile,
    concurrency: Options.integer("concurrency").pipe(
      Options.withDescription("requests in flight (default 16)"),
      Options.optional
    ),
    rpm: Options.integer("rpm").pipe(Options.withDescription("requests per minute of the key"), Options.optional),
    tpm: Options.integer("tpm").pipe(Options.withDescription("tokens per minute of the key"), Options.optional),
    maxRetries: Options.integer("max-retries").pipe(
      Options.withDescription("retries per request (default 5)"),
      Options.optional
    ),
    budgetUsd: Options.float("budget-usd").pipe(
      Options.withDescription("spend ceiling in USD; nothing is sent that could cross it (exit 3)"),
      Options.optional
    ),
    resume: Options.boolean("resume").pipe(Options.withDescription("continue an existing output")),
    overwrite: Options.boolean("overwrite").pipe(Options.withDescription("replace an existing output")),
    retryFailed: Options.boolean("retry-failed").pipe(Options.withDescription("with --resume: run failed lines again")),
    remote: Options.boolean("remote").pipe(Options.withDescription("use the server-side Batch API (24 h window)")),
    json: Options.boolean("json").pipe(Options.withDescription("print the summary as JSON on stdout")),
    report: Options.text("report").pipe(
      Options.withDescription("write a self-contained HTML report of the run (throughput, 429s, latency, spend)"),
      Options.optional
    ),
    graceSeconds: Options.integer("grace-seconds").pipe(
      Options.withDescription("after Ctrl-C, how long requests in flight may take to finish (default 10)"),
      Options.optional
    )
  },
  (flags) =>
    Effect.flatMap(
      runBatch({
        input: flags.input,
        output: flags.output,
        baseUrl: undefinedIfNone(flags.baseUrl),
        apiKeyFile: undefinedIfNone(flags.apiKeyFile),
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
      }),
      ({ code }) => exitWith(code)
    )
).pipe(Command.withDescription("run a JSONL batch job through the gates; resumable"))

const chatCommand = Command.make(
  "chat",
  {
    prompt: Args.text({ name: "prompt" }),
    model: Options.text("model").pipe(Options.withDefault("gpt-4o-mini")),
    maxTokens: Options.integer("max-tokens").pipe(Options.withDefault(512)),
    noStream: Options.boolean("no-stream").pipe(Options.withDescription("wait for the whole answer")),
    baseUrl,
    apiKeyFile
  },
  (flags) =>
    Effect.flatMap(
      Effect.flatMap(
        Effect.promise(() => import("./internal/chat.js")),
        (m) =>
          m.chat({
            prompt: flags.prompt,
            model: flags.model,
            maxTokens: flags.maxTokens,
            stream: !flags.noStream,
            baseUrl: undefinedIfNone(flags.baseUrl),
            apiKeyFile: undefinedIfNone(flags.apiKeyFile)
          })
      ),
      exitWith
    )
).pipe(Command.withDescription("ask one question; the answer streams to the terminal"))

const doctorCommand = Command.make(
  "doctor",
  { baseUrl, apiKeyFile, model: Options.text("model").pipe(Options.withDefault("gpt-4o-mini")) },
  (flags) =>
    Effect.flatMap(
      Effect.flatMap(
        Effect.promise(() => import("./internal/doctor.js")),
        (m) =>
          m.doctor({
            baseUrl: undefinedIfNone(flags.baseUrl),
            apiKeyFile: undefinedIfNone(flags.apiKeyFile),
            model: flags.model
          })
      ),
      exitWith
    )
).pipe(Command.withDescription("check the key, latency, rate-limit headroom and models"))

const simulateCommand = Command.make(
  "simulate",
  {
    port: Options.integer("port").pipe(Options.withDefault(8080)),
    rpm: Options.integer("rpm").pipe(Options.optional),
    tpm: Options.integer("tpm").pipe(Options.optional),
    faults: Options.text("faults").pipe(
      Options.withDescription('a total fault rate ("0.05") or per kind ("500=0.02,503=0.01,reset=0.01,429=0.02")'),
      Options.optional
    ),
    seed: Options.integer("seed").pipe(Options.optional),
    quotaUsd: Options.float("quota-usd").pipe(Options.optional),
    keys: Options.text("keys").pipe(Options.withDescription("comma-separated accepted keys"), Options.optional)
  },
  (flags) =>
    Effect.flatMap(
      Effect.flatMap(
        Effect.promise(() => import("./internal/simulate.js")),
        (m) =>
          m.simulate({
            port: flags.port,
            rpm: undefinedIfNone(flags.rpm),
            tpm: undefinedIfNone(flags.tpm),
            faults: undefinedIfNone(flags.faults),
            seed: undefinedIfNone(flags.seed),
            quotaUsd: undefinedIfNone(flags.quotaUsd),
            keys: undefinedIfNone(flags.keys)
          })
      ),
      exitWith
    )
).pipe(Command.withDescription("run the OpenAI-compatible simulator in the foreground until Ctrl-C"))

const demoCommand = Command.make(
  "demo",
  {
    requests: Options.integer("requests").pipe(Options.withDefault(2000)),
    skipComparison: Options.boolean("skip-comparison").pipe(
      Options.withDescription("only the Sluice run, not the openai + p-limit one")
    )
  },
  (flags) =>
    Effect.flatMap(
      Effect.flatMap(
        Effect.promise(() => import("./internal/demo.js")),
        (m) => m.demo({ requests: flags.requests, compare: !flags.skipComparison })
      ),
      exitWith
    )
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
  const program = cli(argv).pipe(Effect.provide(NodeContext.layer), Effect.provide(logging))
  return Effect.runPromiseExit(program).then((exit) => {
    if (Exit.isSuccess(exit)) return exitCode
    const failure = Cause.failureOption(exit.cause)
    if (Option.isSome(failure) && ValidationError.isValidationError(failure.value)) return 1
    process.stderr.write(`sluice: ${Cause.pretty(exit.cause)}\n`)
    return 70
  })
}
