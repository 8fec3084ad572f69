/**
 * CPU per request of the transports (docs/decisions/0004-direct-undici.md): raw undici, Sluice's direct transport
 * (internal/http.ts) and effect/http's HttpClient on @effect/platform-node's undici layer, against a `node:http`
 * server in a child process on 127.0.0.1 (so only the client's CPU is counted). Each client sends the same
 * non-streamed chat completion POST and reads and parses the JSON body.
 *
 *   npx tsx packages/core/test/support/transportBench.ts [requests=10000] [concurrency=32] [rounds=3]
 */
import { spawn } from "node:child_process"
import { NodeHttpClient } from "@effect/platform-node"
import Undici from "@effect/platform-node/Undici"
import { Context, Duration, Effect, Exit, Layer, Scope } from "effect"
import { FetchHttpClient, HttpBody, HttpClient } from "effect/http"
import * as Credentials from "../../src/Credentials.js"
import * as Gates from "../../src/Gates.js"
import * as Http from "../../src/internal/http.js"
import * as OpenAi from "../../src/OpenAi.js"
import * as OpenAiConfig from "../../src/OpenAiConfig.js"
import * as Transport from "../../src/Transport.js"

const requests = Number(process.argv[2] ?? 10_000)
const concurrency = Number(process.argv[3] ?? 32)
const rounds = Number(process.argv[4] ?? 3)

const serverSource = `
const http = require("node:http")
const body = JSON.stringify({
  id: "chatcmpl-bench", object: "chat.completion", created: 1, model: "gpt-4o-mini", system_fingerprint: "fp_1",
  choices: [{ index: 0, message: { role: "assistant", content: "The quick brown fox jumps over the lazy dog.", refusal: null }, logprobs: null, finish_reason: "stop" }],
  usage: { prompt_tokens: 12, completion_tokens: 10, total_tokens: 22, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } },
  service_tier: "default"
})
const server = http.createServer((req, res) => {
  req.resume()
  req.on("end", () => res.writeHead(200, {
    "content-type": "application/json", "content-length": Buffer.byteLength(body), "x-request-id": "req_bench",
    "x-ratelimit-limit-requests": "10000", "x-ratelimit-remaining-requests": "9999", "x-ratelimit-reset-requests": "6ms",
    "x-ratelimit-limit-tokens": "10000000", "x-ratelimit-remaining-tokens": "9999990", "x-ratelimit-reset-tokens": "0s"
  }).end(body))
})
server.keepAliveTimeout = 60000
server.listen(0, "127.0.0.1", () => console.log("port " + server.address().port))
`

const startServer = () =>
  new Promise<{ readonly url: string; readonly stop: () => void }>((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", serverSource], { stdio: ["ignore", "pipe", "inherit"] })
    child.stdout.on("data", (data: Buffer) => {
      const match = /port (\d+)/.exec(data.toString())
      if (match !== null) resolve({ url: `http://127.0.0.1:${match[1]}`, stop: () => child.kill() })
    })
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)))
  })

const requestBody = JSON.stringify({
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "Say something about foxes." }],
  max_tokens: 16
})
const headers = {
  authorization: "Bearer sk-bench-0123456789",
  "user-agent": "sluice/0.2.0",
  accept: "application/json"
}
const agentOptions = {
  connections: 64,
  connect: { timeout: 10_000 },
  keepAliveTimeout: 30_000,
  headersTimeout: 0,
  bodyTimeout: 0
}

/** Runs `one` `requests` times with `concurrency` in flight; returns CPU µs per request. */
const measurePromise = async (one: () => Promise<unknown>): Promise<number> => {
  let next = 0
  const worker = async () => {
    while (next < requests) {
      next++
      await one()
    }
  }
  const before = process.cpuUsage()
  await Promise.all(Array.from({ length: concurrency }, worker))
  const used = process.cpuUsage(before)
  return (used.user + used.system) / requests
}

const measureEffect = <E>(one: Effect.Effect<unknown, E>): Promise<number> =>
  measurePromise(() => Effect.runPromise(Effect.asVoid(one)))

/** The same measurement with the pool as fibers (how Sluice users run many calls). */
const measureFibers = <E>(one: Effect.Effect<unknown, E>): Promise<number> =>
  Effect.runPromise(
    Effect.gen(function* () {
      let next = 0
      const worker = Effect.whileLoop({
        while: () => next < requests,
        body: () =>
          Effect.suspend(() => {
            next++
            return Effect.asVoid(one)
          }),
        step: () => {}
      })
      const before = process.cpuUsage()
      yield* Effect.all(
        Array.from({ length: concurrency }, () => worker),
        { concurrency: "unbounded", discard: true }
      )
      const used = process.cpuUsage(before)
      return (used.user + used.system) / requests
    })
  )

const main = async () => {
  const server = await startServer()
  const url = `${server.url}/v1/chat/completions`
  const { origin } = new URL(url)

  const agent = new Undici.Agent(agentOptions)
  const raw = () =>
    agent
      .request({
        origin,
        path: "/v1/chat/completions",
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: requestBody
      })
      .then(async (response) => JSON.parse(await response.body.text()))

  // The transport lives as long as this scope: one for the whole run.
  const transportScope = Scope.makeUnsafe()
  const transport = await Effect.runPromise(
    Effect.provideService(
      Http.make({ maxConnections: 64, connectTimeout: Duration.seconds(10), keepAliveTimeout: Duration.seconds(30) }),
      Scope.Scope,
      transportScope
    )
  )
  const textDecoder = new TextDecoder()
  const directOne = Effect.scoped(
    Effect.flatMap(
      transport.send(
        { method: "POST", url, headers, body: { _tag: "Json", text: requestBody } },
        { headersTimeoutMs: 600_000, totalTimeoutMs: 600_000 }
      ),
      (response) =>
        Effect.map(
          Http.readBody(response, 64 * 1024 * 1024, { status: response.status, requestId: undefined }),
          (bytes) => JSON.parse(textDecoder.decode(bytes))
        )
    )
  )

  // The fetch transport (Transport.layerFetch) on Node's global fetch, same request.
  const fetchTransport = Transport.makeFetch()
  const fetchOne = Effect.scoped(
    Effect.flatMap(
      fetchTransport.send(
        { method: "POST", url, headers, body: { _tag: "Json", text: requestBody } },
        { headersTimeoutMs: 600_000, totalTimeoutMs: 600_000 }
      ),
      (response) =>
        Effect.map(
          Http.readBody(response, 64 * 1024 * 1024, { status: response.status, requestId: undefined }),
          (bytes) => JSON.parse(textDecoder.decode(bytes))
        )
    )
  )

  const platformContext = await Effect.runPromise(
    Effect.provideService(Layer.build(NodeHttpClient.layerUndiciOptions(agentOptions)), Scope.Scope, transportScope)
  )
  const platformClient = Context.get(platformContext, HttpClient.HttpClient)
  const platformOne = Effect.flatMap(
    platformClient.post(url, { headers, body: HttpBody.text(requestBody, "application/json") }),
    (response) => response.json
  )

  // As Sluice would use it: its own call span is the span, so the client's span (and trace headers) are off.
  const platformUntracedOne = Effect.provideService(platformOne, HttpClient.TracerDisabledWhen, () => true)

  // … and with the total timeout the direct transport enforces (Effect.timeout races a sleeping fiber).
  const platformTimedOne = Effect.timeout(platformUntracedOne, Duration.minutes(10))

  // effect/http's own fetch client, as the fetch transport would use it (span off, the total timeout on).
  const fetchContext = await Effect.runPromise(
    Effect.provideService(Layer.build(FetchHttpClient.layer), Scope.Scope, transportScope)
  )
  const fetchClient = Context.get(fetchContext, HttpClient.HttpClient)
  const fetchClientOne = Effect.timeout(
    Effect.provideService(
      Effect.flatMap(
        fetchClient.post(url, { headers, body: HttpBody.text(requestBody, "application/json") }),
        (r) => r.json
      ),
      HttpClient.TracerDisabledWhen,
      () => true
    ),
    Duration.minutes(10)
  )

  // The whole client on the direct transport, without gates: validation, headers, decoding, telemetry hooks.
  const sluiceContext = await Effect.runPromise(
    Effect.provideService(
      Layer.build(
        OpenAi.layer.pipe(
          Layer.provide(
            Layer.mergeAll(
              OpenAiConfig.layer({ baseUrl: `${server.url}/v1`, maxConnections: 64, maxTokensPolicy: "require" }),
              Credentials.staticKey("sk-bench-0123456789"),
              Gates.none
            )
          )
        )
      ),
      Scope.Scope,
      transportScope
    )
  )
  const sluice = Context.get(sluiceContext, OpenAi.OpenAi)
  const chatRequest = JSON.parse(requestBody) as Parameters<typeof sluice.chat.completions.create>[0]
  const sluiceOne = sluice.chat.completions.create(chatRequest)

  const clients: ReadonlyArray<readonly [string, () => Promise<number>]> = [
    ["raw undici (agent.request + JSON.parse)", () => measurePromise(raw)],
    ["direct transport (internal/http.ts), promise pool", () => measureEffect(directOne)],
    ["direct transport (internal/http.ts), fiber pool", () => measureFibers(directOne)],
    ["fetch transport (Transport.makeFetch, global fetch), fiber pool", () => measureFibers(fetchOne)],
    ["effect/http FetchHttpClient, tracer disabled + Effect.timeout, fiber pool", () => measureFibers(fetchClientOne)],
    ["effect/http HttpClient (NodeHttpClient.layerUndici), promise pool", () => measureEffect(platformOne)],
    ["effect/http HttpClient (NodeHttpClient.layerUndici), fiber pool", () => measureFibers(platformOne)],
    ["effect/http HttpClient, tracer disabled, fiber pool", () => measureFibers(platformUntracedOne)],
    ["effect/http HttpClient, tracer disabled + Effect.timeout, fiber pool", () => measureFibers(platformTimedOne)],
    ["Sluice chat.completions.create, Gates.none (direct transport), fiber pool", () => measureFibers(sluiceOne)]
  ]
  // Warm up every client (JIT, connections) before measuring.
  for (const [, run] of clients) await run()
  const results = new Map<string, Array<number>>()
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of clients) {
      const micros = await run()
      results.set(name, [...(results.get(name) ?? []), micros])
    }
  }
  console.log(`node ${process.version}, ${requests} requests per run, concurrency ${concurrency}, ${rounds} rounds`)
  for (const [name, values] of results) {
    const sorted = [...values].sort((a, b) => a - b)
    console.log(
      `${name.padEnd(70)} median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} µs/request (${sorted.map((v) => v.toFixed(0)).join(", ")})`
    )
  }
  await agent.close()
  await Effect.runPromise(Scope.close(transportScope, Exit.void))
  server.stop()
  process.exit(0)
}

void main()
