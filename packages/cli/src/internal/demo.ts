/**
 * `sluice demo` (`npm start`): a 2,000-request job against an embedded simulator with realistic limits and a
 * few percent of faults, run by `sluice batch`'s code path, then the same job with the official `openai` SDK
 * and `p-limit` (the common approach) against a fresh simulator with the same settings; side by side.
 *
 * @internal
 */
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { Simulator } from "@sluice/simulator"
import type { Stats } from "@sluice/simulator/Stats"
import type { Batch } from "@sluice/stream"
import * as Effect from "effect/Effect"
import { runBatch } from "./batch.js"

/** @internal */
export interface DemoFlags {
  readonly requests: number
  readonly compare: boolean
}

const limits = { rpm: 5_000, tpm: 400_000 }

const simulatorConfig = {
  ...limits,
  seed: 11,
  stream: { noSlicing: true },
  latency: { requestMs: 40 },
  faults: { rate500: 0.01, rate503: 0.01, rate502Html: 0.005, rateReset: 0.005, rateTruncatedJson: 0.005 }
}

const topics = ["tides", "volcanoes", "bread", "compilers", "bees", "glaciers", "jazz", "orbits", "paper", "rust"]

/**
 * The sample job: mostly chat completions, every tenth an embedding.
 *
 * @internal
 */
export const sampleJob = (n: number): Array<string> =>
  Array.from({ length: n }, (_, i) =>
    i % 10 === 9
      ? JSON.stringify({
          custom_id: `emb-${i}`,
          method: "POST",
          url: "/v1/embeddings",
          body: { model: "text-embedding-3-small", input: `notes on ${topics[i % topics.length]} #${i}` }
        })
      : JSON.stringify({
          custom_id: `chat-${i}`,
          method: "POST",
          url: "/v1/chat/completions",
          body: {
            model: "gpt-4o-mini",
            messages: [
              { role: "system", content: "Answer in two sentences." },
              { role: "user", content: `Explain ${topics[i % topics.length]} to a curious child (#${i}).` }
            ],
            max_completion_tokens: 48
          }
        })
  )

interface SdkResult {
  readonly succeeded: number
  readonly failed: number
  /** Not started before the time cap. */
  readonly notRun: number
  readonly wallS: number
}

/** The comparison stops starting requests after this long, so the demo ends in about a minute. */
const sdkCapMs = 30_000

/**
 * The comparison's libraries are optional peer dependencies of @sluice/cli (the repository's workspace installs
 * them): loaded only when the demo compares, and when one is missing the demo says so and runs Sluice alone.
 */
const loadSdk = () =>
  Promise.all([import("openai"), import("p-limit")]).then(
    ([{ default: OpenAI }, { default: pLimit }]) => ({ OpenAI, pLimit }),
    (error: unknown) => {
      const missing = ["openai", "p-limit"].filter((name) => String(error).includes(`'${name}'`))
      return `${missing.length > 0 ? missing.join(" and ") : "openai or p-limit"} could not be loaded (${
        error instanceof Error ? error.message.split("\n")[0] : String(error)
      }). They are optional peer dependencies of @sluice/cli, used only for this comparison: \`npm install openai@7.59.0 p-limit@6.2.0\` brings them; --skip-comparison runs Sluice alone.`
    }
  )

type Sdk = Exclude<Awaited<ReturnType<typeof loadSdk>>, string>

/** The common approach: the official SDK (default maxRetries 2) under p-limit(50). */
const runSdk = async ({ OpenAI, pLimit }: Sdk, url: string, lines: ReadonlyArray<string>): Promise<SdkResult> => {
  const client = new OpenAI({ apiKey: "sk-demo", baseURL: url })
  const limit = pLimit(50)
  let succeeded = 0
  let failed = 0
  let notRun = 0
  const started = Date.now()
  const ticker = setInterval(() => {
    process.stderr.write(`openai + p-limit: ${succeeded + failed}/${lines.length} done, ${failed} failed\n`)
  }, 3000)
  await Promise.all(
    lines.map((text) =>
      limit(async () => {
        const line = JSON.parse(text) as { url: string; body: never }
        if (Date.now() - started > sdkCapMs) {
          notRun++
          return
        }
        try {
          if (line.url === "/v1/embeddings") await client.embeddings.create(line.body)
          else await client.chat.completions.create(line.body)
          succeeded++
        } catch {
          failed++
        }
      })
    )
  )
  clearInterval(ticker)
  return { succeeded, failed, notRun, wallS: (Date.now() - started) / 1000 }
}

const pad = (text: string, width: number) => text.padEnd(width)

/** The job, written to a new temporary directory, and where its results go. */
const writeJob = (requests: number) =>
  Effect.promise(async () => {
    const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "sluice-demo-"))
    const input = Path.join(dir, "requests.jsonl")
    const lines = sampleJob(requests)
    await Fs.writeFile(input, `${lines.join("\n")}\n`)
    return { input, output: Path.join(dir, "results.jsonl"), lines }
  })

const intro = (input: string, output: string, requests: number) =>
  Effect.sync(() => {
    const faultPct = Object.values(simulatorConfig.faults).reduce((a, b) => a + b, 0) * 100
    process.stdout.write(
      `Sluice demo: ${requests} requests against a simulated OpenAI API with ${limits.rpm} RPM, ` +
        `${limits.tpm / 1000}k TPM and ${faultPct.toFixed(0)} % injected faults (500, 503, 502 HTML, resets, truncated bodies).\n` +
        `Job: ${input}\n\n1) sluice batch ${input} -o ${output} --concurrency 64\n`
    )
  })

/** The job through `sluice batch`'s code path against a fresh simulator, and what the simulator saw. */
const runSluice = (input: string, output: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const sim = yield* Simulator.start(simulatorConfig)
      const result = yield* runBatch({
        input,
        output,
        baseUrl: sim.url,
        staticKey: "sk-demo",
        concurrency: 64,
        resume: false,
        overwrite: true,
        retryFailed: false,
        remote: false,
        json: false
      })
      return { result, stats: yield* sim.stats }
    })
  )

interface SdkRun {
  readonly result: SdkResult
  readonly stats: Stats
}

/** The same job with the SDK and p-limit against another fresh simulator; `undefined` when skipped. */
const runComparison = (compare: boolean, lines: ReadonlyArray<string>): Effect.Effect<SdkRun | undefined> =>
  Effect.gen(function* () {
    const loaded = compare ? yield* Effect.promise(loadSdk) : undefined
    if (loaded === undefined) return undefined
    if (typeof loaded === "string") {
      process.stdout.write(`\n2) the side-by-side run with the official SDK is skipped: ${loaded}\n`)
      return undefined
    }
    process.stdout.write(
      `\n2) the same job with the official openai SDK (maxRetries 2) + p-limit(50), fresh simulator, same settings; no new requests after ${sdkCapMs / 1000} s\n`
    )
    return yield* Effect.scoped(
      Effect.gen(function* () {
        const sim = yield* Simulator.start(simulatorConfig)
        const result = yield* Effect.promise(() => runSdk(loaded, sim.url, lines))
        return { result, stats: yield* sim.stats }
      })
    )
  })

/** The side-by-side rows: what, Sluice's figure, the SDK's (empty without a comparison). */
const rows = (
  summary: Batch.Summary,
  sluice: Stats,
  sdk: SdkRun | undefined,
  total: number
): Array<readonly [string, string, string]> => {
  const other = (figure: (run: SdkRun) => string) => (sdk === undefined ? "" : figure(sdk))
  const notRun = (run: SdkRun) => `${run.result.notRun}${run.result.notRun > 0 ? ` (cap ${sdkCapMs / 1000} s)` : ""}`
  return [
    ["succeeded", `${summary.succeeded}/${summary.total}`, other((run) => `${run.result.succeeded}/${total}`)],
    ["failed", String(summary.failed), other((run) => String(run.result.failed))],
    ["not run (time cap)", String(summary.pending), other(notRun)],
    ["HTTP requests sent", String(sluice.requests), other((run) => String(run.stats.requests))],
    ["429s from the server", String(sluice.rateLimited), other((run) => String(run.stats.rateLimited))],
    ["double-billed retries", String(sluice.duplicateSuccesses), other((run) => String(run.stats.duplicateSuccesses))],
    ["wall time", `${summary.wall_s.toFixed(1)} s`, other((run) => `${run.result.wallS.toFixed(1)} s`)],
    ["spend (simulated)", `$${sluice.costUsd.toFixed(4)}`, other((run) => `$${run.stats.costUsd.toFixed(4)}`)]
  ]
}

const table = (lines: ReadonlyArray<readonly [string, string, string]>, compared: boolean, output: string) =>
  Effect.sync(() => {
    process.stdout.write(`\n${pad("", 24)}${pad("sluice", 16)}${compared ? "openai + p-limit" : ""}\n`)
    for (const [name, a, b] of lines) process.stdout.write(`${pad(name, 24)}${pad(a, 16)}${b}\n`)
    process.stdout.write(
      `\nResults: ${output} (OpenAI Batch output format). Try: kill it half-way and add --resume; or --budget-usd 0.001.\n`
    )
  })

/** @internal */
export const demo = (flags: DemoFlags): Effect.Effect<number> =>
  Effect.gen(function* () {
    const { input, output, lines } = yield* writeJob(flags.requests)
    yield* intro(input, output, lines.length)
    const sluice = yield* runSluice(input, output)
    if (sluice.result.summary === undefined) return sluice.result.code
    const sdk = yield* runComparison(flags.compare, lines)
    yield* table(rows(sluice.result.summary, sluice.stats, sdk, lines.length), sdk !== undefined, output)
    return sluice.result.code
  })
