import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Credentials, Gates, OpenAi, OpenAiConfig } from "@sluice/core"
import { Simulator } from "@sluice/simulator"
import { Effect, type FileSystem, Layer } from "effect"
import { Batch, Embed } from "../src/index.js"
import { tempDir as scopedTempDir } from "./support/tempDir.js"

const model = "text-embedding-3-small"
const client = (url: string) =>
  OpenAi.layer.pipe(
    Layer.provideMerge(Batch.layerMeter),
    Layer.provide(Gates.layerDefaults({ modelLifecycle: false })),
    Layer.provide(OpenAiConfig.layer({ baseUrl: url, retry: { baseDelayMs: 20, maxDelayMs: 500 } })),
    Layer.provide(Credentials.static("sk-test")),
    Layer.provideMerge(NodeFileSystem.layer)
  )

const tempDir = scopedTempDir("sluice-embedfile-")

const texts = Array.from({ length: 600 }, (_, i) => `line ${i % 500} of the plain text input`)

const readVectors = (path: string) =>
  Effect.promise(() => Fs.readFile(path, "utf8")).pipe(
    Effect.map((text) =>
      text
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { id: string; embedding: Array<number> })
    )
  )

const expectCorrect = (lines: ReadonlyArray<{ id: string; embedding: Array<number> }>) => {
  expect(lines.map((l) => l.id)).toEqual(texts.map((_, i) => String(i + 1)))
  for (const [i, line] of lines.entries()) {
    expect(line.embedding).toEqual(Array.from(Simulator.embeddingOf(model, texts[i]!, 8)))
  }
}

/** Each test's set-up: a simulator, a temporary directory, the plain-text input written in it, the output's path. */
const setUp = (options: Parameters<typeof Simulator.start>[0] = {}) =>
  Effect.gen(function* () {
    const sim = yield* Simulator.start(options)
    const dir = yield* tempDir
    const input = Path.join(dir, "docs.txt")
    const output = Path.join(dir, "vectors.jsonl")
    yield* Effect.promise(() => Fs.writeFile(input, `${texts.join("\n")}\n`))
    return { sim, dir, input, output }
  })

describe("Embed.runFile", () => {
  it.live("plain text (id = line number), then a resume of a torn output sends only the rest", () =>
    Effect.gen(function* () {
      const { sim, input, output } = yield* setUp()
      const run = (mode: "new" | "resume") =>
        Embed.runFile({ input, output, model, dimensions: 8, mode }).pipe(Effect.provide(client(sim.url)))
      const first = yield* run("new")
      expect(first).toMatchObject({ total: 600, embedded: 600, pending: 0, inputs_sent: 500, stopped: null })
      expectCorrect(yield* readVectors(output))
      // Keep 250 lines and half of the next one (a process killed mid-write).
      const text = yield* Effect.promise(() => Fs.readFile(output, "utf8"))
      const lines = text.split("\n")
      yield* Effect.promise(() =>
        Fs.writeFile(output, `${lines.slice(0, 250).join("\n")}\n${lines[250]!.slice(0, 40)}`)
      )
      const resumed = yield* run("resume")
      expect(resumed).toMatchObject({ skipped: 250, embedded: 350, pending: 0 })
      expectCorrect(yield* readVectors(output))
      // Lines 251-600 hold 350 texts of which 250 are distinct and not repeats of each other's earlier lines.
      expect(resumed.inputs_sent).toBe(new Set(texts.slice(250)).size)
    }).pipe(Effect.scoped)
  )

  it.live("shutdown: nothing more is sent, the output is a clean prefix, resume finishes it", () =>
    Effect.gen(function* () {
      // 30,000 TPM: 500 tokens a second, so 500 distinct texts of ~10 tokens take about 10 s, in packs of 20.
      const { sim, dir, input, output } = yield* setUp({ tpm: 30_000 })
      const withCache = <A, E>(
        run: (cache: Embed.Cache) => Effect.Effect<A, E, OpenAi.OpenAi | FileSystem.FileSystem>
      ) =>
        Effect.scoped(Effect.flatMap(Embed.openCache(Path.join(dir, "cache")), run)).pipe(
          Effect.provide(client(sim.url))
        )
      const stopped = yield* withCache((cache) =>
        Embed.runFile({
          input,
          output,
          model,
          dimensions: 8,
          cache,
          maxInputsPerRequest: 20,
          shutdown: Effect.sleep("2 seconds"),
          gracePeriod: "5 seconds"
        })
      )
      expect(stopped.stopped?.reason).toBe("interrupted")
      expect(stopped.embedded).toBeGreaterThan(0)
      expect(stopped.pending).toBeGreaterThan(0)
      const partial = yield* readVectors(output)
      expect(partial.length).toBe(stopped.embedded)
      expect(partial.map((l) => l.id)).toEqual(texts.slice(0, partial.length).map((_, i) => String(i + 1)))
      yield* sim.update({ tpm: 10_000_000 })
      const resumed = yield* withCache((cache) =>
        Embed.runFile({ input, output, model, dimensions: 8, cache, mode: "resume" })
      )
      expect(resumed).toMatchObject({ skipped: stopped.embedded, pending: 0, stopped: null })
      expectCorrect(yield* readVectors(output))
      // With the cache, nothing the first run embedded is embedded again (written or not).
      expect((yield* sim.stats).duplicateEmbeddedInputs).toBe(0)
      expect((yield* sim.stats).embeddedInputs).toBe(500)
    }).pipe(Effect.scoped)
  )

  it.live("remote: the texts go through the Batch API (files + batches), the output is the same", () =>
    Effect.gen(function* () {
      const { sim, input, output } = yield* setUp()
      const summary = yield* Embed.runFile({
        input,
        output,
        model,
        dimensions: 8,
        remote: true,
        pollInterval: "50 millis",
        maxInputsPerRequest: 200
      }).pipe(Effect.provide(client(sim.url)))
      expect(summary).toMatchObject({ total: 600, embedded: 600, pending: 0, inputs_sent: 500, stopped: null })
      expectCorrect(yield* readVectors(output))
      const stats = yield* sim.stats
      expect(stats.byPath["POST /v1/embeddings"] ?? 0).toBe(0) // nothing sent directly
      expect(stats.byPath["POST /v1/batches"]).toBe(1)
      expect(summary.requests_sent).toBe(3) // 500 texts in packs of 200
    }).pipe(Effect.scoped)
  )
})

describe("the JSONL output line", () => {
  it("is JSON.stringify's, non-finite values included", async () => {
    const { jsonLine } = await import("../src/internal/embed/journal.js")
    const vectors = [
      Float32Array.from({ length: 256 }, (_, i) => Math.sin(i) * 1e-3),
      Float32Array.of(0, -0, 1.5e-45, 3.4e38, -1),
      Float32Array.of(0.5, Number.NaN, Number.POSITIVE_INFINITY)
    ]
    for (const vector of vectors) {
      expect(jsonLine('doc "1"', vector)).toBe(JSON.stringify({ id: 'doc "1"', embedding: Array.from(vector) }))
    }
  })
})
