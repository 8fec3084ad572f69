/** The official SDK, with its defaults (or `maxRetries` set), driven by the worker pool or p-limit. */
import OpenAI from "openai"
import pLimit from "p-limit"
import { apiKey, chatBody } from "./common.js"
import { errorName, fail, newOutcome, pool, type Runner } from "./pool.js"

export const makeOpenAi = (url: string, maxRetries: number | undefined, usePLimit: boolean): Runner => {
  const client = new OpenAI({ baseURL: url, apiKey, ...(maxRetries === undefined ? {} : { maxRetries }) })
  return {
    run: async (from, n, concurrency) => {
      const outcome = newOutcome()
      const one = async (i: number) => {
        try {
          const completion = await client.chat.completions.create(chatBody(i))
          if (completion.choices.length > 0) outcome.ok++
          else fail(outcome, "empty")
        } catch (e) {
          fail(outcome, errorName(e))
        }
      }
      if (usePLimit) {
        const limit = pLimit(concurrency)
        await Promise.all(Array.from({ length: n }, (_, k) => limit(() => one(from + k))))
      } else {
        await pool(from, n, concurrency, one)
      }
      return outcome
    },
    close: async () => {}
  }
}
