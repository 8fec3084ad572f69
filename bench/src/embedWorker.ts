/**
 * The embeddings bench's worker: one client per process (peak RSS is its own). Argument: a JSON job.
 * Prints one JSON result line on stdout.
 *
 * - `naive`: the SDK, one input per request under p-limit, every vector kept until the end, then written.
 * - `chunked`: the SDK with manual 2,048-input chunks under p-limit, the same.
 * - `sluice`: `Embed.runFile` (what `sluice embed` runs), with the default gates and a cache directory, started
 *   (embed.ts) with the V8 and malloc sizing `sluice embed` starts itself again with (packages/cli/src/internal/
 *   heap.ts `starts.embed`: its V8 flags, `MALLOC_ARENA_MAX` and `MALLOC_MMAP_THRESHOLD_`). Until session 4 this worker passed the CLI's then run-time flag
 *   `--semi-space-growth-factor=1` on its command line, where it did not hold (the young generation still grew to
 *   128 MB): 416-445 MB peak RSS at 100,000 documents against 340 MB with the flag set at run time, which is why
 *   it peaked higher than the CLI (decision 0013, "Memory").
 *
 * Each client's modules are loaded only by its own run (the Sluice row loads neither openai nor p-limit).
 */
import * as Fs from "node:fs"
import * as Readline from "node:readline"

export interface EmbedJob {
  readonly client: "naive" | "chunked" | "sluice"
  readonly url: string
  readonly input: string
  readonly output: string
  readonly cache: string
  readonly model: string
  readonly dimensions: number
  readonly concurrency: number
}

export interface EmbedWorkerResult {
  readonly wallMs: number
  readonly maxRssMb: number
  /** Peaks sampled every 20 ms: the JS heap in use, and memory outside it (buffers, typed arrays). */
  readonly heapUsedMb: number
  readonly externalMb: number
  readonly failed: number
}

const readDocs = async (path: string) => {
  const docs: Array<{ id: string; text: string }> = []
  for await (const line of Readline.createInterface({
    input: Fs.createReadStream(path, "utf8"),
    crlfDelay: Infinity
  })) {
    if (line.trim() !== "") docs.push(JSON.parse(line))
  }
  return docs
}

const writeAll = (
  path: string,
  docs: ReadonlyArray<{ id: string }>,
  vectors: ReadonlyArray<ReadonlyArray<number> | undefined>
) => {
  const out = Fs.createWriteStream(path)
  for (const [i, doc] of docs.entries()) out.write(`${JSON.stringify({ id: doc.id, embedding: vectors[i] ?? null })}\n`)
  return new Promise<void>((resolve) => out.end(resolve))
}

const sdk = async (job: EmbedJob) => {
  const [{ default: OpenAI }, { default: pLimit }] = await Promise.all([import("openai"), import("p-limit")])
  return {
    client: new OpenAI({ apiKey: "sk-bench", baseURL: job.url, maxRetries: 10 }),
    limit: pLimit(job.concurrency)
  }
}

const naive = async (job: EmbedJob) => {
  const { client, limit } = await sdk(job)
  const docs = await readDocs(job.input)
  let failed = 0
  const vectors = await Promise.all(
    docs.map((doc) =>
      limit(() =>
        client.embeddings
          .create({ model: job.model, input: doc.text, dimensions: job.dimensions })
          .then((r) => r.data[0]?.embedding)
          .catch(() => {
            failed++
            return undefined
          })
      )
    )
  )
  await writeAll(job.output, docs, vectors)
  return failed
}

const chunked = async (job: EmbedJob) => {
  const { client, limit } = await sdk(job)
  const docs = await readDocs(job.input)
  const chunks: Array<Array<{ id: string; text: string }>> = []
  for (let i = 0; i < docs.length; i += 2048) chunks.push(docs.slice(i, i + 2048))
  let failed = 0
  const results = await Promise.all(
    chunks.map((chunk) =>
      limit(() =>
        client.embeddings
          .create({ model: job.model, input: chunk.map((d) => d.text), dimensions: job.dimensions })
          .then((r) => r.data.map((d) => d.embedding))
          .catch(() => {
            failed += chunk.length
            return chunk.map(() => undefined)
          })
      )
    )
  )
  await writeAll(job.output, docs, results.flat())
  return failed
}

const sluice = async (job: EmbedJob) => {
  const [{ Credentials, Gates, OpenAi, OpenAiConfig }, { Batch, Embed }, { Effect, Layer }, NodeFileSystem] =
    await Promise.all([
      import("@sluice/core"),
      import("@sluice/stream"),
      import("effect"),
      import("@effect/platform-node/NodeFileSystem")
    ])
  const client = OpenAi.layer.pipe(
    Layer.provideMerge(Batch.layerMeter),
    Layer.provide(Gates.layerDefaults({ concurrency: { permits: 64 } })),
    Layer.provide(OpenAiConfig.layer({ baseUrl: job.url })),
    Layer.provide(Credentials.static("sk-bench")),
    Layer.provideMerge(NodeFileSystem.layer)
  )
  const program = Effect.scoped(
    Effect.flatMap(Embed.openCache(job.cache), (cache) =>
      Embed.runFile({
        input: job.input,
        output: job.output,
        mode: "overwrite",
        model: job.model,
        dimensions: job.dimensions,
        cache,
        concurrency: job.concurrency,
        ...(process.env["EMBED_WINDOW"] === undefined ? {} : { window: Number(process.env["EMBED_WINDOW"]) })
      })
    )
  )
  const summary = await Effect.runPromise(Effect.provide(program, client))
  return summary.pending
}

const main = async () => {
  const job = JSON.parse(process.argv[2]!) as EmbedJob
  const peak = { heapUsed: 0, external: 0 }
  const sampler = setInterval(() => {
    const m = process.memoryUsage()
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed)
    peak.external = Math.max(peak.external, m.external)
  }, 20)
  const started = performance.now()
  const failed = await (job.client === "naive" ? naive(job) : job.client === "chunked" ? chunked(job) : sluice(job))
  const result: EmbedWorkerResult = {
    wallMs: performance.now() - started,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    heapUsedMb: peak.heapUsed / 1e6,
    externalMb: peak.external / 1e6,
    failed
  }
  clearInterval(sampler)
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

void main()
