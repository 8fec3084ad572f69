/**
 * The plain promise pipeline `sluice batch` is compared with: read the JSONL input, send every line with the
 * official SDK under p-limit, append each result as a Batch output line to a JSONL file. As it is commonly
 * written: every line read up front, one promise per line, `Promise.all`.
 *
 * usage: node batchPromise.js INPUT OUTPUT BASE_URL CONCURRENCY
 */
import { createWriteStream, readFileSync } from "node:fs"
import OpenAI from "openai"
import pLimit from "p-limit"

const [input, output, baseURL, concurrency] = process.argv.slice(2) as [string, string, string, string]
const client = new OpenAI({ baseURL, apiKey: process.env["OPENAI_API_KEY"] ?? "sk-bench" })
const limit = pLimit(Number(concurrency))
const out = createWriteStream(output, { flags: "a" })
const lines = readFileSync(input, "utf8")
  .split("\n")
  .filter((line) => line.trim().length > 0)
  .map((line) => JSON.parse(line) as { custom_id: string; body: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming })
let n = 0
let failed = 0
await Promise.all(
  lines.map((line) =>
    limit(async () => {
      try {
        const { data, response } = await client.chat.completions.create(line.body).withResponse()
        out.write(
          `${JSON.stringify({ id: `batch_req_${n++}`, custom_id: line.custom_id, response: { status_code: response.status, request_id: response.headers.get("x-request-id"), body: data }, error: null })}\n`
        )
      } catch (error) {
        failed++
        out.write(
          `${JSON.stringify({ id: `batch_req_${n++}`, custom_id: line.custom_id, response: null, error: { code: "error", message: String(error) } })}\n`
        )
      }
    })
  )
)
await new Promise<void>((resolve) => out.end(resolve))
process.stdout.write(`${JSON.stringify({ failed })}\n`)
