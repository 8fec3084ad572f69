/**
 * Cold start as a serverless function ships Sluice: one chat completion with every gate (`OpenAi.layerConfig()`) on
 * the fetch transport (`Transport.layerFetch()`, so undici is neither loaded nor, once bundled, in the entry
 * chunk), run by `Effect.runPromise` as a handler would; from process start to the answer.
 */
import { OpenAi, Transport } from "@sluice/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

const client = OpenAi.layerConfig().pipe(Layer.provide(Transport.layerFetch()))

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

await Effect.runPromise(program.pipe(Effect.provide(client)))
