/**
 * `sluice batch` with `/v1/responses` lines (mixed with chat lines), run as a user runs it, against the simulator:
 * locally through the gates, and with `--remote` through the server-side Batch API. Either way every output line
 * carries the Response object as the Batch API does, and the summary prices its usage.
 */
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { simulator, sluice } from "./support.js"

const responsesLine = (i: number) =>
  JSON.stringify({
    custom_id: `resp-${i}`,
    method: "POST",
    url: "/v1/responses",
    body: { model: "gpt-4.1-mini", instructions: "Be brief.", input: `question number ${i}`, max_output_tokens: 400 }
  })
const chatLine = (i: number) =>
  JSON.stringify({
    custom_id: `chat-${i}`,
    method: "POST",
    url: "/v1/chat/completions",
    body: { model: "gpt-4o-mini", messages: [{ role: "user", content: `question number ${i}` }], max_tokens: 24 }
  })

interface OutputLine {
  readonly custom_id: string
  readonly response: { readonly status_code: number; readonly body: Record<string, unknown> } | null
}

const run = async (remote: boolean) => {
  const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "sluice-batch-responses-"))
  const input = Path.join(dir, "in.jsonl")
  const output = Path.join(dir, "out.jsonl")
  await Fs.writeFile(
    input,
    `${[0, 1, 2, 3, 4, 5].map((i) => (i % 3 === 2 ? chatLine(i) : responsesLine(i))).join("\n")}\n`
  )
  const sim = await simulator({ batch: { validatingMs: 5, inProgressMs: 5, finalizingMs: 5 } })
  const result = await sluice(
    ["batch", input, "-o", output, "--base-url", sim.url, "--json", ...(remote ? ["--remote"] : [])],
    { OPENAI_API_KEY: "sk-test" }
  )
  const lines = (await Fs.readFile(output, "utf8"))
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as OutputLine)
  await Fs.rm(dir, { recursive: true, force: true })
  return { result, lines, stats: sim.stats() }
}

describe("sluice batch with /v1/responses lines", () => {
  for (const remote of [false, true]) {
    it(remote ? "--remote: through the server-side Batch API" : "locally, through the gates", async () => {
      const { result, lines, stats } = await run(remote)
      expect(result.code).toBe(0)
      const summary = JSON.parse(result.stdout)
      expect(summary).toMatchObject({ total: 6, succeeded: 6, failed: 0 })
      expect(summary.cost_usd).toBeGreaterThan(0)
      const responses = lines.filter((line) => line.custom_id.startsWith("resp-"))
      expect(responses).toHaveLength(4)
      for (const line of responses) {
        expect(line.response?.status_code).toBe(200)
        expect(line.response?.body).toMatchObject({ object: "response", status: "completed" })
        expect((line.response!.body.usage as { input_tokens: number }).input_tokens).toBeGreaterThan(0)
      }
      if (!remote) expect(stats.byPath["POST /v1/responses"]).toBe(4)
      else expect(stats.byPath["POST /v1/batches"]).toBeGreaterThanOrEqual(1)
    }, 120_000)
  }
})
