import { Effect } from "effect"
import { NodeRuntime } from "@effect/platform-node"
import { OpenAi } from "@sluice/core"

const program = Effect.gen(function* () {
  const openai = yield* OpenAi.OpenAi
  const reply = yield* openai.chat.completions.create({
    model: "gpt-4o-mini",
    max_tokens: 200,
    messages: [{ role: "user", content: "Say hello in French" }]
  })
  yield* Effect.log(reply.body.choices[0]?.message.content, { tokens: reply.body.usage?.total_tokens })
}).pipe(
  Effect.catchTag("RateLimited", (e) => Effect.logWarning(`throttled, retry after ${e.retryAfterMs} ms`)),
  Effect.catchTag("QuotaExceeded", () => Effect.logError("billing quota exhausted: stopping"))
)

program.pipe(Effect.provide(OpenAi.layerConfig()), NodeRuntime.runMain) // OPENAI_API_KEY, OPENAI_BASE_URL; every gate on
