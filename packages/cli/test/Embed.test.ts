/**
 * `sluice embed` end to end, as a user runs it (a child process), against the simulator on loopback: 20,000
 * documents with repeats through faults and a token limit, every vector checked against the simulator's function and
 * in input order; `kill -9` in the middle and `--resume` with nothing embedded twice (the simulator's token count
 * is exactly the unique texts'); a rerun with the cache sends no request.
 */
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Embeddings } from "@sluice/simulator"
import { finish, simulator, sluice, start } from "./support.js"

const model = "text-embedding-3-small"
const dimensions = 16
const topics = ["rivers", "locks", "weirs", "gates", "canals", "dams", "floods", "tides"]
/** 20,000 documents, 16,000 distinct texts (every fifth repeats an earlier one). */
const documents = Array.from({ length: 20_000 }, (_, i) => {
  const k = i % 5 === 4 ? Math.floor(i / 2) : i
  return { id: `doc-${i}`, text: `note ${k} on ${topics[k % topics.length]}: ${"water ".repeat(k % 7)}level` }
})
const unique = [...new Set(documents.map((d) => d.text))]
const uniqueTokens = unique.reduce((n, text) => n + Embeddings.inputTokens(text), 0)

let dir = ""
beforeAll(async () => {
  dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "sluice-embed-cli-"))
  await Fs.writeFile(Path.join(dir, "docs.jsonl"), `${documents.map((d) => JSON.stringify(d)).join("\n")}\n`)
})
afterAll(() => Fs.rm(dir, { recursive: true, force: true }))

/** Output lines whose id or vector is not the input's, in order. */
const wrongLines = async (output: string): Promise<number> => {
  const lines = (await Fs.readFile(output, "utf8")).split("\n").filter((line) => line.length > 0)
  expect(lines).toHaveLength(documents.length)
  return lines.filter((line, i) => {
    const { id, embedding } = JSON.parse(line) as { id: string; embedding: Array<number> }
    const expected = Embeddings.embeddingOf(model, documents[i]!.text, dimensions)
    return (
      id !== documents[i]!.id || !Buffer.from(Float32Array.from(embedding).buffer).equals(Buffer.from(expected.buffer))
    )
  }).length
}

const args = (url: string, output: string, ...extra: ReadonlyArray<string>) => [
  "embed",
  Path.join(dir, "docs.jsonl"),
  "-o",
  output,
  "--model",
  model,
  "--dimensions",
  String(dimensions),
  "--base-url",
  url,
  "--cache",
  Path.join(dir, "cache"),
  "--json",
  ...extra
]

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe("sluice embed", () => {
  it("20,000 documents through faults and a token limit; kill -9, --resume, nothing embedded twice; cached rerun sends nothing", {
    timeout: 120_000
  }, async () => {
    const server = await simulator({ tpm: 1_500_000, faults: { rate500: 0.05, rate503: 0.03, rateReset: 0.03 } })
    const env = { OPENAI_API_KEY: "sk-embed-test" }
    const output = Path.join(dir, "vectors.jsonl")

    const child = start(args(server.url, output), env)
    const done = finish(child)
    // Kill when some vectors are written and the simulator has been quiet for 60 ms (nothing in flight).
    let last = -1
    for (;;) {
      await sleep(30)
      const size = await Fs.stat(output).then(
        (s) => s.size,
        () => 0
      )
      const stats = server.stats()
      if (size > 200_000 && stats.inFlight === 0 && stats.successes === last) break
      last = stats.inFlight === 0 ? stats.successes : -1
    }
    child.kill("SIGKILL")
    const killed = await done
    expect(killed.signal).toBe("SIGKILL")
    const partial = (await Fs.readFile(output, "utf8")).split("\n").length - 1
    expect(partial).toBeGreaterThan(0)
    expect(partial).toBeLessThan(documents.length)

    const resumed = await sluice(args(server.url, output, "--resume"), env)
    expect(resumed.code, resumed.stderr).toBe(0)
    const summary = JSON.parse(resumed.stdout)
    expect(summary.skipped).toBeGreaterThanOrEqual(partial - 1)
    expect(summary.pending).toBe(0)
    expect(await wrongLines(output)).toBe(0)
    const stats = server.stats()
    expect(Object.values(stats.faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
    // Each distinct text embedded exactly once over both runs: the simulator's own counts, and its tokens.
    expect(stats.embeddedInputs).toBe(unique.length)
    expect(stats.duplicateEmbeddedInputs).toBe(0)
    expect(stats.promptTokens).toBe(uniqueTokens)

    const requests = stats.requests
    const again = await sluice(args(server.url, Path.join(dir, "again.jsonl")), env)
    expect(again.code, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout)).toMatchObject({ requests_sent: 0, inputs_sent: 0, cache_hits: 20_000 })
    expect(server.stats().requests).toBe(requests)
    expect(await Fs.readFile(Path.join(dir, "again.jsonl"), "utf8")).toBe(await Fs.readFile(output, "utf8"))
  })

  it("f32: a float32 matrix plus an ids file, the same vectors", { timeout: 60_000 }, async () => {
    const server = await simulator({})
    const output = Path.join(dir, "vectors.f32")
    const result = await sluice(
      args(server.url, output, "--format", "f32").map((a) =>
        a === Path.join(dir, "cache") ? Path.join(dir, "cache-f32") : a
      ),
      { OPENAI_API_KEY: "sk-embed-test" }
    )
    expect(result.code, result.stderr).toBe(0)
    const matrix = new Float32Array(new Uint8Array(await Fs.readFile(output)).buffer)
    const ids = (await Fs.readFile(`${output}.ids`, "utf8"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line))
    expect(ids).toEqual(documents.map((d) => d.id))
    expect(matrix.length).toBe(documents.length * dimensions)
    for (const i of [0, 1, 4, 9_999, 19_999]) {
      expect(Array.from(matrix.subarray(i * dimensions, (i + 1) * dimensions))).toEqual(
        Array.from(Embeddings.embeddingOf(model, documents[i]!.text, dimensions))
      )
    }
    // 16,000 distinct texts: 8 full packs at best; a pack is sent early when the reader falls behind.
    expect(server.stats().byPath["POST /v1/embeddings"]).toBeLessThanOrEqual(12)
  })
})
