/** The node:http server: counts each request, authenticates it and hands it to its route family. */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import type * as Config from "../Config.js"
import type { Stats } from "../Stats.js"
import { authenticate, peekRateHeaders } from "./admission.js"
import { apiError } from "./errors.js"
import { type Ctx, newCtx, notFound, readBody, sendError } from "./http.js"
import { batches, executor } from "./routes/batches.js"
import { chat } from "./routes/chat.js"
import { control } from "./routes/control.js"
import { embeddings } from "./routes/embeddings.js"
import { files } from "./routes/files.js"
import { models } from "./routes/models.js"
import { responses } from "./routes/responses.js"
import { State } from "./state.js"
import { Store } from "./store.js"

/** A running server with plain functions (the Effect API wraps these). */
export interface Handle {
  readonly url: string
  readonly port: number
  readonly stats: () => Stats
  readonly reset: () => void
  readonly update: (patch: Config.Config) => void
  readonly close: () => Promise<void>
}

/** The stats key of a path: ids replaced by `{id}`. */
const template = (method: string, path: string): string => {
  if (path.startsWith("/v1/models/")) return `${method} /v1/models/{id}`
  if (path.startsWith("/v1/files/")) {
    return path.endsWith("/content") ? `${method} /v1/files/{id}/content` : `${method} /v1/files/{id}`
  }
  if (path.startsWith("/v1/responses/") && path !== "/v1/responses/input_tokens") {
    return path.endsWith("/cancel") ? `${method} /v1/responses/{id}/cancel` : `${method} /v1/responses/{id}`
  }
  if (path.startsWith("/v1/batches/")) {
    return path.endsWith("/cancel") ? `${method} /v1/batches/{id}/cancel` : `${method} /v1/batches/{id}`
  }
  return `${method} ${path}`
}

/** Counts the request and watches for the client going away. */
const track = (ctx: Ctx) => {
  const st = ctx.st
  const c = st.counters
  st.requestNumber++
  st.pathNumbers.set(ctx.path, (st.pathNumbers.get(ctx.path) ?? 0) + 1)
  const key = template(ctx.method, ctx.path)
  c.requests++
  c.byPath[key] = (c.byPath[key] ?? 0) + 1
  c.inFlight++
  if (c.inFlight > c.maxConcurrent) c.maxConcurrent = c.inFlight
  ctx.res.once("close", () => {
    const now = st.counters // a reset in between starts counting afresh
    now.inFlight--
    if (ctx.done) return
    ctx.closed = true
    if (ctx.intentional) return
    now.clientAborts++
    now.lastClientAbortAtMs = Date.now()
    if (ctx.streaming) now.streamsAborted++
  })
}

/** The resource families under `/v1/{resource}/{id?}/{action?}`. */
const route = (ctx: Ctx, body: Buffer): Promise<void> | void => {
  if (ctx.method === "POST" && ctx.path === "/v1/chat/completions") return chat(ctx, body)
  if (ctx.method === "POST" && ctx.path === "/v1/embeddings") return embeddings(ctx, body)
  const parts = ctx.path.split("/") // ["", "v1", resource, id?, action?]
  if (parts.length > 5) return notFound(ctx)
  const id = parts[3] !== undefined ? decodeURIComponent(parts[3]) : undefined
  const action = parts[4]
  switch (parts[2]) {
    case "models":
      return models(ctx, id, action)
    case "files":
      return files(ctx, body, id, action)
    case "batches":
      return batches(ctx, body, id, action)
    case "responses":
      return responses(ctx, body, id, action)
    default:
      return notFound(ctx)
  }
}

const onApi = async (ctx: Ctx) => {
  track(ctx)
  const body = await readBody(ctx.req)
  const key = authenticate(ctx)
  if (key === undefined) return
  ctx.key = key
  peekRateHeaders(ctx)
  return route(ctx, body)
}

const listen = (server: http.Server, st: State): Promise<Handle> =>
  new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(st.cfg.port, st.cfg.host, () => {
      server.off("error", reject)
      const port = (server.address() as AddressInfo).port
      resolve({
        url: `http://127.0.0.1:${port}/v1`,
        port,
        stats: () => st.counters.snapshot(),
        reset: () => st.reset(),
        update: (patch) => st.update(patch),
        close: () =>
          new Promise<void>((done) => {
            st.store.close()
            server.close(() => done())
            server.closeAllConnections()
          })
      })
    })
  })

/** Starts the server; resolves once it listens. */
export const start = async (input: Config.Config): Promise<Handle> => {
  const st = new State(input)
  st.store = new Store(() => st.cfg, executor(st))
  const server = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    const ctx = newCtx(st, req, res)
    const run = ctx.path.startsWith("/__sim/") ? control(ctx) : onApi(ctx)
    run.catch((error: unknown) => {
      if (ctx.res.headersSent) {
        ctx.res.destroy()
        return
      }
      sendError(ctx, apiError(500, `Simulator bug: ${String(error)}`, "server_error"))
    })
  })
  return listen(server, st)
}
