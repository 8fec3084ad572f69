/**
 * The same behaviour from both transports, against the simulator and plain `node:http` servers on loopback: the
 * undici default (no `Transport` provided) and `Transport.layerFetch()` (the global fetch). JSON and multipart
 * bodies, the response size cap, the headers and total timeouts, connection failures, streaming, and an
 * abandoned stream aborting its request (which frees the connection). Then the request/response hooks.
 */
import type * as Http from "node:http"
import { describe, expect, it } from "@effect/vitest"
import { Credentials, Errors, OpenAi, OpenAiConfig, Transport } from "@sluice/core"
import { Simulator, type Stats } from "@sluice/simulator"
import { Effect, Layer, Stream } from "effect"
import { client, freePort, httpServer } from "./support/servers.js"

const chat = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "hi" }], max_completion_tokens: 8 }
const openai = OpenAi.OpenAi

/**
 * Polls the simulator's counters until `ready` holds (real time: the server sees a socket close on a later turn
 * of the event loop); the deadline only turns a hang into a failed assertion.
 */
const waitForStats = (sim: Simulator.Running, ready: (stats: Stats.Stats) => boolean) =>
  Effect.gen(function* () {
    const deadline = Date.now() + 10_000
    let stats = yield* sim.stats
    while (!ready(stats) && Date.now() < deadline) {
      yield* Effect.sleep("5 millis")
      stats = yield* sim.stats
    }
    return stats
  })

const transports: ReadonlyArray<readonly [string, Layer.Layer<Transport.Transport> | undefined]> = [
  ["undici (the default)", undefined],
  ["fetch", Transport.layerFetch()]
]

describe.each(transports)("Transport: %s", (_name, transport) => {
  const withClient = <A, E>(
    baseUrl: string,
    effect: Effect.Effect<A, E, OpenAi.OpenAi>,
    options: Parameters<typeof client>[1] = {}
  ) =>
    Effect.provide(
      effect,
      transport === undefined ? client(baseUrl, options) : client(baseUrl, options).pipe(Layer.provide(transport))
    )

  it.live("a chat completion (JSON body) and a file upload (multipart body) round-trip", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const [completion, file] = yield* withClient(
        sim.url,
        Effect.gen(function* () {
          const o = yield* openai
          const completion = yield* o.chat.completions.create(chat)
          const file = yield* o.files.create({
            file: new TextEncoder().encode('{"custom_id":"a"}\n'),
            filename: "in.jsonl",
            purpose: "batch"
          })
          return [completion, file] as const
        })
      )
      expect(completion.status).toBe(200)
      expect(completion.requestId).toMatch(/^req_/)
      expect(completion.body.choices[0]?.message.content?.length).toBeGreaterThan(0)
      expect(file.body.filename).toBe("in.jsonl")
      expect(file.body.bytes).toBe(18)
    })
  )

  it.live("response size cap: fails while reading, not retried", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const error = yield* withClient(sim.url, Effect.flip(Effect.flatMap(openai, (o) => o.models.list())), {
        maxResponseBytes: 64
      })
      expect(error._tag).toBe("ResponseDecodeFailed")
      expect(error.message).toMatch(/^response exceeds 64 bytes \(maxResponseBytes\)/)
      expect(error.retryable).toBe(false)
    })
  )

  it.live("size cap on a body without content-length: counted while streaming", () =>
    Effect.gen(function* () {
      const server = yield* httpServer((_, res: Http.ServerResponse) => {
        res.writeHead(200, { "content-type": "application/json" })
        res.write(`{"object":"list","data":[${'{"id":"m","object":"model","created":1,"owned_by":"x"},'.repeat(40)}`)
        res.end('{"id":"m","object":"model","created":1,"owned_by":"x"}]}')
      })
      const error = yield* withClient(server.url, Effect.flip(Effect.flatMap(openai, (o) => o.models.list())), {
        maxResponseBytes: 1000
      })
      expect(error.message).toMatch(/^response exceeds 1000 bytes \(maxResponseBytes\)/)
      const ok = yield* withClient(
        server.url,
        Effect.flatMap(openai, (o) => o.models.list()),
        {
          maxResponseBytes: 4000
        }
      )
      expect(ok.body.data.length).toBe(41)
    })
  )

  /** A models list of `n` models whose ids number them, as one JSON text. */
  const modelList = (n: number) =>
    `{"object":"list","data":[${Array.from({ length: n }, (_, i) => `{"id":"m-${i}","object":"model","created":1,"owned_by":"${"x".repeat(80)}"}`).join(",")}]}`

  /** Sends `body` in `pieces` writes, each on a later turn, with its content-length, or cut off after half. */
  const piecewise =
    (body: string, pieces: number, cut = false) =>
    (_: Http.IncomingMessage, res: Http.ServerResponse) => {
      const bytes = Buffer.from(body)
      res.writeHead(200, { "content-type": "application/json", "content-length": String(bytes.length) })
      const step = Math.ceil(bytes.length / pieces)
      const send = (at: number) => {
        if (cut && at >= bytes.length / 2) return res.destroy()
        if (at >= bytes.length) return res.end()
        res.write(bytes.subarray(at, at + step), () => setImmediate(() => send(at + step)))
      }
      send(0)
    }

  it.live("a large body with content-length, arriving in many pieces, is read whole and in order", () =>
    Effect.gen(function* () {
      const body = modelList(3000)
      expect(body.length).toBeGreaterThan(300_000)
      const server = yield* httpServer(piecewise(body, 40))
      const list = yield* withClient(
        server.url,
        Effect.flatMap(openai, (o) => o.models.list())
      )
      expect(list.body.data.length).toBe(3000)
      expect(list.body.data.map((m) => m.id)).toEqual(Array.from({ length: 3000 }, (_, i) => `m-${i}`))
    })
  )

  it.live("a large body cut off before its content-length fails the call, named as cut short", () =>
    Effect.gen(function* () {
      const server = yield* httpServer(piecewise(modelList(3000), 40, true))
      const error = yield* withClient(server.url, Effect.flip(Effect.flatMap(openai, (o) => o.models.list())))
      expect(error._tag).toBe("ResponseDecodeFailed")
      expect(error.message).toMatch(/^response body cut short: /)
    })
  )

  it.live("headers timeout on a hung request; the simulator sees the client go away", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ faults: { rateHang: 1 } })
      const error = yield* withClient(sim.url, Effect.flip(Effect.flatMap(openai, (o) => o.models.list())), {
        headersTimeout: "200 millis"
      })
      expect(error._tag).toBe("Timeout")
      if (error._tag === "Timeout") expect([error.phase, error.afterMs]).toEqual(["headers", 200])
      const stats = yield* waitForStats(sim, (s) => s.clientAborts > 0)
      expect(stats.clientAborts).toBe(1)
    })
  )

  it.live("total timeout when the body never finishes", () =>
    Effect.gen(function* () {
      const server = yield* httpServer((_, res) => {
        res.writeHead(200, { "content-type": "application/json" })
        res.write('{"object":"list",')
      })
      const error = yield* withClient(server.url, Effect.flip(Effect.flatMap(openai, (o) => o.models.list())), {
        totalTimeout: "300 millis"
      })
      expect(error._tag).toBe("Timeout")
      if (error._tag === "Timeout") expect([error.phase, error.afterMs]).toEqual(["total", 300])
    })
  )

  it.live("nothing listening: ConnectionFailed, retryable, naming the origin", () =>
    Effect.gen(function* () {
      const port = yield* freePort
      const error = yield* withClient(
        `http://127.0.0.1:${port}/v1`,
        Effect.flip(Effect.flatMap(openai, (o) => o.models.list()))
      )
      expect(error._tag).toBe("ConnectionFailed")
      expect(error.retryable).toBe(true)
      expect(error.message).toContain(`http://127.0.0.1:${port}/v1/models`)
    })
  )

  it.live("streams the body; leaving a stream early aborts its request, and the next call still goes through", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ latency: { perChunkMs: 20 } })
      yield* withClient(
        sim.url,
        Effect.gen(function* () {
          const o = yield* openai
          const full = yield* Effect.scoped(
            Effect.flatMap(o.chat.completions.streamBytes({ ...chat, max_completion_tokens: 5 }), (response) =>
              response.body.pipe(Stream.decodeText(), Stream.mkString)
            )
          )
          expect(full).toContain("data: [DONE]")
          expect(full).toContain('"usage"')
          yield* Effect.scoped(
            Effect.flatMap(o.chat.completions.streamBytes({ ...chat, max_completion_tokens: 200 }), (response) =>
              response.body.pipe(Stream.take(1), Stream.runDrain)
            )
          )
          // With one connection allowed (undici), this call needs the aborted stream's connection back.
          expect((yield* o.models.list()).status).toBe(200)
        }),
        { maxConnections: 1 }
      )
      const stats = yield* waitForStats(sim, (s) => s.streamsCompleted + s.streamsAborted >= 2)
      expect([stats.streamsStarted, stats.streamsCompleted, stats.streamsAborted]).toEqual([2, 1, 1])
    })
  )
})

describe("Transport hooks", () => {
  interface Received {
    readonly headers: Http.IncomingHttpHeaders
  }
  const recordingServer = (received: Array<Received>) =>
    httpServer((req, res) => {
      received.push({ headers: req.headers })
      res.writeHead(200, { "content-type": "application/json", "x-request-id": `req_${received.length}` })
      res.end('{"object":"list","data":[]}')
    })

  it.live("onRequest adds a header and onResponse observes every attempt; neither sees the key", () =>
    Effect.gen(function* () {
      const received: Array<Received> = []
      const server = yield* recordingServer(received)
      const seenHeaders: Array<Record<string, string>> = []
      const responses: Array<{ status: number; requestId: string | undefined; url: string }> = []
      const hooks: Transport.Hooks = {
        onRequest: (request) =>
          Effect.sync(() => {
            seenHeaders.push({ ...request.headers })
            // A hook cannot replace the key either: this header is dropped.
            return { ...request, headers: { ...request.headers, "x-trace-id": "trace-1", Authorization: "Bearer x" } }
          }),
        onResponse: (response) =>
          Effect.sync(() => {
            responses.push({
              status: response.status,
              requestId: response.headers["x-request-id"],
              url: response.request.url
            })
          })
      }
      // `Transport.layer` takes its pool and proxy from the same `OpenAiConfig` as the client.
      const undiciFromConfig = OpenAi.layer.pipe(
        Layer.provide(Transport.layer({ hooks })),
        Layer.provide(OpenAiConfig.layer({ baseUrl: server.url, retry: { maxAttempts: 1 } })),
        Layer.provide(Credentials.static("sk-test-key-0123456789"))
      )
      const fetch = client(server.url).pipe(Layer.provide(Transport.layerFetch({ hooks })))
      for (const layer of [undiciFromConfig, fetch]) {
        yield* Effect.provide(
          Effect.flatMap(openai, (o) => o.models.list()),
          layer
        )
      }
      expect(received.map((r) => [r.headers["x-trace-id"], r.headers.authorization])).toEqual([
        ["trace-1", "Bearer sk-test-key-0123456789"],
        ["trace-1", "Bearer sk-test-key-0123456789"]
      ])
      // The second went through the Web fetch (it adds `sec-fetch-mode`), the first through undici's `request`.
      expect(received.map((r) => r.headers["sec-fetch-mode"])).toEqual([undefined, "cors"])
      expect(seenHeaders.every((h) => !("authorization" in h) && h["user-agent"] === "sluice/0.2.0")).toBe(true)
      expect(responses).toEqual([
        { status: 200, requestId: "req_1", url: `${server.url}/models` },
        { status: 200, requestId: "req_2", url: `${server.url}/models` }
      ])
    })
  )

  it.live("a failing onRequest fails the attempt with its error; nothing is sent", () =>
    Effect.gen(function* () {
      const received: Array<Received> = []
      const server = yield* recordingServer(received)
      const hooks: Transport.Hooks = {
        onRequest: () => Effect.fail(new Errors.InvalidRequest({ message: "no tenant header configured" }))
      }
      const error = yield* Effect.flip(
        Effect.provide(
          Effect.flatMap(openai, (o) => o.models.list()),
          client(server.url).pipe(Layer.provide(Transport.layerUndici({ hooks })))
        )
      )
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toBe("no tenant header configured")
      expect(received.length).toBe(0)
    })
  )
})
