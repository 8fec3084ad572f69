/**
 * A chat call and an embeddings call, with throttling and billing failures handled by tag.
 *
 *   npx tsx examples/chat-and-embeddings.ts            # against an in-process simulator
 *   OPENAI_API_KEY=sk-… OPENAI_BASE_URL=https://api.openai.com/v1 npx tsx examples/chat-and-embeddings.ts
 */
import { pathToFileURL } from "node:url"
import { Credentials, type Errors, OpenAi, OpenAiConfig } from "@sluice/core"
import { Simulator } from "@sluice/simulator"
import { Config, Effect, Layer, Option } from "effect"

export type Outcome =
  | { readonly _tag: "Answered"; readonly answer: string; readonly dimensions: number; readonly attempts: number }
  | { readonly _tag: "Throttled"; readonly retryAfterMs: number | undefined }
  | { readonly _tag: "OutOfQuota"; readonly message: string }

export const program: Effect.Effect<Outcome, Errors.OpenAiError, OpenAi.OpenAi> = Effect.gen(function* () {
  const openai = yield* OpenAi.OpenAi
  const chat = yield* openai.chat.completions.create({
    model: "gpt-4o-mini",
    messages: [
      { role: "system", content: "Answer in one sentence." },
      { role: "user", content: "What does a sluice gate do?" }
    ],
    max_completion_tokens: 64
  })
  const embeddings = yield* openai.embeddings.create({
    model: "text-embedding-3-small",
    input: chat.body.choices[0]?.message.content ?? "",
    encoding_format: "base64"
  })
  return {
    _tag: "Answered" as const,
    answer: chat.body.choices[0]?.message.content ?? "",
    dimensions: embeddings.body.data[0]?.embedding.length ?? 0,
    attempts: chat.attempts + embeddings.attempts
  }
}).pipe(
  Effect.catchTags({
    // Still throttled after the retry policy gave up (or the server asked for a longer wait than it accepts).
    RateLimited: (error) => Effect.succeed({ _tag: "Throttled" as const, retryAfterMs: error.retryAfterMs }),
    // Billing: retrying cannot help. Stop and tell a human.
    QuotaExceeded: (error) => Effect.succeed({ _tag: "OutOfQuota" as const, message: error.message })
  })
)

/** The client for a base URL and key (the simulator accepts any key unless configured otherwise). */
export const clientLayer = (
  baseUrl: string,
  key: string,
  options: OpenAiConfig.Options = {}
): Layer.Layer<OpenAi.OpenAi> =>
  OpenAi.layer.pipe(Layer.provide(OpenAiConfig.layer({ baseUrl, ...options })), Layer.provide(Credentials.static(key)))

const main = Effect.gen(function* () {
  const fromEnv = yield* Config.option(Config.String("OPENAI_BASE_URL"))
  const outcome = yield* Option.isSome(fromEnv)
    ? Effect.provide(program, OpenAi.layerConfig())
    : Effect.flatMap(Simulator.start({}), (sim) => Effect.provide(program, clientLayer(sim.url, "sk-local-demo")))
  yield* Effect.log(JSON.stringify(outcome))
})

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  Effect.runPromise(Effect.scoped(main)).catch((error) => {
    console.error(String(error))
    process.exitCode = 1
  })
}
