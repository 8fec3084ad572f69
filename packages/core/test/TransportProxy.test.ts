/**
 * The default transport through a real forward proxy (the `proxy` package from npm) on loopback: the proxy sees
 * the request when `HTTP_PROXY` (read through `Config`) or the explicit option says so, `NO_PROXY` bypasses it,
 * an https base URL is tunnelled with CONNECT, proxy credentials are sent as `Proxy-Authorization` and never
 * shown, and plain http through a proxy that is not on this machine is refused before sending.
 */
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Https from "node:https"
import type * as Net from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { OpenAi, OpenAiConfig, Transport } from "@sluice/core"
import { Simulator } from "@sluice/simulator"
import { ConfigProvider, Effect, Layer, Logger, Redacted } from "effect"
import { createProxy } from "proxy"
import { bypasses } from "../src/internal/transport/proxy.js"
import { client, fixture } from "./support/servers.js"

interface Seen {
  readonly method: string
  readonly url: string
  readonly proxyAuthorization: string | undefined
}

/** A forward proxy on 127.0.0.1 that records what it was asked; `credentials` makes it demand Basic auth. */
const forwardProxy = (credentials?: { readonly user: string; readonly password: string }) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly url: string; readonly seen: Array<Seen>; readonly server: Http.Server }>((resume) => {
      const seen: Array<Seen> = []
      const server = createProxy(Http.createServer())
      const record = (req: Http.IncomingMessage) =>
        seen.push({
          method: req.method ?? "",
          url: req.url ?? "",
          proxyAuthorization: req.headers["proxy-authorization"]
        })
      server.on("request", record)
      server.on("connect", record)
      if (credentials !== undefined) {
        const expected = `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString("base64")}`
        server.authenticate = (req) => req.headers["proxy-authorization"] === expected
      }
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as Net.AddressInfo
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, seen, server }))
      })
    }),
    ({ server }) =>
      Effect.callback<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

/** A self-signed certificate for 127.0.0.1 and localhost (test only; valid until 2126). */
const loopbackCa = Fs.readFileSync(fixture("loopback-cert.pem"), "utf8")

/** An https server on 127.0.0.1 (the fixture certificate) answering `GET /v1/models`, counting requests. */
const httpsServer = Effect.acquireRelease(
  Effect.callback<{ readonly url: string; readonly requests: () => number; readonly server: Https.Server }>(
    (resume) => {
      let requests = 0
      const server = Https.createServer(
        { cert: loopbackCa, key: Fs.readFileSync(fixture("loopback-key.pem"), "utf8") },
        (_, res) => {
          requests++
          res.writeHead(200, { "content-type": "application/json", "x-request-id": `req_tls_${requests}` })
          res.end('{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1,"owned_by":"system"}]}')
        }
      )
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as Net.AddressInfo
        resume(Effect.succeed({ url: `https://127.0.0.1:${port}/v1`, requests: () => requests, server }))
      })
    }
  ),
  ({ server }) =>
    Effect.callback<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)

/** `OpenAi.layerConfig` (no gates) with the environment `env`, through `ConfigProvider` (not `process.env`). */
const fromEnv = (env: Record<string, string>) =>
  OpenAi.layerConfig({ gates: false, retry: { maxAttempts: 1 } }).pipe(
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { OPENAI_API_KEY: "sk-test-key-0123", ...env } })))
  )

const listModels = Effect.flatMap(OpenAi.OpenAi, (o) => o.models.list())

describe("Transport: forward proxy", () => {
  it.live("HTTP_PROXY from Config: the request goes through the proxy", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const proxy = yield* forwardProxy()
      const models = yield* Effect.provide(listModels, fromEnv({ OPENAI_BASE_URL: sim.url, HTTP_PROXY: proxy.url }))
      expect(models.status).toBe(200)
      expect(proxy.seen).toEqual([{ method: "GET", url: `${sim.url}/models`, proxyAuthorization: undefined }])
      expect((yield* sim.stats).requests).toBe(1)
    })
  )

  it.live("NO_PROXY bypasses it (exact host, and with a port); the lower-case name wins", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const proxy = yield* forwardProxy()
      const port = new URL(sim.url).port
      for (const noProxy of ["127.0.0.1", `localhost, 127.0.0.1:${port}`, "*"]) {
        yield* Effect.provide(
          listModels,
          fromEnv({ OPENAI_BASE_URL: sim.url, HTTP_PROXY: proxy.url, NO_PROXY: noProxy })
        )
      }
      // A NO_PROXY for another port, and an upper-case one overridden by the lower-case name, do not bypass.
      yield* Effect.provide(
        listModels,
        fromEnv({ OPENAI_BASE_URL: sim.url, HTTP_PROXY: proxy.url, NO_PROXY: "127.0.0.1:1" })
      )
      yield* Effect.provide(
        listModels,
        fromEnv({ OPENAI_BASE_URL: sim.url, HTTP_PROXY: proxy.url, NO_PROXY: "127.0.0.1", no_proxy: "example.com" })
      )
      expect(proxy.seen.length).toBe(2)
      expect((yield* sim.stats).requests).toBe(5)
    })
  )

  it.live(
    "the explicit option, with credentials: sent as Proxy-Authorization; `proxy: false` beats the environment",
    () =>
      Effect.gen(function* () {
        const sim = yield* Simulator.start({})
        const proxy = yield* forwardProxy({ user: "alice", password: "pr0xy-s3cret" })
        const { port } = new URL(proxy.url)
        const models = yield* Effect.provide(
          listModels,
          client(sim.url, { proxy: Redacted.make(`http://alice:pr0xy-s3cret@127.0.0.1:${port}`) })
        )
        expect(models.status).toBe(200)
        expect(proxy.seen).toEqual([
          { method: "GET", url: `${sim.url}/models`, proxyAuthorization: `Basic ${btoa("alice:pr0xy-s3cret")}` }
        ])
        yield* Effect.provide(
          listModels,
          OpenAi.layerConfig({ gates: false, proxy: false }).pipe(
            Layer.provide(
              ConfigProvider.layer(
                ConfigProvider.fromEnv({
                  env: { OPENAI_API_KEY: "sk-test-key-0123", OPENAI_BASE_URL: sim.url, HTTP_PROXY: proxy.url }
                })
              )
            )
          )
        )
        expect(proxy.seen.length).toBe(1)
        expect((yield* sim.stats).requests).toBe(2)
      })
  )

  it.live("a refused proxy login is a typed error that never shows the password, in the error or the logs", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const proxy = yield* forwardProxy({ user: "alice", password: "right-password" })
      const { port } = new URL(proxy.url)
      const lines: Array<string> = []
      const capture = Logger.make(({ message, cause }) => lines.push(`${String(message)} ${String(cause)}`))
      const error = yield* listModels.pipe(
        Effect.tapError((failure) => Effect.logError("failed", failure)),
        Effect.flip,
        Effect.provide(client(sim.url, { proxy: `http://alice:wr0ng-s3cret@127.0.0.1:${port}` })),
        Effect.provide(Logger.layer([capture]))
      )
      expect(lines.length).toBeGreaterThan(0)
      expect(proxy.seen.length).toBe(1)
      expect(error._tag).toBe("InvalidRequest")
      expect(error.retryable).toBe(false)
      expect(error.message).toContain(`through proxy ${proxy.url}: the proxy refused the credentials (407`)
      expect(JSON.stringify(error)).not.toContain("wr0ng-s3cret")
      expect(String(error)).not.toContain("wr0ng-s3cret")
      expect(lines.join("\n")).not.toContain("wr0ng-s3cret")
      expect((yield* sim.stats).requests).toBe(0)
      // The same through a CONNECT tunnel (an https base URL): refused once, not retried.
      const tunnelled = yield* Effect.flip(
        Effect.provide(
          listModels,
          client(`https://${new URL(sim.url).host}/v1`, {
            proxy: `http://alice:wr0ng-s3cret@127.0.0.1:${port}`,
            retry: { maxAttempts: 3, baseDelayMs: 1 }
          })
        )
      )
      expect(tunnelled._tag).toBe("InvalidRequest")
      expect(tunnelled.message).toContain("the proxy refused the credentials (407")
      expect(tunnelled.message).not.toContain("wr0ng-s3cret")
      expect(proxy.seen.map((s) => s.method)).toEqual(["GET", "CONNECT"])
    })
  )

  it.live("HTTPS_PROXY: an https base URL is tunnelled with CONNECT (the proxy sees host:port, not the request)", () =>
    Effect.gen(function* () {
      // No TLS server here: the proxy's CONNECT is what is checked; the handshake with a plain server then fails.
      const sim = yield* Simulator.start({})
      const proxy = yield* forwardProxy()
      const { host } = new URL(sim.url)
      const error = yield* Effect.flip(
        Effect.provide(listModels, fromEnv({ OPENAI_BASE_URL: `https://${host}/v1`, HTTPS_PROXY: proxy.url }))
      )
      expect(error._tag).toBe("ConnectionFailed")
      expect(error.message).toContain(`through proxy ${proxy.url}`)
      expect(proxy.seen).toEqual([{ method: "CONNECT", url: host, proxyAuthorization: undefined }])
    })
  )

  it.live("HTTPS_PROXY end to end: TLS to the server through the CONNECT tunnel, trusting `ca`", () =>
    Effect.gen(function* () {
      const server = yield* httpsServer
      const proxy = yield* forwardProxy()
      const env = { OPENAI_API_KEY: "sk-test-key-0123", OPENAI_BASE_URL: server.url, HTTPS_PROXY: proxy.url }
      const layer = (options: OpenAi.LayerOptions) =>
        OpenAi.layerConfig({ gates: false, retry: { maxAttempts: 1 }, ...options }).pipe(
          Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))
        )
      const models = yield* Effect.provide(listModels, layer({ ca: loopbackCa }))
      expect([models.status, models.requestId, models.body.data[0]?.id]).toEqual([200, "req_tls_1", "gpt-4o-mini"])
      expect(proxy.seen).toEqual([{ method: "CONNECT", url: new URL(server.url).host, proxyAuthorization: undefined }])
      // Without the certificate the server is not trusted: nothing reaches it.
      const untrusted = yield* Effect.flip(Effect.provide(listModels, layer({})))
      expect(untrusted._tag).toBe("ConnectionFailed")
      expect(untrusted.message).toContain(`through proxy ${proxy.url}`)
      expect(server.requests()).toBe(1)
      // And directly (no proxy), the same `ca` through Transport.layerUndici.
      const direct = yield* Effect.provide(
        listModels,
        client(server.url).pipe(Layer.provide(Transport.layerUndici({ ca: loopbackCa })))
      )
      expect(direct.requestId).toBe("req_tls_2")
      expect(proxy.seen.length).toBe(2)
    })
  )

  it.live("plain http through a proxy that is not on this machine is refused before sending, naming the fix", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const error = yield* Effect.flip(
        Effect.provide(listModels, client(sim.url, { proxy: "http://bob:hunter22@proxy.example.com:3128" }))
      )
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain("through proxy http://proxy.example.com:3128")
      expect(error.message).toContain("NO_PROXY")
      expect(error.message).not.toContain("hunter22")
      expect((yield* sim.stats).requests).toBe(0)
    })
  )

  it.live("a proxy URL that is not http(s) is InvalidOptions, shown without its credentials", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const options = { proxy: { https: "ftp://bob:hunter22@proxy.example.com:2121" } }
      const checked = OpenAiConfig.validate(options)
      expect(checked._tag).toBe("Failure")
      const error = yield* Effect.flip(Effect.provide(listModels, client(sim.url, options)))
      expect(error._tag).toBe("InvalidOptions")
      expect(error.message).toContain("proxy.https")
      expect(error.message).toContain("ftp://proxy.example.com:2121")
      expect(error.message).not.toContain("hunter22")
      // The same through an explicit transport layer.
      const viaLayer = yield* Effect.flip(
        Effect.provide(listModels, client(sim.url).pipe(Layer.provide(Transport.layerUndici(options))))
      )
      expect(viaLayer._tag).toBe("InvalidOptions")
      expect((yield* sim.stats).requests).toBe(0)
    })
  )

  it.live("Transport.layerUndici with an explicit proxy, provided under OpenAi.layer", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({})
      const proxy = yield* forwardProxy()
      yield* Effect.provide(
        listModels,
        client(sim.url).pipe(Layer.provide(Transport.layerUndici({ proxy: { http: proxy.url } })))
      )
      expect(proxy.seen.map((s) => s.url)).toEqual([`${sim.url}/models`])
    })
  )
})

it.effect("a resolved proxy URL is Redacted: printing the configuration shows no credentials", () =>
  Effect.sync(() => {
    const resolved = OpenAiConfig.resolve({ proxy: "http://u:pass-word@127.0.0.1:1" })
    expect(Redacted.isRedacted(resolved.proxy?.http)).toBe(true)
    expect(Redacted.value(resolved.proxy!.http!)).toBe("http://u:pass-word@127.0.0.1:1")
    expect(`${String(resolved.proxy?.http)} ${JSON.stringify(resolved)}`).not.toContain("pass-word")
  })
)

it("NO_PROXY matching follows curl and undici: exact host, domain suffix, *. for subdomains only, ports, IPv6, *", () => {
  const cases: ReadonlyArray<readonly [string, string, number, boolean]> = [
    ["example.com", "example.com", 443, true],
    ["example.com", "api.example.com", 443, true],
    [".example.com", "example.com", 443, true],
    [".example.com", "api.example.com", 443, true],
    ["*.example.com", "example.com", 443, false],
    ["*.example.com", "api.example.com", 443, true],
    ["example.com", "notexample.com", 443, false],
    ["EXAMPLE.com.", "api.example.COM", 443, true],
    ["example.com:8443", "example.com", 443, false],
    ["example.com:8443", "example.com", 8443, true],
    ["[::1]:8080", "[::1]", 8080, true],
    ["[::1]:8080", "[::1]", 80, false],
    ["::1", "[::1]", 80, true],
    ["localhost 127.0.0.1,  other", "127.0.0.1", 80, true],
    ["*", "anything.example", 443, true],
    ["", "example.com", 443, false]
  ]
  for (const [noProxy, host, port, expected] of cases) {
    expect([noProxy, host, port, bypasses(noProxy, host, port)]).toEqual([noProxy, host, port, expected])
  }
})
