/** Raw undici: `request` on a keep-alive `Agent`, then `JSON.parse` of the body. */
import { Agent, request } from "undici"
import { apiKey, chatBody } from "./common.js"
import { errorName, fail, newOutcome, pool, type Runner } from "./pool.js"

export const makeUndici = (url: string): Runner => {
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 64 })
  const target = `${url}/chat/completions`
  const headers = { "content-type": "application/json", authorization: `Bearer ${apiKey}` }
  return {
    run: async (from, n, concurrency) => {
      const outcome = newOutcome()
      await pool(from, n, concurrency, async (i) => {
        try {
          const res = await request(target, {
            method: "POST",
            headers,
            body: JSON.stringify(chatBody(i)),
            dispatcher: agent
          })
          const json = JSON.parse(await res.body.text()) as { choices?: Array<unknown> }
          if (res.statusCode === 200 && Array.isArray(json.choices)) outcome.ok++
          else fail(outcome, `HTTP ${res.statusCode}`)
        } catch (e) {
          fail(outcome, errorName(e))
        }
      })
      return outcome
    },
    close: () => agent.close()
  }
}
