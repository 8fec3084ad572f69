/**
 * Three real `sluice batch --redis` processes on one key against the simulator, with a real redis-server: limits
 * without rate-limit headers, one shared --budget-usd, one fuse, and a kill -9 of redis-server mid-run. Each test
 * prints what it measured (`[scale-out] …`).
 */
import * as FsSync from "node:fs"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Pricing } from "@sluice/core"
import { type RedisServer, startRedis } from "@sluice/test-support/Redis"
import { finish, type Result, simulator, start } from "../support.js"

const key = "sk-scale-out-0123456789abcdef"
/** The fuse test's key: its blown fuse stays in this file's Redis (an hour), so the other tests use another key. */
const fusedKey = "sk-scale-out-fused-0123456789abcdef"
let redis: RedisServer
let dir = ""
beforeAll(async () => {
  redis = await startRedis()
  dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "sluice-scale-out-"))
})
afterAll(async () => {
  await redis.stop()
  await Fs.rm(dir, { recursive: true, force: true })
})

let jobs = 0
/** An input of `n` chat lines, unique prompts (so a duplicate success is a request sent twice). */
const input = async (n: number, maxTokens = 16) => {
  const path = Path.join(dir, `in-${++jobs}.jsonl`)
  const lines = Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      custom_id: `req-${jobs}-${i}`,
      method: "POST",
      url: "/v1/chat/completions",
      body: {
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: `job ${jobs} question ${i}` }],
        max_tokens: maxTokens
      }
    })
  )
  await Fs.writeFile(path, `${lines.join("\n")}\n`)
  return path
}

/** Three workers on one input, one shard each; `extra` flags for all. */
const workers = (url: string, inputPath: string, extra: ReadonlyArray<string>, count = 3, apiKey = key) =>
  Array.from({ length: count }, (_, i) => {
    const output = `${inputPath}.out-${i + 1}`
    const child = start(
      [
        "batch",
        inputPath,
        "-o",
        output,
        "--shard",
        `${i + 1}/${count}`,
        "--redis",
        redis.url,
        "--concurrency",
        "8",
        ...extra
      ],
      { OPENAI_API_KEY: apiKey, OPENAI_BASE_URL: url }
    )
    return { output, done: finish(child) }
  })

const readLines = async (path: string) =>
  (await Fs.readFile(path, "utf8").catch(() => ""))
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map(
      (line) =>
        JSON.parse(line) as {
          custom_id: string
          response: { body: { usage?: { prompt_tokens: number; completion_tokens: number } } } | null
        }
    )

const costOf = (usage: { prompt_tokens: number; completion_tokens: number }) =>
  Pricing.costAt(
    Pricing.fromTable()
      .price("gpt-4o-mini")
      .pipe((o) => (o._tag === "Some" ? o.value : undefined))!,
    {
      promptTokens: usage.prompt_tokens,
      completionTokens: usage.completion_tokens,
      cachedPromptTokens: 0
    }
  )

const show = (results: ReadonlyArray<Result>) =>
  results.map((r) => `exit ${r.code}: ${r.code === 70 ? r.stderr : r.stderr.slice(-400)}`).join("\n")

/**
 * Waits until `reached()` holds, polling every 50 ms. No deadline of its own (the test's timeout is the one): a
 * worker that exits first fails the wait with its stderr, instead of the test going on at the wrong moment.
 */
const waitUntil = async (reached: () => boolean, done: ReadonlyArray<Promise<Result>>) => {
  let exited: Result | undefined
  for (const d of done) void d.then((r) => (exited ??= r))
  while (!reached()) {
    if (exited !== undefined) throw new Error(`a worker exited before the test could act: ${show([exited])}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

// Most of each test's time is `sluice` process starts under tsx (three workers, then a merge or a --resume), which
// grow with the machine's load, not what the tests measure: kill -9 took 11.6 s alone, 42.5 s beside two CPU hogs and
// 60 s beside three (42 s of it before the first quarter of the lines was done; the merge's start alone 11 s), and
// went past 180 s in a full suite on 2 cores. 600 s leaves a full run room; a hang still fails.
describe("three sluice batch --redis workers on one key", { timeout: 600_000 }, () => {
  it("without rate-limit headers they share --rpm: near the minimum time, under 3 % 429s, every line once", async () => {
    const rpm = 3000
    const n = 300
    const server = await simulator({ keys: [key], rpm, headers: { style: "none" }, latency: { requestMs: 20 } })
    const path = await input(n)
    const started = Date.now()
    const running = workers(server.url, path, ["--rpm", String(rpm), "--json"])
    const ends: Array<number> = []
    const results = await Promise.all(
      running.map((w, i) =>
        w.done.then((r) => {
          ends[i] = Date.now()
          return r
        })
      )
    )
    const wallS = (Date.now() - started) / 1000
    // The job's own time: from the first worker's start of its job (its end − its wall_s) to the last one's end, so
    // the process starts (several seconds on a loaded machine) are left out.
    const summaries = results.map((r) => JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as { wall_s: number })
    const firstStart = Math.min(...summaries.map((summary, i) => ends[i]! - summary.wall_s * 1000))
    const jobS = (Math.max(...ends) - firstStart) / 1000
    expect(
      results.map((r) => r.code),
      show(results)
    ).toEqual([0, 0, 0])
    const stats = server.stats()
    const minimumS = n / (rpm / 60)
    const share = stats.rateLimited / stats.requests
    console.log(
      `[scale-out] no headers, 3 workers, ${n} lines at ${rpm} rpm: the job took ${jobS.toFixed(1)} s from the first worker's start to the last one's end (minimum ${minimumS.toFixed(1)} s, ` +
        `${(jobS / minimumS).toFixed(2)}×; ${wallS.toFixed(1)} s with the process starts), ${stats.requests} requests, ${stats.rateLimited} 429s (${(share * 100).toFixed(2)} %)`
    )
    expect(share).toBeLessThan(0.03)
    expect(stats.successes).toBe(n)
    expect(stats.duplicateSuccesses).toBe(0)
    const ids = (await Promise.all(running.map((w) => readLines(w.output)))).flat().map((l) => l.custom_id)
    expect(new Set(ids).size).toBe(n)
    expect(ids.length).toBe(n)
  })

  it("one --budget-usd for all three: together they never cross it", async () => {
    const server = await simulator({ keys: [key], latency: { requestMs: 30 } })
    const path = await input(600, 200)
    const ceiling = 0.01
    const running = workers(server.url, path, ["--budget-usd", String(ceiling), "--budget-name", `b${jobs}`])
    const results = await Promise.all(running.map((w) => w.done))
    expect(
      results.every((r) => r.code === 3 || r.code === 0),
      show(results)
    ).toBe(true)
    expect(results.some((r) => r.code === 3)).toBe(true)
    const lines = (await Promise.all(running.map((w) => readLines(w.output)))).flat()
    const spent = lines.reduce(
      (sum, line) => sum + (line.response?.body.usage ? costOf(line.response.body.usage as never) : 0),
      0
    )
    console.log(
      `[scale-out] shared budget $${ceiling}: ${lines.length} lines written, $${spent.toFixed(6)} spent by all three (exit codes ${results.map((r) => r.code).join(", ")})`
    )
    expect(spent).toBeLessThanOrEqual(ceiling + 1e-9)
    // One worker alone could have spent the whole ceiling: together they got near it, not three times it.
    expect(spent).toBeGreaterThan(ceiling * 0.5)
    expect(server.stats().successes).toBe(lines.length)
  })

  it("one fuse: a billing 429 seen by one worker stops the others before they send anything", async () => {
    const server = await simulator({ keys: [fusedKey], quotaUsd: 0.0005, latency: { requestMs: 10 } })
    const path = await input(300, 64)
    const [first] = workers(server.url, path, ["--max-retries", "0"], 1, fusedKey)
    const alone = await first!.done
    expect(alone.code, alone.stderr).toBe(4)
    expect(alone.stderr).toContain("quota")
    const seen = server.stats().requests
    // The other two shards of the same input on the same key and Redis: the fuse is blown for the key.
    const others = [2, 3].map((i) => {
      const child = start(["batch", path, "-o", `${path}.fused-${i}`, "--shard", `${i}/3`, "--redis", redis.url], {
        OPENAI_API_KEY: fusedKey,
        OPENAI_BASE_URL: server.url
      })
      return finish(child)
    })
    const results = await Promise.all(others)
    console.log(
      `[scale-out] fuse: worker 1 sent ${seen} requests (${server.stats().quotaExceeded} insufficient_quota), workers 2 and 3 sent ${server.stats().requests - seen}`
    )
    expect(
      results.map((r) => r.code),
      show(results)
    ).toEqual([4, 4])
    for (const r of results) expect(r.stderr).toContain("fused")
    expect(server.stats().requests).toBe(seen)
  })

  it("redis-server killed -9 mid-run and restarted: every line done exactly once, merged in input order", async () => {
    const rpm = 2400
    const n = 240
    // 2 % spurious 429s without a hint (style none): each closes the shared gate for a random, fractional pause on
    // Redis, before and after the restart (a fractional pause once killed a worker: exit 70, see RedisStore.test).
    const server = await simulator({
      keys: [key],
      rpm,
      headers: { style: "none" },
      latency: { requestMs: 20 },
      faults: { rate429: 0.02 }
    })
    const path = await input(n)
    const running = workers(server.url, path, ["--rpm", String(rpm), "--redis-wait-seconds", "60"])
    // Wait until the job is well under way, then kill Redis for ~1.5 s.
    // Every worker under way (its output has a line: it reached Redis and got answers), not just a quarter of the
    // lines done: on a loaded machine a worker started 20 s after the others found Redis down at its start (exit 4).
    await waitUntil(
      () =>
        server.stats().successes >= n / 4 &&
        running.every((w) => (FsSync.statSync(w.output, { throwIfNoEntry: false })?.size ?? 0) > 0),
      running.map((w) => w.done)
    )
    await redis.kill9()
    const during = server.stats().successes
    await new Promise((resolve) => setTimeout(resolve, 1500))
    const whileDown = server.stats().successes - during
    await redis.restart()
    const results = await Promise.all(running.map((w) => w.done))
    expect(
      results.map((r) => r.code),
      show(results)
    ).toEqual([0, 0, 0])
    expect(results.some((r) => r.stderr.includes("redis unreachable") && r.stderr.includes("paused"))).toBe(true)
    expect(results.some((r) => r.stderr.includes("resumed"))).toBe(true)
    const stats = server.stats()
    console.log(
      `[scale-out] kill -9 of redis at ${during}/${n} done: ${whileDown} answers arrived while it was down (sent before), ` +
        `${stats.successes} successes, ${stats.duplicateSuccesses} duplicates, ${stats.rateLimited} 429s from the buckets, ` +
        `${stats.faults["429"] ?? 0} injected`
    )
    expect(stats.faults["429"]).toBeGreaterThan(0)
    expect(stats.successes).toBe(n)
    expect(stats.duplicateSuccesses).toBe(0)
    const merged = `${path}.merged`
    const merge = await finish(start(["merge", "-o", merged, "--input", path, ...running.map((w) => w.output)], {}))
    expect(merge.code, merge.stderr).toBe(0)
    const ids = (await readLines(merged)).map((l) => l.custom_id)
    expect(ids).toEqual(Array.from({ length: n }, (_, i) => `req-${jobs}-${i}`))
  })

  it("Redis down past --redis-wait-seconds: the worker stops and says so, nothing sent without a reservation; --resume finishes once", async () => {
    const n = 80
    const server = await simulator({ keys: [key], rpm: 600, headers: { style: "none" }, latency: { requestMs: 20 } })
    const path = await input(n)
    const output = `${path}.out`
    const flags = ["--redis", redis.url, "--rpm", "600", "--budget-usd", "5", "--budget-name", `d${jobs}`]
    const running = finish(
      start(["batch", path, "-o", output, "--redis-wait-seconds", "2", ...flags], {
        OPENAI_API_KEY: key,
        OPENAI_BASE_URL: server.url
      })
    )
    await waitUntil(() => server.stats().successes >= 10, [running])
    await redis.kill9()
    const atKill = server.stats().requests
    const stopped = await running
    const sentAfter = server.stats().requests - atKill
    console.log(
      `[scale-out] redis down past 2 s: exit ${stopped.code}, ${sentAfter} requests sent after the kill (in flight then), ${(await readLines(output)).length} lines written`
    )
    expect(stopped.code, stopped.stderr).toBe(4)
    expect(stopped.stderr).toContain("redis unreachable")
    expect(stopped.stderr).toContain("stopped: Redis stayed unreachable")
    expect(stopped.stderr).toContain("--resume")
    expect(sentAfter).toBeLessThanOrEqual(16) // at most the requests already admitted (concurrency 16)
    await redis.restart()
    const resumed = await finish(
      start(["batch", path, "-o", output, "--resume", ...flags], { OPENAI_API_KEY: key, OPENAI_BASE_URL: server.url })
    )
    expect(resumed.code, resumed.stderr).toBe(0)
    const stats = server.stats()
    expect(stats.successes).toBe(n)
    expect(stats.duplicateSuccesses).toBe(0)
    const ids = (await readLines(output)).map((l) => l.custom_id)
    expect(new Set(ids).size).toBe(n)
    expect(ids.length).toBe(n)
  })

  it("Redis down at the start: exit 4, says so without the password, nothing sent, no output", async () => {
    const server = await simulator({ keys: [key] })
    const path = await input(5)
    const output = `${path}.out`
    const result = await finish(
      start(["batch", path, "-o", output, "--redis", "redis://user:pw-secret@127.0.0.1:1"], {
        OPENAI_API_KEY: key,
        OPENAI_BASE_URL: server.url
      })
    )
    expect(result.code, result.stderr).toBe(4)
    expect(result.stderr).toContain("redis unreachable")
    expect(result.stderr).toContain("connect 127.0.0.1:1")
    expect(result.stderr).toContain("Nothing was sent")
    expect(result.stderr).not.toContain("pw-secret")
    expect(server.stats().requests).toBe(0)
    expect(
      await Fs.stat(output).then(
        () => true,
        () => false
      )
    ).toBe(false)
  })
})
