/**
 * `sluice batch` with bad flags and bad files: exit 1 before anything starts, a message naming the flag and the
 * value and saying what is allowed, no request sent, no output created, an existing output unchanged.
 */
import * as Fs from "node:fs/promises"
import { describe, expect, it } from "@effect/vitest"
import { sluice } from "../support.js"
import { chatLine, exists, key, quietServer, usageError } from "./cases.js"

const server = quietServer()

let n = 0
/** A fresh input with `lines` and an output path that does not exist yet. */
const job = async (lines = [chatLine(1), chatLine(2)]) => {
  const id = ++n
  const input = server.path(`in-${id}.jsonl`)
  await Fs.writeFile(input, `${lines.join("\n")}\n`)
  return { input, output: server.path(`out-${id}.jsonl`) }
}

// Every problem of a command line is reported at once, one line each, so one run checks several flags: each case
// lists the flags it passes and the fragments the message must hold for each of them.
const flagCases: ReadonlyArray<readonly [string, ReadonlyArray<string>, ReadonlyArray<string>]> = [
  [
    "zero and negative limits",
    [
      "--concurrency",
      "0",
      "--rpm",
      "0",
      "--tpm",
      "0",
      "--budget-usd",
      "-1",
      "--max-retries",
      "-1",
      "--grace-seconds",
      "-1"
    ],
    [
      "--concurrency 0: out of range; expected a whole number from 1 to 10000",
      "--rpm 0: out of range; expected a whole number from 1",
      "--tpm 0: out of range",
      "--budget-usd -1: out of range; expected a number more than 0",
      "--max-retries -1: out of range; expected a whole number from 0 to 100",
      "--grace-seconds -1: out of range; expected a number at least 0"
    ]
  ],
  [
    "more out-of-range values",
    ["--concurrency", "-3", "--rpm", "-5", "--budget-usd", "0", "--max-retries", "101"],
    ["--concurrency -3", "--rpm -5", "--budget-usd 0: out of range", "--max-retries 101"]
  ],
  [
    "values that are not numbers",
    ["--concurrency", "1.5", "--tpm", "1e5", "--budget-usd", "Infinity", "--grace-seconds", "ten", "--rpm", "lots"],
    [
      "--concurrency 1.5: not a whole number",
      "--tpm 1e5: not a whole number",
      "--budget-usd Infinity: not a number",
      "--grace-seconds ten: not a number",
      "--rpm lots: not a whole number"
    ]
  ],
  [
    "combinations",
    ["--resume", "--overwrite", "--report", ""],
    ["--resume and --overwrite exclude each other", '--report "": empty']
  ],
  ["--retry-failed without --resume", ["--retry-failed"], ["--retry-failed needs --resume"]],
  [
    "--remote with flags it would ignore",
    ["--remote", "--concurrency", "4", "--grace-seconds", "5"],
    ["--concurrency 4 has no effect with --remote", "--grace-seconds 5 has no effect with --remote"]
  ],
  [
    "plain http to another host names --allow-insecure",
    ["--base-url", "http://api.example.com/v1", "--api-key-file", "/nonexistent/key"],
    ["--base-url http://api.example.com/v1", "--allow-insecure", "--api-key-file /nonexistent/key", "ENOENT"]
  ],
  [
    "a base URL that is not one",
    ["--base-url", "not a url", "--report", "/nonexistent/dir/report.html"],
    ['--base-url "not a url": not a URL', "--report /nonexistent/dir/report.html", "does not exist"]
  ],
  ["a base URL of another scheme", ["--base-url", "ftp://127.0.0.1/v1"], ["--base-url ftp://127.0.0.1/v1", "ftp:"]],
  [
    "a repeated flag",
    ["--concurrency", "50", "--concurrency", "200"],
    ["--concurrency is given 2 times (50, 200)", "give it once"]
  ]
]

describe.concurrent("sluice batch: bad flags", { timeout: 120_000 }, () => {
  for (const [name, flags, fragments] of flagCases) {
    it(name, async () => {
      const { input, output } = await job()
      const result = await sluice(["batch", input, "-o", output, ...flags], server.env())
      usageError(result, ...fragments, "Nothing was sent")
      expect(await exists(output)).toBe(false)
      expect(server.requests).toBe(0)
    })
  }

  it("a bad flag with --overwrite leaves an existing output as it was", async () => {
    const { input, output } = await job()
    await Fs.writeFile(output, "precious\n")
    const result = await sluice(["batch", input, "-o", output, "--overwrite", "--concurrency", "0"], server.env())
    usageError(result, "--concurrency 0")
    expect(await Fs.readFile(output, "utf8")).toBe("precious\n")
    expect(server.requests).toBe(0)
  })

  it("--allow-insecure lets plain http to another host through the URL check", async () => {
    const { input, output } = await job()
    const result = await sluice(
      ["batch", input, "-o", output, "--allow-insecure", "--base-url", "http://192.0.2.1:9/v1", "--concurrency", "0"],
      server.env()
    )
    usageError(result, "--concurrency 0")
    expect(result.stderr).not.toContain("--base-url")
  })
})

describe.concurrent("sluice batch: bad files", { timeout: 120_000 }, () => {
  it("an empty input: no requests, not '1 of 0 lines are invalid'", async () => {
    const { input, output } = await job([])
    await Fs.writeFile(input, "")
    const result = await sluice(["batch", input, "-o", output], server.env())
    usageError(result, `the input ${input} has no requests`)
    expect(result.stderr).not.toContain("of 0 lines")
    expect(await exists(output)).toBe(false)
    // blank lines and spaces only: the same
    await Fs.writeFile(input, "\n   \n\n")
    usageError(await sluice(["batch", input, "-o", output], server.env()), "has no requests")
  })

  it("a missing input, and a directory as input", async () => {
    const { output } = await job()
    const missing = await sluice(["batch", server.path("nope.jsonl"), "-o", output], server.env())
    usageError(missing, `${server.path("nope.jsonl")} does not exist`)
    const directory = await sluice(["batch", server.path(""), "-o", output], server.env())
    usageError(directory, "is a directory")
    expect(await exists(output)).toBe(false)
  })

  it("-o equal to the input (also through another spelling of the path): the requests are untouched", async () => {
    const { input } = await job()
    const before = await Fs.readFile(input, "utf8")
    for (const output of [input, input.replace(/\/([^/]+)$/, "/./$1")]) {
      const result = await sluice(["batch", input, "-o", output, "--overwrite"], server.env())
      usageError(result, "is the input file")
    }
    expect(await Fs.readFile(input, "utf8")).toBe(before)
    expect(server.requests).toBe(0)
  })

  it("-o in a directory that does not exist, and -o that is a directory", async () => {
    const { input } = await job()
    const missingDir = await sluice(["batch", input, "-o", server.path("no/such/dir/out.jsonl")], server.env())
    usageError(missingDir, "does not exist; create it first")
    const isDir = await sluice(["batch", input, "-o", server.path("")], server.env())
    usageError(isDir, "is a directory")
  })

  it("--report equal to the output or the input", async () => {
    const { input, output } = await job()
    const same = await sluice(["batch", input, "-o", output, "--report", output], server.env())
    usageError(same, `--report ${output} is -o/--output`)
    const onInput = await sluice(["batch", input, "-o", output, "--report", input], server.env())
    usageError(onInput, "is the input file")
    expect(await exists(output)).toBe(false)
  })

  it("an empty --api-key-file, and no key at all", async () => {
    const { input, output } = await job()
    const keyFile = server.path(`key-${++n}`)
    await Fs.writeFile(keyFile, "\n")
    const empty = await sluice(["batch", input, "-o", output, "--api-key-file", keyFile], {
      OPENAI_BASE_URL: server.url
    })
    usageError(empty, `--api-key-file ${keyFile}`, "empty")
    const none = await sluice(["batch", input, "-o", output], { OPENAI_BASE_URL: server.url })
    usageError(none, "OPENAI_API_KEY", "--api-key-file")
    expect(await exists(output)).toBe(false)
    expect(server.requests).toBe(0)
  })

  it("a key passed where a key file belongs, or repeated, is never printed", async () => {
    const { input, output } = await job()
    const asFile = await sluice(["batch", input, "-o", output, "--api-key-file", key], { OPENAI_BASE_URL: server.url })
    usageError(asFile, "--api-key-file (a value that looks like an API key, not shown)", "not the key itself")
    const twice = await sluice(["batch", input, "-o", output, "--api-key-file", key, "--api-key-file", key], {
      OPENAI_BASE_URL: server.url
    })
    usageError(twice, "--api-key-file is given 2 times", "not shown")
    expect(await exists(output)).toBe(false)
    expect(server.requests).toBe(0)
  })

  it("OPENAI_BASE_URL that is not a URL is named as the variable", async () => {
    const { input, output } = await job()
    const result = await sluice(["batch", input, "-o", output], server.env({ OPENAI_BASE_URL: "localhost:8080" }))
    usageError(result, "OPENAI_BASE_URL=localhost:8080")
  })
})
