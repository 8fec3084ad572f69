/**
 * The `sluice` command behind a corporate proxy: `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` from the environment, as the
 * official SDKs' users expect, through a real forward proxy from npm (`proxy`) on loopback.
 */
import * as Http from "node:http"
import type * as Net from "node:net"
import { afterEach, describe, expect, it } from "@effect/vitest"
import { createProxy } from "proxy"
import { simulator, sluice } from "./support.js"

const key = "sk-proxy-test-0123456789"
const proxies: Array<Http.Server> = []

/** A forward proxy on 127.0.0.1 that records the URL of every request it forwards. */
const forwardProxy = () =>
  new Promise<{ readonly url: string; readonly seen: Array<string> }>((resolve) => {
    const seen: Array<string> = []
    const server = createProxy(Http.createServer())
    server.on("request", (req: Http.IncomingMessage) => seen.push(`${req.method} ${req.url}`))
    proxies.push(server)
    server.listen(0, "127.0.0.1", () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as Net.AddressInfo).port}`, seen })
    )
  })

afterEach(async () => {
  await Promise.all(
    proxies.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections()
          server.close(() => resolve())
        })
    )
  )
})

/** `sluice chat --no-stream` against a simulator, with HTTP_PROXY set to a forward proxy and NO_PROXY as given. */
const chatBehindProxy = async (noProxy: string) => {
  const sim = await simulator({ keys: [key] })
  const proxy = await forwardProxy()
  const result = await sluice(["chat", "hello", "--no-stream"], {
    OPENAI_API_KEY: key,
    OPENAI_BASE_URL: sim.url,
    HTTP_PROXY: proxy.url,
    NO_PROXY: noProxy
  })
  return { sim, proxy, result }
}

describe("sluice behind a forward proxy", () => {
  it("HTTP_PROXY: the request goes through the proxy and the answer comes back", async () => {
    const { sim, proxy, result } = await chatBehindProxy("")
    expect(result.code).toBe(0)
    expect(result.stdout.trim().length).toBeGreaterThan(0)
    expect(proxy.seen).toEqual([`POST ${sim.url}/chat/completions`])
    expect(result.stderr).not.toContain(key)
  }, 180_000)

  it("NO_PROXY naming the host: the proxy sees nothing", async () => {
    const { sim, proxy, result } = await chatBehindProxy("127.0.0.1")
    expect(result.code).toBe(0)
    expect(proxy.seen).toEqual([])
    expect(sim.stats().requests).toBe(1)
  }, 180_000)
})
