/**
 * The embeddings bench (issue #17): N documents, a fifth of them repeats, against the simulator with a token
 * limit. The SDK naive (one input per request, p-limit 64), the SDK with manual 2,048-input chunks (p-limit 8),
 * and Sluice (`Embed.runFile`, as `sluice embed`), each in its own process; then Sluice again from its cache.
 * Recorded: requests the simulator answered, wall time against the token-limit minimum (the distinct texts'
 * tokens ÷ the key's TPM), peak RSS. `BENCH_EMBED_ONLY=1 npm run bench` runs only this; `BENCH_EMBED_LARGE=1`
 * adds 1,000,000 documents (Sluice only: the SDK runs hold every vector).
 */
import { execFile } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { Embeddings, Simulator } from "@sluice/simulator"
import * as NodeStart from "@sluice/stream/NodeStart"
import type { EmbedJob, EmbedWorkerResult } from "./embedWorker.js"

const here = Path.dirname(fileURLToPath(import.meta.url))
const model = "text-embedding-3-small"

export interface EmbedPlan {
  /** Documents, and the key's tokens per minute for them. */
  readonly sizes: ReadonlyArray<{ readonly n: number; readonly tpm: number }>
  /** Documents of the sizes for which the SDK runs too (they keep every vector in memory). */
  readonly sdkUpTo: number
  readonly dimensions: number
}

export interface EmbedRow {
  readonly n: number
  readonly client: "naive" | "chunked" | "sluice" | "sluice (cache rerun)"
  readonly requests: number
  readonly rateLimited: number
  readonly wallS: number
  readonly minimumS: number
  readonly maxRssMb: number
  readonly failed: number
}

/** N documents, every fifth a repeat of an earlier one, of 8 to 40 words. */
const writeInput = async (path: string, n: number) => {
  const handle = await Fs.open(path, "w")
  const words = ["river", "lock", "weir", "gate", "canal", "dam", "flood", "tide", "level", "water", "stream", "basin"]
  const texts = new Set<string>()
  let chunk = ""
  for (let i = 0; i < n; i++) {
    // Every fifth document repeats an earlier, original one.
    let k = i % 5 === 4 ? Math.floor(i * 0.618) : i
    if (k % 5 === 4) k--
    let text = `document ${k}:`
    for (let w = 0; w < 8 + (k % 33); w++) text += ` ${words[(k * 31 + w * 7) % words.length]}`
    texts.add(text)
    chunk += `${JSON.stringify({ id: `doc-${i}`, text })}\n`
    if (chunk.length > 1 << 20) {
      await handle.write(chunk)
      chunk = ""
    }
  }
  await handle.write(chunk)
  await handle.close()
  let tokens = 0
  for (const text of texts) tokens += Embeddings.inputTokens(text)
  return { distinct: texts.size, tokens }
}

const runWorker = (job: EmbedJob): Promise<EmbedWorkerResult> =>
  new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        // The SDK runs hold every vector; the Sluice run gets what `sluice embed` starts itself again with.
        ...(job.client === "sluice" ? NodeStart.embed.flags : ["--max-old-space-size=8192"]),
        Path.join(here, "embedWorker.js"),
        JSON.stringify(job)
      ],
      {
        maxBuffer: 1 << 20,
        timeout: 1_800_000,
        // the Sluice run starts as `sluice embed` does (`NodeStart.embed`; a user's own MALLOC_* values kept, as there)
        ...(job.client === "sluice" ? { env: { ...NodeStart.embed.env, ...process.env } } : {})
      },
      (error, stdout) => {
        if (error !== null) reject(error)
        else resolve(JSON.parse(stdout.trim().split("\n").pop()!) as EmbedWorkerResult)
      }
    )
  })

/** One client's run on its own simulator: its row. */
const runClient = async (
  plan: EmbedPlan,
  size: { readonly n: number; readonly tpm: number; readonly minimumS: number },
  files: { readonly dir: string; readonly input: string; readonly cache: string },
  client: EmbedRow["client"]
): Promise<EmbedRow> => {
  const sim = await Simulator.startServer({ tpm: size.tpm, rpm: 10_000_000 })
  try {
    const result = await runWorker({
      client: client === "sluice (cache rerun)" ? "sluice" : client,
      url: sim.url,
      input: files.input,
      output: Path.join(files.dir, `out-${size.n}-${client.split(" ")[0]}.jsonl`),
      cache: files.cache,
      model,
      dimensions: plan.dimensions,
      concurrency: client === "naive" ? 64 : 8
    })
    const stats = sim.stats()
    return {
      n: size.n,
      client,
      requests: stats.byPath["POST /v1/embeddings"] ?? 0,
      rateLimited: stats.byStatus["429"] ?? 0,
      wallS: result.wallMs / 1000,
      minimumS: size.minimumS,
      maxRssMb: result.maxRssMb,
      failed: result.failed
    }
  } finally {
    await sim.close()
  }
}

export const runEmbedBench = async (
  plan: EmbedPlan,
  log: (message: string) => void
): Promise<ReadonlyArray<EmbedRow>> => {
  const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "sluice-bench-embed-"))
  const rows: Array<EmbedRow> = []
  try {
    for (const { n, tpm } of plan.sizes) {
      const input = Path.join(dir, `docs-${n}.jsonl`)
      const { distinct, tokens } = await writeInput(input, n)
      const minimumS = (tokens / tpm) * 60
      log(`embed n=${n}: ${distinct} distinct texts, ${tokens} tokens, ${tpm} TPM → minimum ${minimumS.toFixed(1)} s`)
      const clients: ReadonlyArray<EmbedRow["client"]> =
        n <= plan.sdkUpTo ? ["naive", "chunked", "sluice", "sluice (cache rerun)"] : ["sluice", "sluice (cache rerun)"]
      for (const client of clients) {
        log(`embed n=${n} ${client}`)
        rows.push(
          await runClient(plan, { n, tpm, minimumS }, { dir, input, cache: Path.join(dir, `cache-${n}`) }, client)
        )
        log(`  → ${JSON.stringify(rows[rows.length - 1])}`)
      }
    }
  } finally {
    await Fs.rm(dir, { recursive: true, force: true })
  }
  return rows
}

const f = (x: number, digits = 0) =>
  x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })

const yes = (met: boolean) => (met ? "✅ met" : "❌ missed")

/** The page's headline rows (scenario, measure, Sluice, openai SDK, raw undici, target, met). */
const embedHeadline = (
  sizes: { readonly small: number; readonly large: number },
  naive: EmbedRow,
  sluice: EmbedRow,
  rerun: EmbedRow,
  sluiceLarge: EmbedRow | undefined
): Array<Array<string>> => [
  [
    "#17 embeddings: requests",
    `${f(sizes.small)} docs, a fifth repeats: requests vs the SDK naive`,
    `${f(sluice.requests)} (1/${f(naive.requests / Math.max(1, sluice.requests))})`,
    f(naive.requests),
    "n/a",
    "≤ 1/500 of naive",
    yes(sluice.requests * 500 <= naive.requests)
  ],
  [
    "#17 embeddings: wall",
    "wall ÷ the token-limit minimum",
    `${f(sluice.wallS / sluice.minimumS, 2)}×`,
    `${f(naive.wallS / naive.minimumS, 2)}×`,
    "n/a",
    "≤ 1.2×",
    yes(sluice.wallS <= 1.2 * sluice.minimumS)
  ],
  [
    "#17 embeddings: memory",
    `peak RSS ${f(sizes.small)} → ${f(sizes.large)} docs`,
    `${f(sluice.maxRssMb)} → ${f(sluiceLarge?.maxRssMb ?? Number.NaN)} MB`,
    `${f(naive.maxRssMb)} MB at ${f(sizes.small)}`,
    "n/a",
    "≤ 200 MB, flat",
    yes(
      sluice.maxRssMb <= 200 &&
        (sluiceLarge?.maxRssMb ?? 0) <= 200 &&
        (sluiceLarge === undefined || sluiceLarge.maxRssMb <= sluice.maxRssMb * 1.25)
    )
  ],
  [
    "#17 embeddings: cache rerun",
    "requests on a rerun from the cache",
    f(rerun.requests),
    "n/a",
    "n/a",
    "0",
    yes(rerun.requests === 0)
  ]
]

export const embedMarkdown = (rows: ReadonlyArray<EmbedRow>, plan: EmbedPlan) => {
  const at = (n: number, client: EmbedRow["client"]) => rows.find((r) => r.n === n && r.client === client)
  const sizes = { small: Math.min(...plan.sizes.map((s) => s.n)), large: Math.max(...plan.sizes.map((s) => s.n)) }
  const naive = at(sizes.small, "naive")
  const sluice = at(sizes.small, "sluice")
  const rerun = at(sizes.small, "sluice (cache rerun)")
  const headline =
    naive !== undefined && sluice !== undefined && rerun !== undefined
      ? embedHeadline(sizes, naive, sluice, rerun, at(sizes.large, "sluice"))
      : []
  const section = [
    "## Embeddings at scale (issue #17)",
    "",
    `Documents of 8 to 40 words, every fifth a repeat of an earlier one, \`${model}\` at ${plan.dimensions} dimensions, against the simulator with a token limit (${plan.sizes.map((s) => `${f(s.tpm)} TPM at ${f(s.n)}`).join(", ")}; the minimum is the distinct texts' tokens, as the simulator counts them, ÷ the TPM). Each client in its own process; the SDK runs hold every vector until they write (that is how they are written: the naive way), Sluice writes as it goes. \`sluice (cache rerun)\` is Sluice again on the same input with the cache of the first run.`,
    "",
    "| docs | client | requests | 429s | wall s | minimum s | wall ÷ minimum | peak RSS MB | failed |",
    "|---|---|---|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${f(r.n)} | ${r.client} | ${f(r.requests)} | ${f(r.rateLimited)} | ${f(r.wallS, 1)} | ${f(r.minimumS, 1)} | ${f(r.wallS / r.minimumS, 2)}× | ${f(r.maxRssMb)} | ${f(r.failed)} |`
    ),
    ""
  ]
  return { headline, section }
}
