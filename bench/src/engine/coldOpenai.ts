/** Cold start: one chat completion with the official SDK, from process start to the answer. */
import OpenAI from "openai"

const client = new OpenAI()
const reply = await client.chat.completions.create({
  model: "gpt-4o-mini",
  max_tokens: 200,
  messages: [{ role: "user", content: "Say hello in French" }]
})
process.stdout.write(
  `${JSON.stringify({ answerMs: performance.now(), ok: reply.choices.length > 0, rssMb: process.memoryUsage().rss / 1048576 })}\n`
)
