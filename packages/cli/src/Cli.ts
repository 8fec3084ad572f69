/**
 * The `sluice` command line (`effect/cli`): `batch`, `chat`, `doctor`, `simulate`, `demo`.
 *
 * Exit codes: 0 all succeeded; 1 bad usage or input (nothing sent); 2 finished with failures; 3 stopped by the
 * budget; 4 stopped by a terminal API condition (quota, authentication); 130 interrupted (the resume command is
 * printed).
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
import { logging } from "./internal/logging.js"

let exitCode = 0
const exitWith = (code: number) =>
  Effect.sync(() => {
    exitCode = code
  })

const undefinedIfNone = <A>(option: Option.Option<A>): A | undefined => Option.getOrUndefined(option)

const baseUrl = Flag.String("base-url").pipe(
  Flag.withDescription("API base URL (default: OPENAI_BASE_URL, else https://api.openai.com/v1)"),
  Flag.optional
)
// A plain string shown as `file`: `Flag.File` would resolve the path (the resume command must repeat it as given)
// and check it before the command can say what is wrong with it.
const apiKeyFile = Flag.String("api-key-file").pipe(
  Flag.withMetavar("file"),
  Flag.withDescription("file holding the API key; re-read when it changes and after a 401 (default: OPENAI_API_KEY)"),
  Flag.optional
)
const boolean = (name: string, description: string) =>
  Flag.Boolean(name).pipe(Flag.withDescription(description), Flag.withDefault(false))

const batchCommand = Command.make(
  "batch",
  {
    input: Argument.String("input.jsonl").pipe(Argument.withDescription("requests in the OpenAI Batch API format")),
    output: Flag.String("output").pipe(
      Flag.withAlias("o"),
      Flag.withDescription("results in the OpenAI Batch output format; also the journal for --resume")
    ),
    baseUrl,
    apiKeyFile,
    concurrency: Flag.Int("concurrency").pipe(Flag.withDescription("requests in flight (default 16)"), Flag.optional),
    rpm: Flag.Int("rpm").pipe(Flag.withDescription("requests per minute of the key"), Flag.optional),
    tpm: Flag.Int("tpm").pipe(Flag.withDescription("tokens per minute of the key"), Flag.optional),
    maxRetries: Flag.Int("max-retries").pipe(Flag.withDescription("retries per request (default 5)"), Flag.optional),
    budgetUsd: Flag.Finite("budget-usd").pipe(
      Flag.withDescription("spend ceiling in USD; nothing is sent that could cross it (exit 3)"),
      Flag.optional
    ),
    resume: boolean("resume", "continue an existing output"),
    overwrite: boolean("overwrite", "replace an existing output"),
    retryFailed: boolean("retry-failed", "with --resume: run failed lines again"),
    remote: boolean("remote", "use the server-side Batch API (24 h window)"),
    json: boolean("json", "print the summary as JSON on stdout"),
    report: Flag.String("report").pipe(
      Flag.withDescription("write a self-contained HTML report of the run (throughput, 429s, latency, spend)"),
      Flag.optional
    ),
    graceSeconds: Flag.Int("grace-seconds").pipe(
      Flag.withDescription("after Ctrl-C, how long requests in flight may take to finish (default 10)"),
      Flag.optional
    )
  },
  (flags) =>
    Effect.flatMap(
      Effect.flatMap(
        Effect.promise(() => import("./internal/batch.js")),
        (m) =>
          m.runBatch({
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
          })
      ),
      ({ code }) => exitWith(code)
    )
).pipe(Command.withDescription("run a JSONL batch job through the gates; resumable"))

const chatCommand = Command.make(
  "chat",
  {
    prompt: Argument.String("prompt"),
    model: Flag.String("model").pipe(Flag.withDefault("gpt-4o-mini")),
    maxTokens: Flag.Int("max-tokens").pipe(Flag.withDefault(512)),
    noStream: boolean("no-stream", "wait for the whole answer").pipe(Flag.withoutNegation),
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
  { baseUrl, apiKeyFile, model: Flag.String("model").pipe(Flag.withDefault("gpt-4o-mini")) },
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
    port: Flag.Int("port").pipe(Flag.withDefault(8080)),
    rpm: Flag.Int("rpm").pipe(Flag.optional),
    tpm: Flag.Int("tpm").pipe(Flag.optional),
    faults: Flag.String("faults").pipe(
      Flag.withDescription('a total fault rate ("0.05") or per kind ("500=0.02,503=0.01,reset=0.01,429=0.02")'),
      Flag.optional
    ),
    seed: Flag.Int("seed").pipe(Flag.optional),
    quotaUsd: Flag.Finite("quota-usd").pipe(Flag.optional),
    keys: Flag.String("keys").pipe(Flag.withDescription("comma-separated accepted keys"), Flag.optional)
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
    requests: Flag.Int("requests").pipe(Flag.withDefault(2000)),
    skipComparison: boolean("skip-comparison", "only the Sluice run, not the openai + p-limit one")
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

const version = "0.1.0"

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
            const lines = event.errors.map((error) => `${path}: ${formatter.formatCliError(error)}`)
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
