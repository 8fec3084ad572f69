/**
 * `sluice embed --redis`: the scale-out flags of `sluice batch` (one definition, internal/redis.ts) on embed, with a
 * real redis-server: its spend lands in the shared budget that every process on that Redis and budget name reads,
 * and a second process on the same budget is stopped by what the first spent. `--shard` is batch's only.
 */
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { RedisBudget, RedisStore } from "@sluice/redis"
import { type RedisServer, startRedis } from "@sluice/test-support/Redis"
import { Effect, Layer } from "effect"
import { simulator, sluice } from "../support.js"

const key = "sk-embed-scale-out-0123456789"
let redis: RedisServer
let dir = ""
beforeAll(async () => {
  redis = await startRedis()
  dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "sluice-embed-scale-out-"))
})
afterAll(async () => {
  await redis.stop()
  await Fs.rm(dir, { recursive: true, force: true })
})

/** A plain-text input of `n` distinct documents. */
const documents = async (name: string, n: number) => {
  const path = Path.join(dir, `${name}.txt`)
  await Fs.writeFile(
    path,
    `${Array.from({ length: n }, (_, i) => `${name} document number ${i} `.repeat(8)).join("\n")}\n`
  )
  return path
}

/** What the shared budget `name` holds on this Redis, read as any other process would. */
const sharedSpent = (name: string) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.flatMap(RedisBudget.ledger(name), (ledger) => ledger.totals("global")).pipe(
        Effect.provide(Layer.orDie(RedisStore.layer({ url: redis.url })))
      )
    )
  )

describe("sluice embed --redis", () => {
  it("the spend lands in the shared budget; a second process on it stops at the shared ceiling", async () => {
    const sim = await simulator({ keys: [key] })
    const env = { OPENAI_API_KEY: key, OPENAI_BASE_URL: sim.url }
    const common = ["--model", "text-embedding-3-small", "--redis", redis.url, "--budget-name", "embed-test", "--json"]
    const first = await sluice(
      ["embed", await documents("a", 300), "-o", Path.join(dir, "a.jsonl"), ...common, "--budget-usd", "1"],
      env
    )
    expect(first.code).toBe(0)
    const summary = JSON.parse(first.stdout) as { cost_usd: number; requests_sent: number }
    expect(summary.cost_usd).toBeGreaterThan(0)
    const after = await sharedSpent("embed-test")
    expect(after.spentUsd).toBeCloseTo(summary.cost_usd, 10)
    expect(after.reservedUsd).toBe(0)

    // A ceiling the first process already reached: the second sends nothing and says budget (exit 3).
    const second = await sluice(
      [
        "embed",
        await documents("b", 300),
        "-o",
        Path.join(dir, "b.jsonl"),
        ...common,
        "--budget-usd",
        String(after.spentUsd)
      ],
      env
    )
    expect(second.code).toBe(3)
    expect(JSON.parse(second.stdout).requests_sent).toBe(0)
    expect((await sharedSpent("embed-test")).spentUsd).toBeCloseTo(after.spentUsd, 10)
  }, 240_000)

  it("--shard is batch's: embed does not take it", async () => {
    const result = await sluice([
      "embed",
      await documents("c", 3),
      "-o",
      Path.join(dir, "c.jsonl"),
      "--model",
      "text-embedding-3-small",
      "--shard",
      "1/2"
    ])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("--shard")
  }, 120_000)

  it("Redis down at the start: exit 4 as batch, says nothing was sent, no output", async () => {
    const sim = await simulator({ keys: [key] })
    const output = Path.join(dir, "down.jsonl")
    const result = await sluice(["embed", await documents("d", 3), "-o", output, "--model", "text-embedding-3-small"], {
      OPENAI_API_KEY: key,
      OPENAI_BASE_URL: sim.url,
      SLUICE_REDIS_URL: "redis://127.0.0.1:1"
    })
    expect(result.code).toBe(4)
    expect(result.stderr).toContain("Nothing was sent")
    await expect(Fs.access(output)).rejects.toThrow()
    expect(sim.stats().requests).toBe(0)
  }, 120_000)
})
