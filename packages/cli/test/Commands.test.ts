/**
 * `sluice chat`, `sluice doctor` and `sluice simulate`, run as a user runs them (a child process from the
 * TypeScript sources) against the simulator on loopback.
 */
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { finish, type Result, simulator, sluice, start } from "./support.js"

const key = "sk-commands-0123456789abcdef"

const noKeyIn = (result: Result) => {
  expect(result.stdout).not.toContain(key)
  expect(result.stderr).not.toContain(key)
}

describe("sluice chat", () => {
  it("streams the answer to stdout (one streamed request, read to the end)", async () => {
    const sim = await simulator({ keys: [key] })
    const result = await sluice(["chat", "hello there", "--max-tokens", "20"], {
      OPENAI_API_KEY: key,
      OPENAI_BASE_URL: sim.url
    })
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    expect(result.stdout.trim().length).toBeGreaterThan(0)
    const stats = sim.stats()
    expect([stats.requests, stats.streamsStarted, stats.streamsCompleted]).toEqual([1, 1, 1])
    noKeyIn(result)
  }, 60_000)

  it("--no-stream sends one plain request", async () => {
    const sim = await simulator({ keys: [key] })
    const result = await sluice(["chat", "hello there", "--max-tokens", "20", "--no-stream"], {
      OPENAI_API_KEY: key,
      OPENAI_BASE_URL: sim.url
    })
    expect(result.code).toBe(0)
    expect(result.stdout.trim().length).toBeGreaterThan(0)
    expect([sim.stats().successes, sim.stats().streamsStarted]).toEqual([1, 0])
  }, 60_000)

  it("a rejected key: exit 4, the error and the way out on stderr, the key nowhere", async () => {
    const sim = await simulator({ keys: ["sk-the-only-valid-key-000000"] })
    const result = await sluice(["chat", "hello", "--max-tokens", "5"], {
      OPENAI_API_KEY: key,
      OPENAI_BASE_URL: sim.url
    })
    expect(result.code).toBe(4)
    expect(result.stderr).toContain("AuthenticationFailed")
    expect(result.stderr).toContain("OPENAI_API_KEY or --api-key-file")
    expect(result.stdout).toBe("")
    noKeyIn(result)
  }, 60_000)

  it("plain http:// to a non-loopback host is refused before anything is sent: exit 1", async () => {
    const result = await sluice(["chat", "hello", "--base-url", "http://api.example.com/v1"], { OPENAI_API_KEY: key })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("http://api.example.com")
    noKeyIn(result)
  }, 60_000)
})

describe("sluice chat --allow-insecure", () => {
  // [::ffff:127.0.0.1] reaches the loopback simulator but is not a loopback name: it stands for a plain-http host
  // on another machine.
  it("plain http to a host that is not loopback: refused without the flag, sent with it", async () => {
    const sim = await simulator({ keys: [key] })
    const url = sim.url.replace("127.0.0.1", "[::ffff:127.0.0.1]")
    const env = { OPENAI_API_KEY: key }
    const refused = await sluice(["chat", "hello", "--max-tokens", "5", "--base-url", url], env)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain("--allow-insecure")
    expect(sim.stats().requests).toBe(0)
    const allowed = await sluice(["chat", "hello", "--max-tokens", "5", "--base-url", url, "--allow-insecure"], env)
    expect(allowed.code).toBe(0)
    expect(allowed.stdout.trim().length).toBeGreaterThan(0)
    expect(sim.stats().requests).toBe(1)
  }, 60_000)
})

describe("sluice doctor", () => {
  it("a healthy server: key, models, latency and headroom, exit 0", async () => {
    const sim = await simulator({ keys: [key], rpm: 1000, tpm: 100_000 })
    const result = await sluice(["doctor"], { OPENAI_API_KEY: key, OPENAI_BASE_URL: sim.url })
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("✓ key accepted")
    expect(result.stdout).toMatch(/rate-limit headroom: requests \d+\/1000/)
    expect(result.stdout).toContain("all good")
    expect(result.stdout).toContain("sha256:")
    noKeyIn(result)
  }, 60_000)

  it("a revoked key: exit 4 with the way out", async () => {
    const sim = await simulator({ keys: [key], revoke: [{ key, afterRequests: 0 }] })
    const result = await sluice(["doctor"], { OPENAI_API_KEY: key, OPENAI_BASE_URL: sim.url })
    expect(result.code).toBe(4)
    expect(result.stdout).toContain("✗ key / models: AuthenticationFailed")
    expect(result.stdout).toContain("check the key")
    noKeyIn(result)
  }, 60_000)

  it("a retired model in use is a problem found: exit 2, with the replacement", async () => {
    const sim = await simulator({ keys: [key] })
    const result = await sluice(["doctor", "--model", "text-davinci-003"], {
      OPENAI_API_KEY: key,
      OPENAI_BASE_URL: sim.url
    })
    expect(result.code).toBe(2)
    expect(result.stdout).toContain("the model text-davinci-003 is retired")
    expect(result.stdout).toContain("gpt-3.5-turbo-instruct")
  }, 60_000)
})

describe("sluice doctor --lifecycle / --prices: the tables the other commands use", () => {
  let dir = ""
  beforeAll(async () => {
    dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "sluice-doctor-"))
  })
  afterAll(() => Fs.rm(dir, { recursive: true, force: true }))
  const table = async (name: string, content: unknown) => {
    const path = Path.join(dir, name)
    await Fs.writeFile(path, JSON.stringify(content))
    return path
  }
  const lifecycle = (models: unknown) => ({ format: "sluice-lifecycle", version: 1, asOf: "2026-12-01", models })
  const prices = (models: unknown, replace = false) => ({
    format: "sluice-prices",
    version: 1,
    asOf: "2026-12-01",
    currency: "USD",
    unit: "per 1M tokens",
    ...(replace ? { replace: true } : {}),
    models
  })

  it("without files: the built-in tables, named with their dates, and the model's built-in price", async () => {
    const sim = await simulator({ keys: [key] })
    const result = await sluice(["doctor"], { OPENAI_API_KEY: key, OPENAI_BASE_URL: sim.url })
    expect(result.code, result.stdout).toBe(0)
    expect(result.stdout).toMatch(/prices built in \(as of \d{4}-\d\d-\d\d\); model lifecycle built in \(as of /)
    expect(result.stdout).toContain("price of gpt-4o-mini: $0.15 input, $0.075 cached input, $0.6 output per 1M tokens")
    expect(result.stdout).not.toContain("the model gpt-4o-mini is")
  }, 60_000)

  it("a lifecycle file that retires the model in use and deprecates an offered one: both reported, exit 2", async () => {
    const sim = await simulator({ keys: [key] })
    const file = await table(
      "lifecycle.json",
      lifecycle({
        "gpt-4o-mini": { deprecated: "2025-01-01", shutdown: "2025-06-01", replacement: "gpt-4.1-mini" },
        "gpt-4.1-nano": { deprecated: "2025-01-01", replacement: "gpt-4.1-mini" }
      })
    )
    const result = await sluice(["doctor", "--lifecycle", file], { OPENAI_API_KEY: key, OPENAI_BASE_URL: sim.url })
    expect(result.code, result.stdout).toBe(2)
    expect(result.stdout).toContain(`model lifecycle ${file}`)
    expect(result.stdout).toContain("the model gpt-4o-mini is retired (shutdown 2025-06-01); use gpt-4.1-mini instead")
    expect(result.stdout).toMatch(
      /deprecated or retired models offered: .*gpt-4o-mini \(retired\).*gpt-4\.1-nano \(deprecated\)/
    )
    expect(result.stdout).toContain("1 problem(s) found")
    // The same file through SLUICE_LIFECYCLE: the same verdict.
    const fromEnv = await sluice(["doctor"], { OPENAI_API_KEY: key, OPENAI_BASE_URL: sim.url, SLUICE_LIFECYCLE: file })
    expect(fromEnv.code).toBe(2)
    expect(fromEnv.stdout).toContain("the model gpt-4o-mini is retired")
  }, 90_000)

  it("a prices file: the model's price from it; a table without the model says a budget would refuse it", async () => {
    const sim = await simulator({ keys: [key] })
    const env = { OPENAI_API_KEY: key, OPENAI_BASE_URL: sim.url }
    const dear = await table("dear.json", prices({ "gpt-4o-mini": { input: 150, output: 600 } }))
    const priced = await sluice(["doctor", "--prices", dear], env)
    expect(priced.code, priced.stdout).toBe(0)
    expect(priced.stdout).toContain(`prices ${dear};`)
    expect(priced.stdout).toContain("price of gpt-4o-mini: $150 input, $600 output per 1M tokens")
    const other = await table("other.json", prices({ "gpt-4.1": { input: 2, output: 8 } }, true))
    const unpriced = await sluice(["doctor"], { ...env, SLUICE_PRICES: other })
    expect(unpriced.code, unpriced.stdout).toBe(0)
    expect(unpriced.stdout).toContain("! no price for gpt-4o-mini: with --budget-usd its requests are refused")
  }, 90_000)
})

describe("sluice simulate", () => {
  it("serves the API on the URL it prints, and stops on SIGINT with a summary", async () => {
    const child = start(["simulate", "--port", "0", "--rpm", "600"], {})
    const exited = finish(child)
    const url = await new Promise<string>((resolve, reject) => {
      let seen = ""
      child.stdout!.on("data", (chunk) => {
        seen += chunk
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(seen)
        if (match !== null) resolve(match[1]!)
      })
      child.on("close", () => reject(new Error(`exited before listening: ${seen}`)))
    })
    const response = await fetch(`${url}/models`, { headers: { authorization: "Bearer sk-sim" } })
    expect(response.status).toBe(200)
    expect(response.headers.get("x-ratelimit-limit-requests")).toBe("600")
    const models = (await response.json()) as { data: Array<{ id: string }> }
    expect(models.data.map((model) => model.id)).toContain("gpt-4o-mini")
    child.kill("SIGINT")
    const result = await exited
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("served 1 requests")
  }, 60_000)

  it("an unreadable --faults value: exit 1 naming the value and the kinds", async () => {
    const result = await sluice(["simulate", "--faults", "boom=2"], {})
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('cannot read "boom=2"')
    expect(result.stderr).toContain("reset")
  }, 60_000)
})

describe("waiting is visible", () => {
  it("chat against a server that never answers: each 10 s of waiting and each retry on stderr, with the reason", async () => {
    const sim = await simulator({ keys: [key], faults: { rateHang: 1 } })
    const env = { OPENAI_API_KEY: key, OPENAI_BASE_URL: sim.url }
    const [streamed, plain] = await Promise.all([
      sluice(["chat", "hello", "--timeout-seconds", "14", "--max-retries", "1"], env),
      sluice(["chat", "hello", "--no-stream", "--timeout-seconds", "14", "--max-retries", "0"], env)
    ])
    expect(streamed.code).toBe(2)
    expect(streamed.stderr).toMatch(
      /still waiting for the response headers of attempt 1 of 2 \(1\d s; gives up at 14 s\)/
    )
    expect(streamed.stderr).toContain(
      "attempt 1 failed (Timeout: no first token within 14 s); retrying (attempt 2 of 2)"
    )
    expect(streamed.stderr).toMatch(/still waiting for the response headers of attempt 2 of 2/)
    expect(streamed.stderr).toContain("(after 2 attempts)")
    expect(streamed.stderr).toContain("--timeout-seconds")
    expect(plain.code).toBe(2)
    expect(plain.stderr).toMatch(/still waiting for the response headers of attempt 1 of 1 \(1\d s; gives up at 14 s\)/)
    expect(plain.stderr).toContain("(after 1 attempt)")
    expect(plain.stderr).not.toContain("retrying")
    // three requests reached the server: 2 streamed attempts and one plain one
    expect(sim.stats().requests).toBe(3)
    noKeyIn(streamed)
    noKeyIn(plain)
  }, 90_000)

  it("a retry after a server error is announced with its status", async () => {
    const sim = await simulator({ keys: [key] })
    sim.update({ faults: { rate500: 1 } })
    const result = await sluice(["chat", "hello", "--max-retries", "1"], {
      OPENAI_API_KEY: key,
      OPENAI_BASE_URL: sim.url
    })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/attempt 1 failed \(ServerError 500: .*\); retrying \(attempt 2 of 2\)/)
    expect(result.stderr).toContain("try again later, or raise --max-retries")
    expect(result.stderr).not.toContain("see the message above")
    expect(sim.stats().requests).toBe(2)
  }, 60_000)
})
