/**
 * The client's own CPU per call without the network (issue #15, decision 0014): `chat.completions.create`
 * through the whole call path (validation, gates, retry loop, attempt, decode, settlement) on a `Transport`
 * that answers at once with a response captured from the simulator (its headers and body). What is left is
 * Sluice's cost per call, without undici's and the socket's. For profiling and A/B runs, not a test.
 *
 *   node --expose-gc bench/dist/hotpathMicro.js [--n 20000] [--rounds 3] [--gates none,defaults,only:budget]
 *   (`only:<gate>`: rateLimiter | concurrency | circuitBreaker | modelLifecycle | budget, alone)
 */
import * as Credentials from "@sluice/core/Credentials"
import * as Gates from "@sluice/core/Gates"
import * as OpenAi from "@sluice/core/OpenAi"
import * as OpenAiConfig from "@sluice/core/OpenAiConfig"
import * as Transport from "@sluice/core/Transport"
import { Simulator } from "@sluice/simulator"
import { Effect, Layer, ManagedRuntime } from "effect"
import { request } from "undici"
import { apiKey, chatBody, median } from "./common.js"

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? undefined : process.argv[i + 1]
}
const n = Number(arg("n") ?? "20000")
const rounds = Number(arg("rounds") ?? "3")
const which = (arg("gates") ?? "none,defaults").split(",")

/** One real answer of the simulator: its headers (as the transport hands them over) and body. */
const capture = async () => {
  const sim = await Simulator.startServer({ rpm: 100_000_000, tpm: 10_000_000_000 })
  try {
    const res = await request(`${sim.url}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
      body: JSON.stringify(chatBody(0))
    })
    const body = new Uint8Array(await res.body.arrayBuffer())
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = String(v)
    return { status: res.statusCode, headers, body }
  } finally {
    await sim.close()
  }
}

const cannedTransport = (answer: Awaited<ReturnType<typeof capture>>) =>
  Layer.succeed(Transport.Transport, {
    send: (req) =>
      Effect.sync(() => {
        JSON.parse(req.body?._tag === "Json" ? req.body.text : "{}")
        return {
          status: answer.status,
          headers: answer.headers,
          contentLength: answer.body.length,
          stream: undefined as never,
          bytes: Effect.succeed(answer.body)
        }
      })
  })

/** `defaults` (every gate and a budget, as the bench's Sluice client), or `only:<gate>` (that one alone). */
const gateOptions = (gates: string): Gates.DefaultsOptions => {
  const all: Gates.DefaultsOptions = { concurrency: { permits: 64 }, budget: { ceilingUsd: 1_000_000 } }
  if (!gates.startsWith("only:")) return all
  const one = gates.slice(5)
  return {
    ...(one === "rateLimiter" ? {} : { rateLimiter: false }),
    concurrency: one === "concurrency" ? { permits: 64 } : false,
    ...(one === "circuitBreaker" ? {} : { circuitBreaker: false }),
    ...(one === "modelLifecycle" ? {} : { modelLifecycle: false }),
    ...(one === "budget" ? { budget: { ceilingUsd: 1_000_000 } } : {})
  }
}

const layer = (gates: string, transport: Layer.Layer<Transport.Transport>) =>
  OpenAi.layer.pipe(
    Layer.provide(
      Layer.mergeAll(
        OpenAiConfig.layer({ baseUrl: "http://127.0.0.1:9/v1", maxConnections: 64, maxTokensPolicy: "require" }),
        Credentials.staticKey(apiKey),
        transport,
        gates === "none" ? Gates.none : Gates.layerDefaults(gateOptions(gates))
      )
    )
  )

const run = (runtime: ManagedRuntime.ManagedRuntime<OpenAi.OpenAi, unknown>, count: number, concurrency: number) =>
  runtime.runPromise(
    Effect.gen(function* () {
      const client = yield* OpenAi.OpenAi
      let next = 0
      let ok = 0
      const worker = Effect.whileLoop({
        while: () => next < count,
        body: () =>
          Effect.map(client.chat.completions.create(chatBody(next++)), (r) => {
            if (r.body.choices.length > 0) ok++
          }),
        step: () => {}
      })
      yield* Effect.all(
        Array.from({ length: concurrency }, () => worker),
        { concurrency, discard: true }
      )
      if (ok !== count) throw new Error(`${ok} of ${count} calls answered`)
    })
  )

const main = async () => {
  const answer = await capture()
  const transport = cannedTransport(answer)
  const results = new Map<string, Array<number>>()
  for (const gates of which) {
    const runtime = ManagedRuntime.make(layer(gates, transport))
    await run(runtime, 2_000, 32)
    for (let r = 0; r < rounds; r++) {
      for (const concurrency of [1, 32]) {
        ;(globalThis as { gc?: () => void }).gc?.()
        const cpu0 = process.cpuUsage()
        await run(runtime, n, concurrency)
        const cpu = process.cpuUsage(cpu0)
        const key = `gates ${gates} c=${concurrency} µs CPU/call`
        results.set(key, [...(results.get(key) ?? []), (cpu.user + cpu.system) / n])
      }
    }
    await runtime.dispose()
  }
  for (const [key, xs] of results) {
    process.stdout.write(
      `${key}: ${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})\n`
    )
  }
}

void main()
