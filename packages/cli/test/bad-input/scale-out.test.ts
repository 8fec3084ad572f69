/**
 * The scale-out flags (`--redis`, `SLUICE_REDIS_URL`, `--budget-name`, `--redis-wait-seconds`, `--shard`) and
 * `sluice merge` with bad values: exit 1 before anything starts, the flag and the value named (never a Redis
 * password), nothing sent, nothing written.
 */
import * as Fs from "node:fs/promises"
import { describe, expect, it } from "@effect/vitest"
import { sluice } from "../support.js"
import { chatLine, exists, quietServer, usageError } from "./cases.js"

const server = quietServer()

let n = 0
const job = async () => {
  const id = ++n
  const input = server.path(`scale-in-${id}.jsonl`)
  await Fs.writeFile(input, `${[chatLine(1), chatLine(2)].join("\n")}\n`)
  return { input, output: server.path(`scale-out-${id}.jsonl`) }
}

const cases: ReadonlyArray<
  readonly [string, ReadonlyArray<string>, Record<string, string>, ReadonlyArray<string>, ReadonlyArray<string>]
> = [
  [
    "a Redis URL of another scheme, a shard out of range, a wait of 0",
    ["--redis", "http://127.0.0.1:6379", "--shard", "4/3", "--redis-wait-seconds", "0"],
    {},
    [
      "--redis http://127.0.0.1:6379: the scheme http: is not supported; expected redis:// or rediss://",
      "--shard 4/3: out of range; expected I/N with whole numbers 1 ≤ I ≤ N ≤ 10000",
      "--redis-wait-seconds 0: out of range; expected a whole number from 1 to 86400"
    ],
    []
  ],
  [
    "not a URL, a shard that is not I/N, a budget name with a space",
    ["--redis", "not a url", "--shard", "1-3", "--budget-name", "my budget"],
    {},
    ['--redis "not a url": not a URL', "--shard 1-3: not I/N", '--budget-name "my budget": expected 1 to 64 letters'],
    []
  ],
  [
    "a URL without a host never shows its password",
    ["--redis", "rediss://user:hunter2@/0", "--shard", "0/3"],
    {},
    ['--redis "rediss://user:***@/0": not a URL', "--shard 0/3: out of range"],
    ["hunter2"]
  ],
  [
    "--budget-name and --redis-wait-seconds need a Redis",
    ["--budget-name", "team-a", "--redis-wait-seconds", "30"],
    {},
    ["--budget-name team-a needs --redis (or SLUICE_REDIS_URL)", "--redis-wait-seconds 30 needs --redis"],
    []
  ],
  [
    "a bad SLUICE_REDIS_URL is named as the variable",
    ["--shard", "1/0"],
    { SLUICE_REDIS_URL: "ftp://user:pw-secret@127.0.0.1" },
    ['SLUICE_REDIS_URL="ftp://user:***@127.0.0.1": the scheme ftp: is not supported', "--shard 1/0: out of range"],
    ["pw-secret"]
  ]
]

describe.concurrent("sluice batch: bad scale-out flags", { timeout: 120_000 }, () => {
  for (const [name, flags, env, fragments, absent] of cases) {
    it(name, async () => {
      const { input, output } = await job()
      const result = await sluice(["batch", input, "-o", output, ...flags], server.env(env))
      usageError(result, ...fragments, "Nothing was sent")
      for (const text of absent) expect(result.stderr).not.toContain(text)
      expect(await exists(output)).toBe(false)
      expect(server.requests).toBe(0)
    })
  }
})

describe.concurrent("sluice merge: bad arguments", { timeout: 120_000 }, () => {
  it("a missing shard output, an output that is the input", async () => {
    const { input } = await job()
    const result = await sluice(["merge", "-o", input, "--input", input, server.path("nope.jsonl")], server.env())
    usageError(result, "the shard output", "nope.jsonl does not exist", "is the --input file")
  })

  it("an existing merged output needs --overwrite, and stays as it was", async () => {
    const { input, output } = await job()
    const part = server.path(`part-${n}.jsonl`)
    await Fs.writeFile(part, "")
    await Fs.writeFile(output, "precious\n")
    const result = await sluice(["merge", "-o", output, "--input", input, part], server.env())
    usageError(result, "already exists; add --overwrite")
    expect(await Fs.readFile(output, "utf8")).toBe("precious\n")
  })

  it("a shard output of another job: exit 1, nothing written", async () => {
    const { input, output } = await job()
    const part = server.path(`other-${n}.jsonl`)
    await Fs.writeFile(
      part,
      `${JSON.stringify({ id: "batch_req_1", custom_id: "someone-else", response: null, error: { code: "x", message: "y" } })}\n`
    )
    const result = await sluice(["merge", "-o", output, "--input", input, part], server.env())
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('custom_id "someone-else" is not in the input')
    expect(await exists(output)).toBe(false)
  })

  it("overlapping shard outputs (a request that ran twice) are refused", async () => {
    const { input, output } = await job()
    const line = JSON.stringify({
      id: "batch_req_1",
      custom_id: "req-1",
      response: { status_code: 200, request_id: "req_1", body: {} },
      error: null
    })
    const [a, b] = [server.path(`a-${n}.jsonl`), server.path(`b-${n}.jsonl`)]
    await Fs.writeFile(a, `${line}\n`)
    await Fs.writeFile(b, `${line}\n`)
    const result = await sluice(["merge", "-o", output, "--input", input, a, b], server.env())
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("the shards overlapped")
    expect(await exists(output)).toBe(false)
  })
})
