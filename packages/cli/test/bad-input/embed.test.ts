/**
 * `sluice embed` with bad flags and bad files: exit 1 before anything is sent, a message naming the flag or the line
 * and the value and saying what is allowed, no request, no output created, an existing output unchanged.
 */
import * as Fs from "node:fs/promises"
import { describe, expect, it } from "@effect/vitest"
import { sluice } from "../support.js"
import { exists, quietServer, usageError } from "./cases.js"

const server = quietServer()

let n = 0
const doc = (i: number) => JSON.stringify({ id: `d${i}`, text: `text ${i}` })
/** A fresh input with `lines` and an output path that does not exist yet. */
const job = async (lines: ReadonlyArray<string> = [doc(1), doc(2)]) => {
  const id = ++n
  const input = server.path(`docs-${id}.jsonl`)
  await Fs.writeFile(input, `${lines.join("\n")}\n`)
  return { input, output: server.path(`vectors-${id}.jsonl`) }
}
const embed = (input: string, output: string, ...flags: ReadonlyArray<string>) =>
  sluice(["embed", input, "-o", output, "--model", "text-embedding-3-small", ...flags], server.env())

const flagCases: ReadonlyArray<readonly [string, ReadonlyArray<string>, ReadonlyArray<string>]> = [
  [
    "out-of-range numbers",
    ["--concurrency", "0", "--dimensions", "0", "--tpm", "0", "--budget-usd", "-1", "--max-retries", "101"],
    [
      "--concurrency 0: out of range; expected a whole number from 1 to 1024",
      "--dimensions 0: out of range; expected a whole number from 1 to 65536",
      "--tpm 0: out of range",
      "--budget-usd -1: out of range; expected a number more than 0",
      "--max-retries 101: out of range"
    ]
  ],
  [
    "values that are not numbers",
    ["--dimensions", "256.5", "--concurrency", "many", "--grace-seconds", "ten"],
    [
      "--dimensions 256.5: not a whole number",
      "--concurrency many: not a whole number",
      "--grace-seconds ten: not a number"
    ]
  ],
  [
    "unknown --format and --over-long",
    ["--format", "npy", "--over-long", "drop"],
    ["--format npy: expected one of jsonl, f32", "--over-long drop: expected one of fail, truncate, split"]
  ],
  [
    "combinations",
    ["--resume", "--overwrite", "--remote", "--concurrency", "4"],
    ["--resume and --overwrite exclude each other", "--concurrency 4 has no effect with --remote"]
  ],
  ["an empty --cache", ["--cache", ""], ['--cache "": empty; expected a directory']],
  ["a blank --model", ["--model", " "], ['--model " ": empty']],
  [
    "a --prices file that does not exist",
    ["--prices", "/nonexistent/prices.json"],
    ["--prices /nonexistent/prices.json"]
  ]
]

describe.concurrent("sluice embed: bad flags", { timeout: 120_000 }, () => {
  for (const [name, flags, fragments] of flagCases) {
    it(name, async () => {
      const { input, output } = await job()
      // A second --model is a repeated flag; give the case's own instead of the default one.
      const args = flags.includes("--model")
        ? ["embed", input, "-o", output, ...flags]
        : ["embed", input, "-o", output, "--model", "text-embedding-3-small", ...flags]
      usageError(await sluice(args, server.env()), ...fragments, "Nothing was sent")
      expect(await exists(output)).toBe(false)
      expect(server.requests).toBe(0)
    })
  }

  it("--cache that is a file, -o that is the input", async () => {
    const { input, output } = await job()
    usageError(await embed(input, output, "--cache", input), `--cache ${input}: is a file`)
    usageError(await embed(input, input, "--overwrite"), "is the input file")
    expect(server.requests).toBe(0)
  })

  it("a missing input", async () => {
    const { output } = await job()
    usageError(await embed(server.path("nope.jsonl"), output), "does not exist")
  })
})

describe.concurrent("sluice embed: bad files", { timeout: 120_000 }, () => {
  it("bad lines and a duplicate id: every one named, nothing sent, no output", async () => {
    const { input, output } = await job([
      doc(1),
      "{not json",
      JSON.stringify({ text: "no id" }),
      JSON.stringify({ id: "d1", text: "again" }),
      JSON.stringify({ id: 7, text: "a number" }),
      JSON.stringify({ id: "d9", text: "" }),
      doc(2)
    ])
    const result = await embed(input, output)
    usageError(
      result,
      "5 of 7 lines are invalid; nothing was sent",
      "line 2: (line): not valid JSON",
      "line 3: id: missing",
      'line 4: id: duplicate (first used on line 1) (got "d1")',
      "line 5: id: expected a non-empty string (got 7)",
      'line 6: text: expected a non-empty string (got "")'
    )
    expect(await exists(output)).toBe(false)
    expect(server.requests).toBe(0)
  })

  it("an existing output without --resume or --overwrite is left as it was", async () => {
    const { input, output } = await job()
    await Fs.writeFile(output, "precious\n")
    usageError(await embed(input, output), "already exists", "--resume", "--overwrite")
    expect(await Fs.readFile(output, "utf8")).toBe("precious\n")
    expect(server.requests).toBe(0)
  })

  it("--resume on the output of another input names the line and changes nothing", async () => {
    const { input, output } = await job()
    const foreign = `${JSON.stringify({ id: "other-1", embedding: [0.5, 0.5] })}\n`
    await Fs.writeFile(output, foreign)
    usageError(await embed(input, output, "--resume"), "at line 1", '"other-1"', "another input")
    expect(await Fs.readFile(output, "utf8")).toBe(foreign)
    expect(server.requests).toBe(0)
  })
})
