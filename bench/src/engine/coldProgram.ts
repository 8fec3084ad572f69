/**
 * The cold-start programs' one call (coldSluice.ts, coldSluiceServerless.ts): a chat completion, then one JSON line
 * with the time since process start when the answer is in, and the RSS then.
 */
import { OpenAi } from "@sluice/core"
import * as Effect from "effect/Effect"

export const program = Effect.gen(function* () {
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
