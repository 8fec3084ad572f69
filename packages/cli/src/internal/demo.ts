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
import { Effect } from "effect"
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
      }). They are optional peer dependencies of @sluice/cli, used only for this comparison: \`npm install openai@6.49.0 p-limit@6.2.0\` brings them; --skip-comparison runs Sluice alone.`
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

/** @internal */
export const demo = (flags: DemoFlags): Effect.Effect<number> =>
  Effect.gen(function* () {
    const dir = yield* Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "sluice-demo-")))
    const input = Path.join(dir, "requests.jsonl")
    const output = Path.join(dir, "results.jsonl")
    const lines = sampleJob(flags.requests)
    yield* Effect.promise(() => Fs.writeFile(input, `${lines.join("\n")}\n`))
    const faultPct = Object.values(simulatorConfig.faults).reduce((a, b) => a + b, 0) * 100
    process.stdout.write(
      `Sluice demo: ${lines.length} requests against a simulated OpenAI API with ${limits.rpm} RPM, ` +
        `${limits.tpm / 1000}k TPM and ${faultPct.toFixed(0)} % injected faults (500, 503, 502 HTML, resets, truncated bodies).\n` +
        `Job: ${input}\n\n1) sluice batch ${input} -o ${output} --concurrency 64\n`
    )
    const sluice = yield* Effect.scoped(
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
    if (sluice.result.summary === undefined) return sluice.result.code
    let sdk: { readonly result: SdkResult; readonly stats: Stats } | undefined
    const loaded = flags.compare ? yield* Effect.promise(loadSdk) : undefined
    if (typeof loaded === "string")
      process.stdout.write(`\n2) the side-by-side run with the official SDK is skipped: ${loaded}\n`)
    if (loaded !== undefined && typeof loaded !== "string") {
      process.stdout.write(
        `\n2) the same job with the official openai SDK (maxRetries 2) + p-limit(50), fresh simulator, same settings; no new requests after ${sdkCapMs / 1000} s\n`
      )
      sdk = yield* Effect.scoped(
        Effect.gen(function* () {
          const sim = yield* Simulator.start(simulatorConfig)
          const result = yield* Effect.promise(() => runSdk(loaded, sim.url, lines))
          return { result, stats: yield* sim.stats }
        })
      )
    }
    const s = sluice.result.summary
    const rows: Array<[string, string, string]> = [
      ["succeeded", `${s.succeeded}/${s.total}`, sdk === undefined ? "" : `${sdk.result.succeeded}/${lines.length}`],
      ["failed", String(s.failed), sdk === undefined ? "" : String(sdk.result.failed)],
      [
        "not run (time cap)",
        String(s.pending),
        sdk === undefined ? "" : `${sdk.result.notRun}${sdk.result.notRun > 0 ? ` (cap ${sdkCapMs / 1000} s)` : ""}`
      ],
      ["HTTP requests sent", String(sluice.stats.requests), sdk === undefined ? "" : String(sdk.stats.requests)],
      [
        "429s from the server",
        String(sluice.stats.rateLimited),
        sdk === undefined ? "" : String(sdk.stats.rateLimited)
      ],
      [
        "double-billed retries",
        String(sluice.stats.duplicateSuccesses),
        sdk === undefined ? "" : String(sdk.stats.duplicateSuccesses)
      ],
      ["wall time", `${s.wall_s.toFixed(1)} s`, sdk === undefined ? "" : `${sdk.result.wallS.toFixed(1)} s`],
      [
        "spend (simulated)",
        `$${sluice.stats.costUsd.toFixed(4)}`,
        sdk === undefined ? "" : `$${sdk.stats.costUsd.toFixed(4)}`
      ]
    ]
    process.stdout.write(`\n${pad("", 24)}${pad("sluice", 16)}${sdk === undefined ? "" : "openai + p-limit"}\n`)
    for (const [name, a, b] of rows) process.stdout.write(`${pad(name, 24)}${pad(a, 16)}${b}\n`)
    process.stdout.write(
      `\nResults: ${output} (OpenAI Batch output format). Try: kill it half-way and add --resume; or --budget-usd 0.001.\n`
    )
    return sluice.result.code
  })
