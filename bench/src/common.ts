/**
 * Shared pieces of the benchmark: the request body, job/result messages between the runner and its
 * workers, and small statistics helpers.
 */

export const model = "gpt-4o-mini"
export const apiKey = "sk-bench-0000000000000000"
export const maxTokens = 64

/** A fixed-length prompt (so every request costs the same number of tokens at admission). */
export const prompt = (i: number): string =>
  `Write one short sentence about request number ${String(i).padStart(8, "0")}.`

export const chatBody = (i: number) => ({
  model,
  messages: [{ role: "user" as const, content: prompt(i) }],
  max_tokens: maxTokens
})

/** Tokens the simulator charges at admission for `chatBody(i)`: 3 + (3 + ⌈len/4⌉) per message + max_tokens. */
export const admissionTokens = (): number => 3 + 3 + Math.ceil(prompt(0).length / 4) + maxTokens

export type ClientName = "sluice" | "sluice-nogates" | "openai" | "openai-r10" | "undici"

export const clientLabel: Record<ClientName, string> = {
  sluice: "Sluice (all gates)",
  "sluice-nogates": "Sluice (Gates.none)",
  openai: "openai SDK (maxRetries 2)",
  "openai-r10": "openai SDK (maxRetries 10)",
  undici: "raw undici"
}

export interface RequestsJob {
  readonly _tag: "requests"
  readonly client: ClientName
  readonly url: string
  readonly warmup: number
  readonly n: number
  readonly concurrency: number
  /** Use p-limit for the SDK (the goodput scenario); otherwise a plain worker pool. */
  readonly pLimit: boolean
  /** After the warm-up, send `"ready"` and wait for `"go"` (so the runner can reset the simulator in between). */
  readonly handshake: boolean
}

export interface RequestsResult {
  readonly wallMs: number
  readonly cpuUs: number
  readonly ok: number
  readonly failed: number
  readonly errors: Record<string, number>
  readonly maxRssMb: number
  readonly baselineRssMb: number
  readonly peakSampledRssMb: number
  /** Heap still in use after the run and a full GC, with the client still open: what the client retains. */
  readonly heapAfterGcMb: number
}

/** The decoders compared, plus two baselines that only read the bytes (no decoding). */
export type Decoder = "sluice-sse" | "sluice-chat" | "openai-sse" | "openai-chat" | "effect-read" | "web-read"

export interface DecodeJob {
  readonly _tag: "decode"
  readonly decoder: Decoder
  readonly events: number
  readonly chunking: "small" | "large"
  readonly reps: number
}

export interface DecodeResult {
  readonly bytes: number
  readonly items: number
  readonly mbPerSec: ReadonlyArray<number>
}

export interface SlowJob {
  readonly _tag: "slow"
  readonly client: "sluice" | "openai"
  readonly url: string
  readonly tokens: number
  /** The consumer sleeps 1 ms after every `sleepEvery` chunks. */
  readonly sleepEvery: number
}

export interface SlowResult {
  readonly baselineRssMb: number
  readonly peakRssMb: number
  readonly chunks: number
  readonly wallMs: number
  readonly ok: boolean
  readonly error: string | undefined
  /**
   * A second, probing pass over a fifth of the tokens with a full GC every `probeEvery` chunks: the largest
   * heap still in use after a GC, minus the heap after GC before the stream. What the client really holds
   * (as opposed to garbage not yet collected).
   */
  readonly retainedHeapMb: number
}

export type Job = RequestsJob | DecodeJob | SlowJob
export type Result = RequestsResult | DecodeResult | SlowResult

export const mb = (bytes: number): number => bytes / (1024 * 1024)

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export const median = (xs: ReadonlyArray<number>): number => {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

export const spread = (xs: ReadonlyArray<number>): { readonly min: number; readonly max: number } => ({
  min: Math.min(...xs),
  max: Math.max(...xs)
})

/** Samples RSS every `everyMs` until stopped; returns the peak in MB. */
export const rssSampler = (everyMs = 20) => {
  let peak = process.memoryUsage.rss()
  const timer = setInterval(() => {
    const rss = process.memoryUsage.rss()
    if (rss > peak) peak = rss
  }, everyMs)
  timer.unref()
  return {
    reset: () => {
      peak = process.memoryUsage.rss()
    },
    stop: () => {
      clearInterval(timer)
      const rss = process.memoryUsage.rss()
      return mb(Math.max(peak, rss))
    }
  }
}

/** A markdown page being written: `p` adds a line (blank by default), `table` a table and the blank line after it. */
export const markdown = () => {
  const lines: Array<string> = []
  const p = (line = "") => {
    lines.push(line)
  }
  const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) => {
    p(`| ${header.join(" | ")} |`)
    p(`|${header.map(() => "---").join("|")}|`)
    for (const row of rows) p(`| ${row.join(" | ")} |`)
    p()
  }
  return { lines, p, table }
}
