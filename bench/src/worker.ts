/**
 * A benchmark worker: one client in its own process, so that CPU time and peak RSS belong to that client alone.
 * Receives one job over IPC, runs it, sends the result and exits.
 */
import { makeRunner } from "./clients.js"
import {
  apiKey,
  type DecodeJob,
  type DecodeResult,
  type Job,
  mb,
  model,
  type RequestsJob,
  type RequestsResult,
  type Result,
  rssSampler,
  type SlowJob,
  type SlowResult,
  sleep
} from "./common.js"

const gc = (): void => {
  const collect = (globalThis as { gc?: () => void }).gc
  if (collect !== undefined) {
    collect()
    collect()
  }
}

const runRequests = async (job: RequestsJob): Promise<RequestsResult> => {
  const runner = await makeRunner(job.client, job.url, job.pLimit)
  if (job.warmup > 0) await runner.run(1_000_000_000, job.warmup, job.concurrency)
  if (job.handshake) {
    const go = new Promise<void>((resolve) => process.once("message", () => resolve()))
    process.send!("ready")
    await go
  }
  gc()
  const baselineRssMb = mb(process.memoryUsage.rss())
  const sampler = rssSampler(50)
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const outcome = await runner.run(0, job.n, job.concurrency)
  const wallMs = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  const peakSampledRssMb = sampler.stop()
  gc()
  const heapAfterGcMb = mb(process.memoryUsage().heapUsed)
  await runner.close()
  return {
    wallMs,
    cpuUs: cpu.user + cpu.system,
    ok: outcome.ok,
    failed: outcome.failed,
    errors: outcome.errors,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    baselineRssMb,
    peakSampledRssMb,
    heapAfterGcMb
  }
}

const runDecode = async (job: DecodeJob): Promise<DecodeResult> => {
  const { corpus, cut, decodeOnce } = await import("./sse.js")
  const bytes = corpus(job.events)
  const chunks = cut(bytes, job.chunking)
  const items = await decodeOnce(job.decoder, chunks)
  const mbPerSec: Array<number> = []
  for (let r = 0; r < job.reps; r++) {
    gc()
    // MB per CPU second (user+sys of this process), not per wall second: on a shared machine the wall time of a
    // pass includes waiting for a core (2–3× the CPU time at a load of 12–19, decision 0014, streamperf section).
    const t0 = process.cpuUsage()
    const n = await decodeOnce(job.decoder, chunks)
    const used = process.cpuUsage(t0)
    const seconds = (used.user + used.system) / 1e6
    if (n !== items) throw new Error(`decoder ${job.decoder} saw ${n} items, then ${items}`)
    mbPerSec.push(mb(bytes.length) / seconds)
  }
  return { bytes: bytes.length, items, mbPerSec }
}

const slowBody = (tokens: number) => ({
  model,
  messages: [{ role: "user" as const, content: `Count to tokens:${tokens} please.` }],
  max_tokens: tokens + 10
})

const runSlow = async (job: SlowJob): Promise<SlowResult> => {
  // `onChunk` runs after every chunk (the probe uses it to force GCs)
  let consume: (tokens: number, onChunk?: (n: number) => void) => Promise<number>
  let close: () => Promise<void> = async () => {}
  if (job.client === "openai") {
    const { default: OpenAI } = await import("openai")
    const client = new OpenAI({ baseURL: job.url, apiKey })
    consume = async (tokens, onChunk) => {
      let n = 0
      const stream = await client.chat.completions.create({ ...slowBody(tokens), stream: true })
      for await (const _ of stream) {
        onChunk?.(n + 1)
        if (++n % job.sleepEvery === 0) await sleep(1)
      }
      return n
    }
  } else {
    const { Effect, ManagedRuntime, Stream } = await import("effect")
    const { OpenAi } = await import("@sluice/core/OpenAi")
    const ChatStream = await import("@sluice/stream/ChatStream")
    const { sluiceLayer } = await import("./clientSluice.js")
    const runtime = ManagedRuntime.make(sluiceLayer(job.url, false, 4))
    close = () => runtime.dispose()
    consume = (tokens, onChunk) =>
      runtime.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const client = yield* OpenAi
            const response = yield* client.chat.completions.streamBytes(slowBody(tokens))
            let n = 0
            yield* ChatStream.fromBytes(response.body).pipe(
              Stream.runForEach(() => {
                onChunk?.(n + 1)
                return ++n % job.sleepEvery === 0 ? Effect.sleep(1) : Effect.void
              })
            )
            return n
          })
        )
      )
  }
  await consume(2_000)
  gc()
  await sleep(50)
  gc()
  const baselineRssMb = mb(process.memoryUsage.rss())
  const sampler = rssSampler(20)
  const t0 = performance.now()
  let chunks = 0
  let error: string | undefined
  try {
    chunks = await consume(job.tokens)
  } catch (e) {
    error = String(e)
  }
  const wallMs = performance.now() - t0
  const peakRssMb = sampler.stop()
  gc()
  const heapBefore = process.memoryUsage().heapUsed
  let heapMax = heapBefore
  const probeEvery = Math.max(1_000, Math.floor(job.tokens / 50))
  try {
    await consume(Math.floor(job.tokens / 5), (n) => {
      if (n % probeEvery === 0) {
        gc()
        heapMax = Math.max(heapMax, process.memoryUsage().heapUsed)
      }
    })
  } catch (e) {
    error ??= `probe: ${String(e)}`
  }
  await close()
  return {
    baselineRssMb,
    peakRssMb,
    chunks,
    wallMs,
    ok: error === undefined,
    error,
    retainedHeapMb: mb(heapMax - heapBefore)
  }
}

const run = (job: Job): Promise<Result> => {
  switch (job._tag) {
    case "requests":
      return runRequests(job)
    case "decode":
      return runDecode(job)
    case "slow":
      return runSlow(job)
  }
}

process.once("message", (job: Job) => {
  run(job).then(
    (result) => process.send!({ ok: true, result }, () => process.exit(0)),
    (error: unknown) =>
      process.send!({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, () =>
        process.exit(1)
      )
  )
})
