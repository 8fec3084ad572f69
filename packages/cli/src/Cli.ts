/**
 * The `sluice` command line (`effect/cli`): `batch`, `embed`, `merge`, `chat`, `doctor`, `simulate`, `demo`. This
 * module is the command tree: each command's flags (those several commands share are defined once, in
 * internal/flags.ts), its check and the module that runs it.
 *
 * Exit codes: 0 all succeeded; 1 bad usage or input (nothing sent); 2 finished with failures; 3 stopped by the
 * budget; 4 stopped by a terminal API condition (quota, authentication); 130 interrupted (the resume command is
 * printed).
 *
 * Every flag is checked before anything starts (internal/check.ts, internal/commandChecks.ts, internal/usage.ts, and
 * embed's in internal/embed.ts): each problem names the flag, the value and what is allowed, all of them at once,
 * exit 1, nothing sent or written.
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
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { checkBatch, checkChat, checkMerge, checkSimulate } from "./internal/check.js"
import { checkDemo, checkDoctor } from "./internal/commandChecks.js"
import { checkEmbed } from "./internal/embed.js"
import * as Flags from "./internal/flags.js"
import { logging } from "./internal/logging.js"
import { presenter } from "./internal/presenter.js"
import { repeatedFlag } from "./internal/usage.js"

let exitCode = 0
const exitWith = (code: number) =>
  Effect.sync(() => {
    exitCode = code
  })

/**
 * A command's handler: its checks (which print every problem and give exit code 1), then its code, imported only
 * now, run on the checked flags; the exit code it gives is the process's.
 */
const run =
  <Raw, Checked>(
    check: (raw: Raw) => Checked | number,
    load: () => Promise<(flags: Checked) => Effect.Effect<number>>
  ) =>
  (raw: Raw) =>
    Effect.suspend(() => {
      const checked = check(raw)
      if (typeof checked === "number") return exitWith(checked)
      return Effect.flatMap(
        Effect.flatMap(Effect.promise(load), (body) => body(checked)),
        exitWith
      )
    })

const batchCommand = Command.make(
  "batch",
  {
    input: Argument.String("input.jsonl").pipe(Argument.withDescription("requests in the OpenAI Batch API format")),
    output: Flags.output("results in the OpenAI Batch output format; also the journal for --resume"),
    ...Flags.connection,
    ...Flags.jobGates("1 to 10000 (default 16)"),
    ...Flags.jobOutput,
    retryFailed: Flags.boolean("retry-failed", "with --resume: run failed lines again"),
    remote: Flags.boolean("remote", "use the server-side Batch API (24 h window)"),
    report: Flags.text(
      "report",
      "PATH",
      "write a self-contained HTML report of the run (throughput, 429s, latency, spend)"
    ),
    ...Flags.tables,
    ...Flags.scaleOutSharded
  },
  run(checkBatch, () =>
    import("./internal/batch.js").then((m) => (flags) => Effect.map(m.runBatch(flags), ({ code }) => code))
  )
).pipe(Command.withDescription("run a JSONL batch job through the gates; resumable"))

// Scale-out: the outputs of `batch --shard i/n` as one file (internal/merge.ts).
const mergeCommand = Command.make(
  "merge",
  {
    parts: Argument.String("shard-output.jsonl").pipe(
      Argument.withDescription("the outputs of the shards (sluice batch --shard i/n -o …)"),
      Argument.variadic({ min: 1 })
    ),
    input: Flags.required("input", "PATH", "the input the shards split: the merged output follows its order"),
    output: Flags.output("the merged output, in the OpenAI Batch output format"),
    overwrite: Flags.boolean("overwrite", "replace an existing merged output")
  },
  run(checkMerge, () => import("./internal/merge.js").then((m) => m.merge))
).pipe(Command.withDescription("merge the outputs of sluice batch --shard i/n into one Batch output, in input order"))

const embedCommand = Command.make(
  "embed",
  {
    input: Argument.String("input").pipe(
      Argument.withDescription('documents: JSONL {"id","text"} per line, or plain text with one per line')
    ),
    output: Flags.output("vectors in input order (JSONL, or --format f32); also the journal for --resume"),
    model: Flags.required("model", "ID", "the embedding model"),
    dimensions: Flags.text("dimensions", "N", "vector length, 1 to 65536 (default: the model's)"),
    cache: Flags.text("cache", "DIR", "a persistent cache (SQLite): texts embedded before are not sent again"),
    format: Flags.text("format", "jsonl|f32", "jsonl (default) or f32: a float32 matrix plus OUTPUT.ids"),
    overLong: Flags.text(
      "over-long",
      "fail|truncate|split",
      "an input over 8,192 tokens: fail (default), truncate it, or split and average"
    ),
    ...Flags.connection,
    ...Flags.jobGates("1 to 1024 (default 8)"),
    ...Flags.jobOutput,
    remote: Flags.boolean("remote", "send what is not cached through the server-side Batch API (24 h window)"),
    ...Flags.tables,
    ...Flags.scaleOut
  },
  run(checkEmbed, () => import("./internal/embed.js").then((m) => m.runEmbed))
).pipe(Command.withDescription("embed a file of documents: packed, deduplicated, cached, resumable"))

const chatCommand = Command.make(
  "chat",
  {
    prompt: Argument.String("prompt").pipe(Argument.withDescription("the question (quote it)")),
    model: Flags.model("the model", "gpt-4o-mini"),
    maxTokens: Flags.text("max-tokens", "N", "the longest answer in tokens, 1 to 1000000 (default 512)"),
    timeoutSeconds: Flags.text(
      "timeout-seconds",
      "N",
      "per attempt: seconds to the first token (streaming, default 120) or to the whole answer (--no-stream, default 300), 1 to 3600"
    ),
    maxRetries: Flags.maxRetries("retries after a retryable failure, 0 to 10 (default 2)"),
    noStream: Flags.negative("no-stream", "wait for the whole answer"),
    api: Flags.text("api", "chat|responses", "the API that answers: chat (Chat Completions, the default) or responses"),
    ...Flags.connection,
    ...Flags.tables
  },
  run(checkChat, () => import("./internal/chat.js").then((m) => m.chat))
).pipe(Command.withDescription("ask one question; the answer streams to the terminal"))

const doctorCommand = Command.make(
  "doctor",
  {
    ...Flags.connection,
    model: Flags.model("the model to check", "gpt-4o-mini"),
    ...Flags.tables
  },
  run(checkDoctor, () => import("./internal/doctor.js").then((m) => m.doctor))
).pipe(Command.withDescription("check the key, latency, rate-limit headroom, prices and models"))

const simulateCommand = Command.make(
  "simulate",
  {
    port: Flags.text("port", "N", "TCP port on 127.0.0.1, 0 to 65535; 0 picks a free one (default 8080)"),
    rpm: Flags.text("rpm", "N", "requests per minute per key, 1 to 100000000 (default: unlimited)"),
    tpm: Flags.text("tpm", "N", "tokens per minute per key, 1 to 10000000000 (default: unlimited)"),
    faults: Flags.text(
      "faults",
      "RATES",
      'a total fault rate from 0 to 1 ("0.05") or per kind ("500=0.02,503=0.01,reset=0.01,429=0.02")'
    ),
    seed: Flags.text("seed", "N", "seed of the fault injection, a whole number from 0 (default 1)"),
    quotaUsd: Flags.text(
      "quota-usd",
      "USD",
      "spend after which every request gets 429 insufficient_quota, 0 to 1000000 (default: none)"
    ),
    keys: Flags.text("keys", "KEYS", "comma-separated accepted keys (default: any non-empty key)")
  },
  run(checkSimulate, () => import("./internal/simulate.js").then((m) => m.simulate))
).pipe(Command.withDescription("run the OpenAI-compatible simulator in the foreground until Ctrl-C"))

const demoCommand = Command.make(
  "demo",
  {
    requests: Flags.text("requests", "N", "requests in the job, 1 to 50000 (default 2000)"),
    skipComparison: Flags.boolean("skip-comparison", "only the Sluice run, not the openai + p-limit one")
  },
  run(checkDemo, () => import("./internal/demo.js").then((m) => m.demo))
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
