import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "@effect/vitest"
import { finish, simulator, sluice, start } from "./support.js"

const chatLine = (i: number) =>
  JSON.stringify({
    custom_id: `req-${i}`,
    method: "POST",
    url: "/v1/chat/completions",
    body: { model: "gpt-4o-mini", messages: [{ role: "user", content: `question number ${i}` }], max_tokens: 24 }
  })

const embeddingLine = (i: number) =>
  JSON.stringify({
    custom_id: `req-${i}`,
    method: "POST",
    url: "/v1/embeddings",
    body: { model: "text-embedding-3-small", input: `text ${i}` }
  })

const job = (n: number) =>
  `${Array.from({ length: n }, (_, i) => (i % 4 === 3 ? embeddingLine(i) : chatLine(i))).join("\n")}\n`

const outputLines = async (path: string) =>
  (await Fs.readFile(path, "utf8"))
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as { custom_id: string; response: { status_code: number } | null })

const countLines = async (path: string) => {
  try {
    return (await Fs.readFile(path, "utf8")).split("\n").length - 1
  } catch {
    return 0
  }
}

const waitFor = async (condition: () => Promise<boolean>, timeoutMs = 120_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("timed out waiting")
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

let dir = ""

beforeEach(async () => {
  dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "sluice-cli-"))
})
afterEach(async () => {
  await Fs.rm(dir, { recursive: true, force: true })
})

// Each `sluice` run is a Node process that loads the CLI's TypeScript sources through tsx: about 6 s on an idle
// 2-core machine, 15-20 s on a loaded CI machine, where the CLI then also sends more slowly (a test that starts it
// twice took 52 s there; the default 30 s and the former 60 s timed out). The timeouts only guard against hangs:
// no test asserts how fast anything was.
describe("sluice batch", { timeout: 180_000 }, () => {
  it("bad input: exit 1, every bad line listed, output neither created nor clobbered", async () => {
    const sim = await simulator({})
    const input = Path.join(dir, "in.jsonl")
    const output = Path.join(dir, "out.jsonl")
    await Fs.writeFile(
      input,
      [
        chatLine(1),
        "{oops",
        chatLine(1),
        JSON.stringify({ custom_id: "a", method: "GET", url: "/v1/chat/completions", body: {} }),
        chatLine(5),
        JSON.stringify({ custom_id: "b", method: "POST", url: "/v1/nope", body: { model: "x" } })
      ].join("\n")
    )
    const env = { OPENAI_API_KEY: "sk-test" }
    const result = await sluice(["batch", input, "-o", output, "--base-url", sim.url], env)
    expect(result.code).toBe(1)
    for (const line of [2, 3, 4, 6]) expect(result.stderr).toContain(`line ${line}:`)
    expect(result.stderr).not.toContain("line 1:")
    expect(result.stderr).not.toContain("line 5:")
    expect(result.stderr).toContain("duplicate")
    await expect(Fs.stat(output)).rejects.toThrow()
    await Fs.writeFile(output, "precious\n")
    const again = await sluice(["batch", input, "-o", output, "--base-url", sim.url, "--overwrite"], env)
    expect(again.code).toBe(1)
    expect(await Fs.readFile(output, "utf8")).toBe("precious\n")
    expect(sim.stats().requests).toBe(0)
  })

  it("usage: no key, or an existing output without --resume/--overwrite, is exit 1 with the way out", async () => {
    const input = Path.join(dir, "in.jsonl")
    const output = Path.join(dir, "out.jsonl")
    await Fs.writeFile(input, job(3))
    const noKey = await sluice(["batch", input, "-o", output])
    expect(noKey.code).toBe(1)
    expect(noKey.stderr).toContain("OPENAI_API_KEY")
    await Fs.writeFile(output, "")
    const exists = await sluice(["batch", input, "-o", output], { OPENAI_API_KEY: "sk-test" })
    expect(exists.code).toBe(1)
    expect(exists.stderr).toContain("--resume")
  })

  it("100 % success under rate limits and faults (exit 0, --json summary)", async () => {
    const sim = await simulator({
      rpm: 3000,
      tpm: 300_000,
      seed: 5,
      faults: { rate500: 0.02, rate503: 0.02, rate502Html: 0.01, rateReset: 0.01, rateTruncatedJson: 0.01 }
    })
    const input = Path.join(dir, "in.jsonl")
    const output = Path.join(dir, "out.jsonl")
    await Fs.writeFile(input, job(250))
    const report = Path.join(dir, "report.html")
    const result = await sluice(["batch", input, "-o", output, "--concurrency", "16", "--json", "--report", report], {
      OPENAI_API_KEY: "sk-test",
      OPENAI_BASE_URL: sim.url
    })
    expect(result.code).toBe(0)
    const summary = JSON.parse(result.stdout)
    expect(summary).toMatchObject({ total: 250, succeeded: 250, failed: 0, stopped: null, exit_code: 0 })
    expect(summary.retries).toBeGreaterThan(0)
    expect(result.stderr).toMatch(/retried after: .*(ServerError 50\d|ConnectionFailed|ResponseDecodeFailed)/)
    const lines = await outputLines(output)
    expect(lines).toHaveLength(250)
    expect(new Set(lines.map((line) => line.custom_id)).size).toBe(250)
    expect(sim.stats().duplicateSuccesses).toBe(0)
    expect(await Fs.readFile(report, "utf8")).toMatch(/^<!doctype html>/)
  })

  it("kill -9 mid-run, then --resume: nothing lost, nothing twice", async () => {
    const sim = await simulator({ latency: { requestMs: 40 } })
    const input = Path.join(dir, "in.jsonl")
    const output = Path.join(dir, "out.jsonl")
    await Fs.writeFile(input, job(400))
    const env = { OPENAI_API_KEY: "sk-test", OPENAI_BASE_URL: sim.url }
    const child = start(["batch", input, "-o", output, "--concurrency", "8"], env)
    const exited = finish(child)
    await waitFor(async () => (await countLines(output)) >= 100)
    child.kill("SIGKILL")
    const killed = await exited
    expect(killed.signal).toBe("SIGKILL")
    const before = await countLines(output)
    expect(before).toBeLessThan(400)
    const resumed = await sluice(["batch", input, "-o", output, "--concurrency", "8", "--resume", "--json"], env)
    expect(resumed.code).toBe(0)
    const summary = JSON.parse(resumed.stdout)
    expect(summary.skipped).toBeGreaterThanOrEqual(before - 1)
    const lines = await outputLines(output)
    const ids = lines.map((line) => line.custom_id)
    expect(new Set(ids).size).toBe(400)
    expect(ids).toHaveLength(400)
    expect(lines.every((line) => line.response?.status_code === 200)).toBe(true)
    expect(sim.stats().duplicateSuccesses).toBeLessThanOrEqual(8)
  })

  it("budget: stops with exit 3 and the spend stays under the ceiling", async () => {
    const sim = await simulator({})
    const input = Path.join(dir, "in.jsonl")
    const output = Path.join(dir, "out.jsonl")
    await Fs.writeFile(input, job(300))
    const result = await sluice(["batch", input, "-o", output, "--budget-usd", "0.0005", "--json"], {
      OPENAI_API_KEY: "sk-test",
      OPENAI_BASE_URL: sim.url
    })
    expect(result.code).toBe(3)
    expect(JSON.parse(result.stdout).stopped.reason).toBe("budget")
    expect(result.stderr).toContain("--budget-usd")
    expect(sim.stats().costUsd).toBeLessThanOrEqual(0.0005)
    expect(sim.stats().successes).toBeGreaterThan(0)
  })

  it("quota: stops with exit 4, no retry storm", async () => {
    const sim = await simulator({ quotaUsd: 0.0003 })
    const input = Path.join(dir, "in.jsonl")
    const output = Path.join(dir, "out.jsonl")
    await Fs.writeFile(input, job(300))
    const result = await sluice(["batch", input, "-o", output, "--concurrency", "8"], {
      OPENAI_API_KEY: "sk-test",
      OPENAI_BASE_URL: sim.url
    })
    expect(result.code).toBe(4)
    expect(result.stderr).toContain("quota")
    expect(result.stderr).toContain("--resume")
    // every request the server saw after the first quota error is itself a quota error
    expect(sim.stats().quotaExceeded).toBeGreaterThan(0)
    expect(sim.stats().quotaExceeded).toBeLessThanOrEqual(8)
  })

  it("key rotation mid-run through --api-key-file: 100 % success", async () => {
    const sim = await simulator({ keys: ["sk-key-a", "sk-key-b"], rpm: 3000 })
    const input = Path.join(dir, "in.jsonl")
    const output = Path.join(dir, "out.jsonl")
    const keyFile = Path.join(dir, "key")
    await Fs.writeFile(keyFile, "sk-key-a\n")
    await Fs.writeFile(input, job(250))
    const child = start(["batch", input, "-o", output, "--api-key-file", keyFile, "--concurrency", "8", "--json"], {
      OPENAI_BASE_URL: sim.url
    })
    const exited = finish(child)
    await waitFor(async () => (await countLines(output)) >= 60)
    // Rotate the way operators do: the new key goes into the file, then the old one is revoked at once. Requests
    // already in flight (or sent before the CLI sees the new file) get a 401, re-read the file and go on with b.
    // The file is replaced atomically (a sibling renamed over it), as rotation jobs and mounted secrets do: a plain
    // writeFile truncates first, and an attempt that reads the file in that moment finds it empty, which stops the
    // job (CredentialsUnavailable, exit 4). A reader stat-ing every 20 ms, as the CLI's attempts do, saw 39 of 750
    // such rewrites empty.
    await Fs.writeFile(`${keyFile}.next`, "sk-key-b\n")
    await Fs.rename(`${keyFile}.next`, keyFile)
    sim.update({ revoke: [{ key: "sk-key-a", afterRequests: 0 }] })
    const rotatedAt = await countLines(output)
    const result = await exited
    expect(rotatedAt).toBeLessThan(250)
    expect(result.stdout).not.toContain("sk-key")
    expect(result.stderr).not.toContain("sk-key")
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ succeeded: 250, failed: 0 })
    // every line after the rotation was answered with key b: the old key stayed revoked throughout
    expect(sim.stats().unauthorized).toBeLessThanOrEqual(8)
    expect((await outputLines(output)).every((line) => line.response?.status_code === 200)).toBe(true)
  })

  it("SIGINT: drains, exit 130, prints the resume command (the same signal twice within 250 ms is one)", async () => {
    // 600 ms per request, so the drain outlasts the second signal
    const sim = await simulator({ latency: { requestMs: 600 } })
    const input = Path.join(dir, "in.jsonl")
    const output = Path.join(dir, "out.jsonl")
    await Fs.writeFile(input, job(400))
    const child = start(["batch", input, "-o", output, "--concurrency", "4"], {
      OPENAI_API_KEY: "sk-test",
      OPENAI_BASE_URL: sim.url
    })
    const exited = finish(child)
    await waitFor(async () => (await countLines(output)) >= 8)
    // as a process-group signal arrives: directly, and again through the launcher a moment later
    child.kill("SIGINT")
    await new Promise((resolve) => setTimeout(resolve, 50))
    child.kill("SIGINT")
    const result = await exited
    expect(result.code).toBe(130)
    expect(result.stderr).toContain("waiting up to")
    expect(result.stderr).not.toContain("again: exiting now")
    expect(result.stderr).toContain(`sluice batch ${input} -o ${output} --resume`)
    const written = await countLines(output)
    // everything the server finished was written (in-flight requests were drained)
    expect(sim.stats().successes).toBe(written)
  })

  it("counts match what the server saw: a refused key (2 requests: the 401 and its one re-attempt)", async () => {
    const sim = await simulator({ keys: ["sk-the-only-valid-key"] })
    const input = Path.join(dir, "in.jsonl")
    const output = Path.join(dir, "out.jsonl")
    await Fs.writeFile(input, job(3))
    const result = await sluice(["batch", input, "-o", output, "--concurrency", "1", "--json"], {
      OPENAI_API_KEY: "sk-test",
      OPENAI_BASE_URL: sim.url
    })
    expect(result.code).toBe(4)
    const summary = JSON.parse(result.stdout)
    expect(summary.requests_sent).toBe(sim.stats().requests)
    expect(summary.retries).toBe(sim.stats().requests - 1)
  })

  it("counts match what the server saw: Ctrl-C with two requests in flight", async () => {
    const sim = await simulator({ latency: { requestMs: 4000 } })
    const input = Path.join(dir, "in.jsonl")
    const output = Path.join(dir, "out.jsonl")
    await Fs.writeFile(input, job(10))
    const child = start(["batch", input, "-o", output, "--concurrency", "2", "--grace-seconds", "0", "--json"], {
      OPENAI_API_KEY: "sk-test",
      OPENAI_BASE_URL: sim.url
    })
    const exited = finish(child)
    await waitFor(async () => sim.stats().inFlight === 2)
    child.kill("SIGINT")
    const result = await exited
    expect(result.code).toBe(130)
    // before: "requests sent 0" (attempts were counted when their answer came, and these never answered)
    expect(sim.stats().requests).toBeGreaterThanOrEqual(2)
    expect(JSON.parse(result.stdout).requests_sent).toBe(sim.stats().requests)
  })

  it("Ctrl-C: nothing is sent after the signal (requests waiting for the rate limiter stay unsent)", async () => {
    // One model (one rate-limit scope), --rpm 6: one request goes every 10 s. At the signal one is in flight (it
    // answers after 3 s) and the other five wait at the rate limiter. Before, they were sent during the grace period
    // as the limiter let them through (at ~10 s, ~20 s …), and the drain waited for them; now they are held unsent
    // and stay pending, and the drain ends once the one sent has answered.
    const sim = await simulator({ latency: { requestMs: 3000 } })
    const input = Path.join(dir, "in.jsonl")
    const output = Path.join(dir, "out.jsonl")
    await Fs.writeFile(input, `${Array.from({ length: 6 }, (_, i) => chatLine(i)).join("\n")}\n`)
    const child = start(
      ["batch", input, "-o", output, "--concurrency", "4", "--rpm", "6", "--grace-seconds", "30", "--json"],
      { OPENAI_API_KEY: "sk-test", OPENAI_BASE_URL: sim.url }
    )
    const exited = finish(child)
    await waitFor(async () => sim.stats().inFlight === 1)
    const sentBeforeSignal = sim.stats().requests
    child.kill("SIGINT")
    const result = await exited
    expect(result.code).toBe(130)
    expect(sentBeforeSignal).toBe(1)
    // no request arrived after the signal, and the summary counts what the server saw
    expect(sim.stats().requests).toBe(sentBeforeSignal)
    const summary = JSON.parse(result.stdout)
    expect(summary.requests_sent).toBe(sim.stats().requests)
    expect(summary.retries).toBe(0)
    // the one in flight was drained and written; the held ones stay pending for --resume
    expect(sim.stats().successes).toBe(1)
    expect(await countLines(output)).toBe(1)
    expect(summary.succeeded).toBe(1)
    expect(summary.pending).toBe(5)
    expect(result.stderr).toContain(`sluice batch ${input} -o ${output} --resume`)
  })

  it("Ctrl-C: a retry due in the grace period is not sent, and is no retry in the summary", async () => {
    // The first request gets a 429 that asks to wait 1 s; Ctrl-C comes within that second. Before, the retry was
    // sent during the grace period; now it is held unsent and the request stays pending.
    const sim = await simulator({ script: [{ request: 1, fault: "429" }] })
    const input = Path.join(dir, "in.jsonl")
    const output = Path.join(dir, "out.jsonl")
    await Fs.writeFile(input, `${chatLine(1)}\n`)
    const child = start(["batch", input, "-o", output, "--concurrency", "1", "--grace-seconds", "30", "--json"], {
      OPENAI_API_KEY: "sk-test",
      OPENAI_BASE_URL: sim.url
    })
    const exited = finish(child)
    await waitFor(async () => sim.stats().faults["429"] === 1)
    child.kill("SIGINT")
    const result = await exited
    expect(result.code).toBe(130)
    expect(sim.stats().requests).toBe(1)
    const summary = JSON.parse(result.stdout)
    expect(summary.requests_sent).toBe(1)
    expect(summary.retries).toBe(0)
    expect(summary.pending).toBe(1)
    expect(result.stderr).not.toContain("retried after")
    expect(await countLines(output)).toBe(0)
  })

  it("requests larger than --tpm: the reason, and a way out that does not repeat the same --tpm", async () => {
    const sim = await simulator({})
    const input = Path.join(dir, "in.jsonl")
    const output = Path.join(dir, "out.jsonl")
    await Fs.writeFile(input, `${[chatLine(1), chatLine(2)].join("\n")}\n`)
    const result = await sluice(["batch", input, "-o", output, "--tpm", "10"], {
      OPENAI_API_KEY: "sk-test",
      OPENAI_BASE_URL: sim.url
    })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("failed with: RequestTooLarge ×2")
    expect(result.stderr).toContain("larger than the key's token limit per minute (--tpm 10)")
    expect(result.stderr).toContain("--resume --retry-failed")
    expect(result.stderr).not.toMatch(/--resume.*--tpm 10/)
    expect(sim.stats().requests).toBe(0)
  })

  it("a server that never answers: the progress line says what the job waits for", async () => {
    const sim = await simulator({ faults: { rateHang: 1 } })
    const input = Path.join(dir, "in.jsonl")
    const output = Path.join(dir, "out.jsonl")
    await Fs.writeFile(input, job(4))
    const child = start(["batch", input, "-o", output, "--concurrency", "2", "--grace-seconds", "0"], {
      OPENAI_API_KEY: "sk-test",
      OPENAI_BASE_URL: sim.url
    })
    let stderr = ""
    child.stderr!.on("data", (chunk) => {
      stderr += chunk
    })
    const exited = finish(child)
    await waitFor(async () => stderr.includes("no answer for"), 60_000)
    child.kill("SIGINT")
    const result = await exited
    expect(result.code).toBe(130)
    expect(stderr).toMatch(/in flight 2 \|.*\| no answer for 1\d s: waiting for 2 in flight/)
  })
})
