/** Cold start: one chat completion with every gate (`OpenAi.layerConfig()`), from process start to the answer. */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { OpenAi } from "@sluice/core"
import * as Effect from "effect/Effect"

const program = Effect.gen(function* () {
  const openai = yield* OpenAi.OpenAi
  const reply = yield* openai.chat.completions.create({
    model: "gpt-4o-mini",
    max_tokens: 200,
    messages: [{ role: "user", content: "Say hello in French" }]
  })
  process.stdout.write(
    `${JSON.stringify({ answerMs: performance.now(), ok: reply.body.choices.length > 0, rssMb: process.memoryUsage().rss / 1048576 })}\n`
  )
})
program.pipe(Effect.provide(OpenAi.layerConfig()), NodeRuntime.runMain)
