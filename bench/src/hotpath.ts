/**
 * The hot-path driver (issue #15, decision 0014): only the library-call, SSE-decode and slow-consumer scenarios
 * of `npm run bench`, through the same worker jobs (bench/dist/worker.js), so one of them can be profiled or
 * compared alone. It can run several builds side by side in one run: `--trees /a,/b` forks each tree's own
 * `bench/dist/worker.js` (which resolves that tree's packages), rounds interleaved.
 *
 *   node --expose-gc bench/dist/hotpath.js [--trees A,B] [--reps 3] [--only calls,decode,slow]
 *     [--tokens 1000000] [--scale 1] [--clients undici,sluice-nogates,sluice] [--prof DIR]   (--prof: every worker runs with --cpu-prof into DIR)
 */
import { fork } from "node:child_process"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { Simulator } from "@sluice/simulator"
import { type ClientName, type DecodeResult, type Job, median, type RequestsResult, type SlowResult } from "./common.js"
import { startLongStreamServer } from "./sse.js"

const here = dirname(fileURLToPath(import.meta.url))
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? undefined : process.argv[i + 1]
}
const trees = (arg("trees") ?? resolve(here, "..", "..")).split(",").map((t) => resolve(t))
const reps = Number(arg("reps") ?? "3")
const only = new Set((arg("only") ?? "calls,decode,slow").split(","))
const tokens = Number(arg("tokens") ?? "1000000")
const prof = arg("prof")
const scale = Number(arg("scale") ?? "1")
const clients = (arg("clients") ?? "undici,sluice-nogates,sluice").split(",") as ReadonlyArray<ClientName>

const runWorker = <R>(tree: string, job: Job): Promise<R> =>
  new Promise<R>((done, reject) => {
    const execArgv = ["--expose-gc", ...(prof === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${prof}`])]
    const child = fork(join(tree, "bench", "dist", "worker.js"), [], {
      execArgv,
      stdio: ["ignore", "ignore", "inherit", "ipc"]
    })
    if (prof !== undefined) log(`pid ${child.pid}: ${JSON.stringify(job)}`)
    child.on("message", (message: { ok: boolean; result?: R; error?: string }) =>
      message.ok ? done(message.result!) : reject(new Error(message.error))
    )
    child.once("exit", (code) => (code === 0 ? undefined : reject(new Error(`worker exited with ${code}`))))
    child.send(job)
  })

const samples = new Map<string, Array<number>>()
const push = (key: string, x: number) => samples.set(key, [...(samples.get(key) ?? []), x])
const log = (m: string) => process.stderr.write(`[hotpath] ${m}\n`)

const calls = async (tree: string, url: string) => {
  for (const concurrency of (arg("c") ?? "1,32").split(",").map(Number)) {
    const sizes = concurrency === 1 ? { warmup: 100, n: 300 * scale } : { warmup: 300, n: 1_000 * scale }
    const cpu = new Map<ClientName, number>()
    for (const client of clients) {
      const r = await runWorker<RequestsResult>(tree, {
        _tag: "requests",
        client,
        url,
        ...sizes,
        concurrency,
        pLimit: false,
        handshake: false
      })
      if (r.failed > 0) log(`${client} c=${concurrency}: ${r.failed} failed ${JSON.stringify(r.errors)}`)
      cpu.set(client, r.cpuUs / sizes.n)
      push(`${tree}|${client} c=${concurrency} µs CPU/req`, r.cpuUs / sizes.n)
    }
    for (const client of ["sluice-nogates", "sluice"] as const) {
      if (!cpu.has(client) || !cpu.has("undici")) continue
      push(`${tree}|${client} c=${concurrency} × undici`, cpu.get(client)! / cpu.get("undici")!)
    }
  }
}

const decode = async (tree: string) => {
  const rate = new Map<string, number>()
  for (const decoder of ["sluice-sse", "sluice-chat", "openai-chat"] as const) {
    const r = await runWorker<DecodeResult>(tree, {
      _tag: "decode",
      decoder,
      events: 10_000,
      chunking: "small",
      reps: 3
    })
    rate.set(decoder, median(r.mbPerSec))
    push(`${tree}|decode small ${decoder} MB/s`, median(r.mbPerSec))
  }
  push(`${tree}|decode small sluice-chat × SDK`, rate.get("sluice-chat")! / rate.get("openai-chat")!)
}

const slow = async (tree: string, url: string) => {
  const r = await runWorker<SlowResult>(tree, { _tag: "slow", client: "sluice", url, tokens, sleepEvery: 200 })
  if (!r.ok) log(`slow consumer failed: ${r.error}`)
  push(`${tree}|slow ${tokens} tokens +MB RSS`, r.peakRssMb - r.baselineRssMb)
  push(`${tree}|slow retained heap MB`, r.retainedHeapMb)
  push(`${tree}|slow wall s`, r.wallMs / 1000)
}

const main = async () => {
  const sim = await Simulator.startServer({ rpm: 100_000_000, tpm: 10_000_000_000 })
  const long = await startLongStreamServer()
  try {
    for (let r = 0; r < reps; r++) {
      for (const tree of r % 2 === 0 ? trees : [...trees].reverse()) {
        log(`round ${r + 1}/${reps} ${tree}`)
        if (only.has("calls")) await calls(tree, sim.url)
        if (only.has("decode")) await decode(tree)
        if (only.has("slow")) await slow(tree, long.url)
      }
    }
  } finally {
    await long.close()
    await sim.close()
  }
  const rows = [...samples.keys()].map((k) => k.split("|")[1]!).filter((m, i, xs) => xs.indexOf(m) === i)
  const fmt = (xs: ReadonlyArray<number> | undefined) =>
    xs === undefined ? "–" : `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`
  process.stdout.write(`| measure | ${trees.join(" | ")} |\n|---|${trees.map(() => "---|").join("")}\n`)
  for (const m of rows)
    process.stdout.write(`| ${m} | ${trees.map((t) => fmt(samples.get(`${t}|${m}`))).join(" | ")} |\n`)
}

void main()
