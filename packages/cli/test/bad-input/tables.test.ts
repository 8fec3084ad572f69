/**
 * `--prices FILE` / `--lifecycle FILE` (and `SLUICE_PRICES` / `SLUICE_LIFECYCLE`) on `sluice batch`,
 * `sluice chat` and `sluice doctor` with bad files: exit 1, the flag (or variable), the file, the field and the value named, no request
 * sent, no output created. A good file is used: its prices reach the budget, its retirements the lifecycle gate.
 */
import * as Fs from "node:fs/promises"
import { describe, expect, it } from "@effect/vitest"
import { simulator, sluice } from "../support.js"
import { chatLine, exists, quietServer, usageError } from "./cases.js"

const server = quietServer()

let n = 0
const job = async () => {
  const id = ++n
  const input = server.path(`tables-in-${id}.jsonl`)
  await Fs.writeFile(input, `${[chatLine(1), chatLine(2)].join("\n")}\n`)
  return { input, output: server.path(`tables-out-${id}.jsonl`) }
}
const file = async (content: unknown) => {
  const path = server.path(`table-${++n}.json`)
  await Fs.writeFile(path, typeof content === "string" ? content : JSON.stringify(content))
  return path
}
const prices = (models: unknown) => ({
  format: "sluice-prices",
  version: 1,
  asOf: "2026-12-01",
  currency: "USD",
  unit: "per 1M tokens",
  models
})
const lifecycle = (models: unknown) => ({ format: "sluice-lifecycle", version: 1, asOf: "2026-12-01", models })

describe("sluice batch --prices / --lifecycle", () => {
  it("a file that does not exist, or a directory: exit 1 naming the flag and the path", async () => {
    const { input, output } = await job()
    const missing = server.path("no-such-prices.json")
    const result = await sluice(
      ["batch", input, "-o", output, "--prices", missing, "--lifecycle", server.path("")],
      server.env()
    )
    usageError(result, `--prices ${missing} does not exist`, "--lifecycle", "is a directory")
    expect(server.requests).toBe(0)
    expect(await exists(output)).toBe(false)
  })

  it("SLUICE_PRICES that does not exist: the variable is named", async () => {
    const { input, output } = await job()
    const missing = server.path("env-prices.json")
    const result = await sluice(["batch", input, "-o", output], server.env({ SLUICE_PRICES: missing }))
    usageError(result, `SLUICE_PRICES (--prices) ${missing} does not exist`)
    expect(server.requests).toBe(0)
  })

  it("a bad price or date: exit 1 naming the file, the field and the value; nothing sent", async () => {
    const { input, output } = await job()
    const bad = await file(prices({ "gpt-4o-mini": { input: -0.15, output: 0.6 } }))
    const result = await sluice(["batch", input, "-o", output, "--prices", bad], server.env())
    usageError(result, bad, "models.gpt-4o-mini.input", "got -0.15", "Nothing was sent")
    expect(server.requests).toBe(0)
    expect(await exists(output)).toBe(false)
    const date = await file(lifecycle({ "gpt-4o-mini": { shutdown: "soon" } }))
    const again = await sluice(["batch", input, "-o", output, "--lifecycle", date], server.env())
    usageError(again, date, "models.gpt-4o-mini.shutdown", 'got "soon"', "YYYY-MM-DD")
    expect(server.requests).toBe(0)
  })

  it("a good lifecycle file is used: a model it retires is refused before sending", async () => {
    const { input, output } = await job()
    const retired = await file(
      lifecycle({ "gpt-4o-mini": { deprecated: "2025-01-01", shutdown: "2025-06-01", replacement: "gpt-4.1-mini" } })
    )
    const result = await sluice(["batch", input, "-o", output, "--lifecycle", retired, "--json"], server.env())
    expect(JSON.parse(result.stdout)).toMatchObject({ total: 2, succeeded: 0, failed: 2 })
    // The error lines name the retirement and the replacement from the file; the resume hint keeps the file.
    expect(await Fs.readFile(output, "utf8")).toContain("gpt-4.1-mini")
    expect(result.stderr).toContain(`--lifecycle ${retired}`)
    expect(server.requests).toBe(0)
  })
})

describe("a good prices file", () => {
  it("prices the run: the summary's cost follows the file", async () => {
    const sim = await simulator({})
    const env = { OPENAI_API_KEY: "sk-tables-0123456789", OPENAI_BASE_URL: sim.url }
    const run = async (extra: ReadonlyArray<string>) => {
      const { input, output } = await job()
      const result = await sluice(["batch", input, "-o", output, "--json", ...extra], env)
      expect(result.code, result.stderr).toBe(0)
      return JSON.parse(result.stdout) as { cost_usd: number; prompt_tokens: number; completion_tokens: number }
    }
    const builtIn = await run([])
    // 1,000 times the list price of gpt-4o-mini.
    const dear = await file(prices({ "gpt-4o-mini": { input: 150, cachedInput: 75, output: 600 } }))
    const priced = await run(["--prices", dear])
    expect(builtIn.cost_usd).toBeGreaterThan(0)
    const perToken = (summary: typeof priced) => summary.cost_usd / (summary.prompt_tokens + summary.completion_tokens)
    expect(perToken(priced) / perToken(builtIn)).toBeGreaterThan(900)
  })
})

describe("sluice chat --prices", () => {
  it("a file that is not JSON: exit 1 naming the file; nothing sent", async () => {
    const bad = await file("{ not json")
    const result = await sluice(["chat", "hello", "--prices", bad], server.env())
    expect(result.code, result.stderr).not.toBe(0)
    expect(result.stderr).toContain(bad)
    expect(result.stderr).toContain("JSON")
    expect(server.requests).toBe(0)
  })
})

describe("sluice doctor --prices / --lifecycle", () => {
  it("a missing file, or a bad date in one: exit 1 naming the flag or the file, the field and the value; nothing sent", async () => {
    const missing = server.path("no-such-lifecycle.json")
    const result = await sluice(["doctor", "--lifecycle", missing], server.env())
    usageError(result, `--lifecycle ${missing} does not exist`)
    const date = await file(lifecycle({ "gpt-4o-mini": { shutdown: "soon" } }))
    const bad = await sluice(["doctor"], server.env({ SLUICE_LIFECYCLE: date }))
    usageError(bad, date, "models.gpt-4o-mini.shutdown", 'got "soon"', "Nothing was sent")
    const price = await file(prices({ "gpt-4o-mini": { input: -1 } }))
    const badPrice = await sluice(["doctor", "--prices", price], server.env())
    usageError(badPrice, price, "models.gpt-4o-mini.input", "got -1")
    expect(server.requests).toBe(0)
  })
})
