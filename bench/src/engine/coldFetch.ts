/** Cold start: one chat completion with Node's `fetch`, from process start to the answer. */
const response = await fetch(`${process.env["OPENAI_BASE_URL"]}/chat/completions`, {
  method: "POST",
  headers: { authorization: `Bearer ${process.env["OPENAI_API_KEY"]}`, "content-type": "application/json" },
  body: JSON.stringify({
    model: "gpt-4o-mini",
    max_tokens: 200,
    messages: [{ role: "user", content: "Say hello in French" }]
  })
})
const body = (await response.json()) as { choices: Array<unknown> }
process.stdout.write(
  `${JSON.stringify({ answerMs: performance.now(), ok: body.choices.length > 0, rssMb: process.memoryUsage().rss / 1048576 })}\n`
)
