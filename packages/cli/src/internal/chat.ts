/**
 * `sluice chat`: one question, the answer streamed to stdout. Waiting is visible on stderr: every retry with its
 * reason, and every 10 s what the command is still waiting for (see watch.ts).
 *
 * @internal
 */
import { type Credentials, type Errors, OpenAi, OpenAiConfig, Responses, Retry } from "@sluice/core"
import { ChatStream, ResponseStream } from "@sluice/stream"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type { ChatFlags } from "./check.js"
import { baseUrlOf, credentials } from "./client.js"
import { Watch, layer as watchLayer } from "./watch.js"
import { gatesWithTables } from "./tableGates.js"

export type { ChatFlags } from "./check.js"

/** What to do about each error, for a person at a terminal (every tag of the union: a new one needs its hint). */
const checkKey = "check the key (OPENAI_API_KEY or --api-key-file)"
const pickModel = "the model does not exist or was retired: pick another with --model"
const refusedAsSent = "the server refused the request as sent: check --model and --max-tokens"
const waitAMinute = "wait a minute and try again"

const hints: Record<Errors.OpenAiError["_tag"], string> = {
  AuthenticationFailed: checkKey,
  CredentialsUnavailable: checkKey,
  PermissionDenied:
    "the key may not use this model or endpoint: check the key's project and permissions, or pick another --model",
  QuotaExceeded: "the account is out of quota: add credits or use another key",
  NotFound: pickModel,
  ModelRetired: pickModel,
  ConnectionFailed: "the server is unreachable: check --base-url and the network",
  Timeout: "the server did not answer in time: check --base-url; for a slow model raise --timeout-seconds",
  RateLimited: `rate limited after every retry: ${waitAMinute}`,
  BadRequest: refusedAsSent,
  Unprocessable: refusedAsSent,
  InvalidRequest: refusedAsSent,
  RequestTooLarge: "the request is larger than the key's token limit: shorten the prompt or lower --max-tokens",
  ServerError: "the server failed on every attempt: try again later, or raise --max-retries",
  StreamTruncated: "the answer stopped before it was complete: try again, or use --no-stream",
  ResponseDecodeFailed: "the server's answer was not an OpenAI-compatible response: check --base-url",
  CircuitOpen: `too many failures in a row: ${waitAMinute}`,
  BudgetExceeded: "the budget gate refused the request: lower --max-tokens",
  PriceUnknown: "the model has no known price, and the budget needs one: add it to a --prices file",
  Conflict: "the server reported a conflict: try again",
  Redirected:
    "the server redirected the request (not followed, the key was not sent): set --base-url to the final address",
  InvalidOptions: "an option is out of range: fix the value named above",
  StoreUnavailable: "Redis stayed unreachable: check --redis / SLUICE_REDIS_URL and that redis-server is up",
  Refused: "the model refused to answer: rephrase the question",
  StructuredOutputInvalid: "the answer did not have the requested shape: try again, or raise --max-tokens",
  ToolLoopExceeded: "the model kept calling tools: raise the turn limit or check the tools"
}

/** What to do about an error, for a person at a terminal. @internal */
export const hint = (error: Errors.OpenAiError): string => hints[error._tag]

/** @internal */
export const codeOf = (error: Errors.OpenAiError): number =>
  error._tag === "AuthenticationFailed" ||
  error._tag === "QuotaExceeded" ||
  error._tag === "PermissionDenied" ||
  error._tag === "CredentialsUnavailable"
    ? 4
    : error._tag === "InvalidRequest"
      ? 1
      : 2

const isOpenAiError = (error: unknown): error is Errors.OpenAiError =>
  typeof error === "object" && error !== null && "_tag" in error && "retryable" in error

/**
 * One attempt at the answer on the API the flags name, streamed or whole; every piece of text goes to `print`.
 * Retries are the caller's (one attempt per call here).
 */
const answerOnce = (
  flags: ChatFlags,
  timeout: Duration.Duration,
  print: (text: string) => Effect.Effect<void>
): Effect.Effect<void, Errors.OpenAiError, OpenAi.OpenAi> => {
  const streamOptions = { firstTokenTimeout: timeout, retry: { maxAttempts: 1 } }
  if (flags.api === "responses") {
    const request = { model: flags.model, input: flags.prompt, max_output_tokens: flags.maxTokens }
    return flags.stream
      ? ResponseStream.stream(request, streamOptions).pipe(ResponseStream.textDeltas, Stream.runForEach(print))
      : Effect.flatMap(OpenAi.OpenAi, (openai) => openai.responses.create(request)).pipe(
          Effect.flatMap((response) => print(Responses.outputText(response.body)))
        )
  }
  const request = {
    model: flags.model,
    messages: [{ role: "user" as const, content: flags.prompt }],
    max_completion_tokens: flags.maxTokens
  }
  return flags.stream
    ? ChatStream.stream(request, streamOptions).pipe(ChatStream.textDeltas, Stream.runForEach(print))
    : Effect.flatMap(OpenAi.OpenAi, (openai) => openai.chat.completions.create(request)).pipe(
        Effect.flatMap((response) => print(response.body.choices[0]?.message.content ?? ""))
      )
}

/** What waits on what, announced on stderr; the timeouts run from the start of each attempt. */
const watchOf = (flags: ChatFlags, maxAttempts: number): Watch => {
  const watch = new Watch("sluice chat", maxAttempts)
  // Streaming: the first-token timeout runs from the start of the attempt, so it bounds the wait for headers too.
  watch.limits = flags.stream
    ? { headersMs: flags.timeoutSeconds * 1000, firstTokenMs: flags.timeoutSeconds * 1000 }
    : { headersMs: flags.timeoutSeconds * 1000 }
  return watch
}

/**
 * The client: the gates with the tables of `--prices` / `--lifecycle`, the watch, and one attempt per call (plus
 * the one re-attempt after a 401 that re-reads the key): retries are run by {@link retried}, each announced.
 */
const clientOf = (
  flags: ChatFlags,
  keys: Layer.Layer<Credentials.Credentials>,
  watch: Watch,
  timeout: Duration.Duration
) =>
  OpenAi.layer.pipe(
    Layer.provide(watchLayer(watch)),
    Layer.provide(gatesWithTables(flags.tables)),
    Layer.provide(
      Layer.orDie(
        OpenAiConfig.layerConfig({
          baseUrl: baseUrlOf(flags.baseUrl),
          allowInsecure: flags.allowInsecure,
          headersTimeout: timeout,
          totalTimeout: timeout,
          retry: { maxAttempts: 1 }
        })
      )
    ),
    Layer.provide(keys)
  )

/** Text to stdout; once some is there, a retry would print the answer twice, so nothing is retried after it. */
class Printer {
  printed = false
  constructor(readonly watch: Watch) {}
  print = (text: string): Effect.Effect<void> =>
    Effect.sync(() => {
      this.watch.done()
      this.printed = true
      process.stdout.write(text)
    })
}

/**
 * `once` run until it succeeds, fails for good, is out of attempts or has printed: the retry policy's schedule
 * stepped by hand (it sleeps the delay it chose), so each retry is announced with its reason before it starts.
 */
const retried = (
  once: Effect.Effect<void, Errors.OpenAiError, OpenAi.OpenAi>,
  maxAttempts: number,
  printer: Printer
): Effect.Effect<void, Errors.OpenAiError, OpenAi.OpenAi> =>
  Effect.gen(function* () {
    const policy = Retry.policy({ maxAttempts })
    const step = yield* Schedule.toStepWithSleep(Retry.schedule(policy))
    let tried = 0
    const retry = (error: Errors.OpenAiError) =>
      Effect.matchEffect(
        Effect.andThen(
          Effect.sync(() => printer.watch.retrying(error)),
          step(error)
        ),
        { onFailure: () => Effect.fail(error), onSuccess: () => loop }
      )
    const loop: Effect.Effect<void, Errors.OpenAiError, OpenAi.OpenAi> = Effect.catch(
      Effect.andThen(
        Effect.sync(() => tried++),
        once
      ),
      (error) =>
        printer.printed || tried >= maxAttempts || !Retry.shouldRetry(policy, error) ? Effect.fail(error) : retry(error)
    )
    return yield* loop
  })

/** What went wrong and what to do (on stderr), after the end of any text printed; the exit code. */
const failed = (printer: Printer, error: unknown): number => {
  if (printer.printed) process.stdout.write("\n")
  if (isOpenAiError(error)) {
    const attempts = printer.watch.attempts === 1 ? "1 attempt" : `${printer.watch.attempts} attempts`
    process.stderr.write(`sluice chat: ${error._tag}: ${error.message} (after ${attempts})\n  → ${hint(error)}\n`)
    return codeOf(error)
  }
  process.stderr.write(`sluice chat: configuration error: ${String(error)}\n`)
  return 1
}

/** @internal */
export const chat = (flags: ChatFlags): Effect.Effect<number> =>
  Effect.suspend(() => {
    const keys = credentials(flags)
    if (typeof keys === "string") {
      process.stderr.write(`sluice chat: ${keys}\n`)
      return Effect.succeed(1)
    }
    return answered(flags, keys)
  })

/** The answer on stdout, or the failure on stderr; the exit code. */
const answered = (flags: ChatFlags, keys: Layer.Layer<Credentials.Credentials>): Effect.Effect<number> => {
  const timeout = Duration.seconds(flags.timeoutSeconds)
  const maxAttempts = flags.maxRetries + 1
  const printer = new Printer(watchOf(flags, maxAttempts))
  const answer = retried(answerOnce(flags, timeout, printer.print), maxAttempts, printer)
  return Effect.scoped(Effect.andThen(printer.watch.ticker, answer)).pipe(
    Effect.provide(clientOf(flags, keys, printer.watch, timeout)),
    Effect.matchEffect({
      onSuccess: () =>
        Effect.as(
          Effect.sync(() => process.stdout.write("\n")),
          0
        ),
      onFailure: (error) => Effect.sync(() => failed(printer, error))
    })
  )
}
