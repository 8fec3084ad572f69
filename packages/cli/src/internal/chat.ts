/**
 * `sluice chat`: one question, the answer streamed to stdout.
 *
 * @internal
 */
import { type Errors, Gates, OpenAi, OpenAiConfig } from "@sluice/core"
import { ChatStream } from "@sluice/stream"
import { Effect, Layer, Stream } from "effect"
import { baseUrlOf, credentials } from "./client.js"

/** @internal */
export interface ChatFlags {
  readonly prompt: string
  readonly model: string
  readonly maxTokens: number
  readonly stream: boolean
  readonly baseUrl?: string | undefined
  readonly apiKeyFile?: string | undefined
}

/** @internal */
export const hint = (error: Errors.OpenAiError): string => {
  switch (error._tag) {
    case "AuthenticationFailed":
    case "CredentialsUnavailable":
      return "check the key (OPENAI_API_KEY or --api-key-file)"
    case "QuotaExceeded":
      return "the account is out of quota: add credits or use another key"
    case "NotFound":
    case "ModelRetired":
      return "the model does not exist or was retired: pick another with --model"
    case "ConnectionFailed":
    case "Timeout":
      return "the server is unreachable or slow: check --base-url and the network"
    case "RateLimited":
      return "rate limited after every retry: wait a minute and try again"
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

/** @internal */
export const chat = (flags: ChatFlags): Effect.Effect<number> =>
  Effect.gen(function* () {
    const keys = credentials(flags)
    if (typeof keys === "string") {
      process.stderr.write(`${keys}\n`)
      return 1
    }
    const client = OpenAi.layer.pipe(
      Layer.provide(Gates.defaults),
      Layer.provide(OpenAiConfig.layer({ baseUrl: baseUrlOf(flags.baseUrl) })),
      Layer.provide(keys)
    )
    const request = {
      model: flags.model,
      messages: [{ role: "user" as const, content: flags.prompt }],
      max_completion_tokens: flags.maxTokens
    }
    const answer = flags.stream
      ? ChatStream.stream(request).pipe(
          ChatStream.textDeltas,
          Stream.runForEach((text) => Effect.sync(() => process.stdout.write(text)))
        )
      : Effect.flatMap(OpenAi.OpenAi, (openai) => openai.chat.completions.create(request)).pipe(
          Effect.map((response) => process.stdout.write(response.body.choices[0]?.message.content ?? ""))
        )
    return yield* answer.pipe(
      Effect.provide(client),
      Effect.matchEffect({
        onSuccess: () =>
          Effect.as(
            Effect.sync(() => process.stdout.write("\n")),
            0
          ),
        onFailure: (error) =>
          Effect.sync(() => {
            if (typeof error === "object" && error !== null && "_tag" in error && "retryable" in error) {
              const failure = error as Errors.OpenAiError
              process.stderr.write(`\n${failure._tag}: ${failure.message}\n${hint(failure)}\n`)
              return codeOf(failure)
            }
            process.stderr.write(`\nconfiguration error: ${String(error)}\n`)
            return 1
          })
      })
    )
  })
