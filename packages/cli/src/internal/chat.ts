/**
 * `sluice chat`: one question, the answer streamed to stdout. Waiting is visible on stderr: every retry with its
 * reason, and every 10 s what the command is still waiting for (see watch.ts).
 *
 * @internal
 */
import { type Errors, OpenAi, OpenAiConfig, Responses, Retry } from "@sluice/core"
import { ChatStream, ResponseStream } from "@sluice/stream"
import { Duration, Effect, Layer, Schedule, Stream } from "effect"
import type { ChatFlags } from "./check.js"
import { baseUrlOf, credentials } from "./client.js"
import { Watch, layer as watchLayer } from "./watch.js"
import { gatesWithTables } from "./tableGates.js"

export type { ChatFlags } from "./check.js"

/** What to do about an error, for a person at a terminal. @internal */
export const hint = (error: Errors.OpenAiError): string => {
  switch (error._tag) {
    case "AuthenticationFailed":
    case "CredentialsUnavailable":
      return "check the key (OPENAI_API_KEY or --api-key-file)"
    case "PermissionDenied":
      return "the key may not use this model or endpoint: check the key's project and permissions, or pick another --model"
    case "QuotaExceeded":
      return "the account is out of quota: add credits or use another key"
    case "NotFound":
    case "ModelRetired":
      return "the model does not exist or was retired: pick another with --model"
    case "ConnectionFailed":
      return "the server is unreachable: check --base-url and the network"
    case "Timeout":
      return "the server did not answer in time: check --base-url; for a slow model raise --timeout-seconds"
    case "RateLimited":
      return "rate limited after every retry: wait a minute and try again"
    case "BadRequest":
    case "Unprocessable":
    case "InvalidRequest":
      return "the server refused the request as sent: check --model and --max-tokens"
    case "RequestTooLarge":
      return "the request is larger than the key's token limit: shorten the prompt or lower --max-tokens"
    case "ServerError":
      return "the server failed on every attempt: try again later, or raise --max-retries"
    case "StreamTruncated":
      return "the answer stopped before it was complete: try again, or use --no-stream"
    case "ResponseDecodeFailed":
      return "the server's answer was not an OpenAI-compatible response: check --base-url"
    case "CircuitOpen":
      return "too many failures in a row: wait a minute and try again"
    case "BudgetExceeded":
    case "PriceUnknown":
      return "the budget gate refused the request: lower --max-tokens"
    case "Conflict":
      return "the server reported a conflict: try again"
    case "Redirected":
      return "the server redirected the request (not followed, the key was not sent): set --base-url to the final address"
    case "InvalidOptions":
      return "an option is out of range: fix the value named above"
    case "StoreUnavailable":
      return "Redis stayed unreachable: check --redis / SLUICE_REDIS_URL and that redis-server is up"
    case "Refused":
      return "the model refused to answer: rephrase the question"
    case "StructuredOutputInvalid":
      return "the answer did not have the requested shape: try again, or raise --max-tokens"
    case "ToolLoopExceeded":
      return "the model kept calling tools: raise the turn limit or check the tools"
    default:
      return "see the message above"
  }
}

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

/** @internal */
export const chat = (flags: ChatFlags): Effect.Effect<number> =>
  Effect.gen(function* () {
    const keys = credentials(flags)
    if (typeof keys === "string") {
      process.stderr.write(`sluice chat: ${keys}\n`)
      return 1
    }
    const timeout = Duration.seconds(flags.timeoutSeconds)
    const maxAttempts = flags.maxRetries + 1
    const watch = new Watch("sluice chat", maxAttempts)
    // Streaming: the first-token timeout runs from the start of the attempt, so it bounds the wait for headers too.
    watch.limits = flags.stream
      ? { headersMs: flags.timeoutSeconds * 1000, firstTokenMs: flags.timeoutSeconds * 1000 }
      : { headersMs: flags.timeoutSeconds * 1000 }
    // Retries are run here, not inside the client, so that each one is announced with its reason; the client makes
    // one attempt per call (plus the one re-attempt after a 401 that re-reads the key).
    const client = OpenAi.layer.pipe(
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
    // Once text is on the terminal, a retry would print the answer twice: nothing is retried after that.
    let printed = false
    const print = (text: string) =>
      Effect.sync(() => {
        watch.done()
        printed = true
        process.stdout.write(text)
      })
    const once = answerOnce(flags, timeout, print)
    const policy = Retry.policy({ maxAttempts })
    const answer = Effect.gen(function* () {
      // The policy's schedule stepped by hand (it sleeps the delay it chose): each retry is announced before.
      const step = yield* Schedule.toStepWithSleep(Retry.schedule(policy))
      let tried = 0
      const loop: Effect.Effect<void, Errors.OpenAiError, OpenAi.OpenAi> = Effect.catch(
        Effect.andThen(
          Effect.sync(() => tried++),
          once
        ),
        (error) =>
          printed || tried >= maxAttempts || !Retry.shouldRetry(policy, error)
            ? Effect.fail(error)
            : Effect.matchEffect(
                Effect.andThen(
                  Effect.sync(() => watch.retrying(error)),
                  step(error)
                ),
                { onFailure: () => Effect.fail(error), onSuccess: () => loop }
              )
      )
      return yield* loop
    })
    return yield* Effect.scoped(
      Effect.andThen(watch.ticker, answer).pipe(
        Effect.provide(client),
        Effect.matchEffect({
          onSuccess: () =>
            Effect.as(
              Effect.sync(() => process.stdout.write("\n")),
              0
            ),
          onFailure: (error) =>
            Effect.sync(() => {
              if (printed) process.stdout.write("\n")
              if (isOpenAiError(error)) {
                const attempts = watch.attempts === 1 ? "1 attempt" : `${watch.attempts} attempts`
                process.stderr.write(
                  `sluice chat: ${error._tag}: ${error.message} (after ${attempts})\n  → ${hint(error)}\n`
                )
                return codeOf(error)
              }
              process.stderr.write(`sluice chat: configuration error: ${String(error)}\n`)
              return 1
            })
        })
      )
    )
  })
