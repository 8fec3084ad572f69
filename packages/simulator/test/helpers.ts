import * as http from "node:http"
import { Effect } from "effect"
import type { Simulator, Stats } from "@sluice/simulator"

export const KEY = "sk-test-0123456789"

export const jsonHeaders = (key: string = KEY): Record<string, string> => ({
  authorization: `Bearer ${key}`,
  "content-type": "application/json"
})

/** POSTs JSON with fetch and reads the body as text. */
export const post = (url: string, path: string, body: unknown, key: string = KEY) =>
  Effect.promise(async () => {
    const res = await fetch(url + path, {
      method: "POST",
      headers: jsonHeaders(key),
      body: typeof body === "string" ? body : JSON.stringify(body)
    })
    return { status: res.status, headers: res.headers, text: await res.text() }
  })

export const get = (url: string, path: string, key: string = KEY) =>
  Effect.promise(async () => {
    const res = await fetch(url + path, { headers: { authorization: `Bearer ${key}` } })
    return { status: res.status, headers: res.headers, text: await res.text() }
  })

export const chatBody = (content: string, extra: Record<string, unknown> = {}) => ({
  model: "gpt-4o-mini",
  messages: [{ role: "user", content }],
  ...extra
})

export interface RawResult {
  readonly status: number | undefined
  readonly headers: http.IncomingHttpHeaders | undefined
  readonly chunks: ReadonlyArray<Buffer>
  readonly error: string | undefined
  readonly complete: boolean
}

/** A raw node:http request that records every body chunk as it arrived and how the exchange ended. */
export const raw = (port: number, path: string, body: unknown, key: string = KEY): Promise<RawResult> =>
  new Promise((resolve) => {
    const chunks: Array<Buffer> = []
    let status: number | undefined
    let headers: http.IncomingHttpHeaders | undefined
    let settled = false
    const finish = (error: string | undefined, complete: boolean) => {
      if (settled) return
      settled = true
      resolve({ status, headers, chunks, error, complete })
    }
    const payload = JSON.stringify(body)
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path: `/v1${path}`,
        method: "POST",
        agent: false,
        headers: { ...jsonHeaders(key), "content-length": Buffer.byteLength(payload) }
      },
      (res) => {
        status = res.statusCode
        headers = res.headers
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () => finish(undefined, res.complete))
        res.on("error", (e) => finish(e.message, false))
        res.on("aborted", () => finish("aborted", false))
        res.on("close", () => finish(res.complete ? undefined : "closed", res.complete))
      }
    )
    req.on("error", (e: NodeJS.ErrnoException) => finish(e.code ?? e.message, false))
    req.end(payload)
  })

/** Parses an SSE body into its `data:` payloads (accepts LF and CRLF). */
export const sseData = (text: string): Array<string> =>
  text
    .split(/\r?\n\r?\n/)
    .filter((e) => e.length > 0)
    .map((e) => {
      if (!e.startsWith("data: ")) throw new Error(`not a data event: ${JSON.stringify(e)}`)
      return e.slice(6)
    })

/**
 * Polls the simulator's counters until `ready` holds, in real time (the server sees sockets open and close
 * asynchronously), and returns the last snapshot. The deadline only turns a hang into a failed assertion with the
 * counters in it: it is far above anything a loaded machine needs, so no test depends on how fast it arrives.
 */
export const waitForStats = (
  sim: Simulator.Running,
  ready: (stats: Stats.Stats) => boolean,
  timeoutMs = 10_000
): Effect.Effect<Stats.Stats> =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    let stats = yield* sim.stats
    while (!ready(stats) && Date.now() < deadline) {
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
      stats = yield* sim.stats
    }
    return stats
  })
