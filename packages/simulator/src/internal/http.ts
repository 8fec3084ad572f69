/** Request/response plumbing shared by every route: the per-request context, bodies, JSON answers, SSE writes. */
import type * as http from "node:http"
import { setImmediate as immediate } from "node:timers/promises"
import type * as Faults from "../Faults.js"
import { type ApiError, apiError, errorBody, type Json } from "./errors.js"
import type { State } from "./state.js"
import { newId } from "./text.js"

/** One request in flight. */
export interface Ctx {
  readonly st: State
  readonly req: http.IncomingMessage
  readonly res: http.ServerResponse
  readonly started: number
  readonly requestId: string
  readonly method: string
  readonly path: string
  readonly query: string
  key: string | undefined
  rateHeaders: Record<string, string> | undefined
  /** The response was completely written. */
  done: boolean
  /** We closed the socket on purpose (a fault). */
  intentional: boolean
  /** The client went away. */
  closed: boolean
  streaming: boolean
}

export const newCtx = (st: State, req: http.IncomingMessage, res: http.ServerResponse): Ctx => {
  const url = req.url ?? "/"
  const q = url.indexOf("?")
  return {
    st,
    req,
    res,
    started: performance.now(),
    requestId: newId("req", "_"),
    method: req.method ?? "GET",
    path: q === -1 ? url : url.slice(0, q),
    query: q === -1 ? "" : url.slice(q + 1),
    key: undefined,
    rateHeaders: undefined,
    done: false,
    intentional: false,
    closed: false,
    streaming: false
  }
}

export const sleep = (ms: number): Promise<void> =>
  ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms))

export const readBody = (req: http.IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)))
    req.on("error", reject)
  })

/** The body as a JSON object, or undefined when it is not one. */
export const parseJson = (body: Buffer): Json | undefined => {
  try {
    const v: unknown = JSON.parse(body.toString("utf8"))
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : undefined
  } catch {
    return undefined
  }
}

export const baseHeaders = (ctx: Ctx, contentType: string): http.OutgoingHttpHeaders => {
  const h: http.OutgoingHttpHeaders = {
    "content-type": contentType,
    "x-request-id": ctx.requestId,
    "openai-processing-ms": String(Math.round(performance.now() - ctx.started)),
    "openai-version": "2020-10-01"
  }
  if (ctx.rateHeaders !== undefined) Object.assign(h, ctx.rateHeaders)
  return h
}

/** Writes the status line and headers, counting the status. */
export const writeHead = (ctx: Ctx, code: number, h: http.OutgoingHttpHeaders): void => {
  ctx.res.writeHead(code, h)
  ctx.st.countStatus(code)
}

export const sendJson = (ctx: Ctx, code: number, body: string, extra?: http.OutgoingHttpHeaders): void => {
  if (ctx.closed) return
  const h = baseHeaders(ctx, "application/json")
  if (extra !== undefined) Object.assign(h, extra)
  h["content-length"] = Buffer.byteLength(body)
  writeHead(ctx, code, h)
  ctx.res.end(body)
  ctx.done = true
}

export const sendError = (ctx: Ctx, e: ApiError, extra?: http.OutgoingHttpHeaders): void =>
  sendJson(ctx, e.status, errorBody(e), extra)

export const notFound = (ctx: Ctx): void =>
  sendError(ctx, apiError(404, `Invalid URL (${ctx.method} ${ctx.path})`, "invalid_request_error"))

/** Marks the response complete and counts a success. */
export const succeed = (ctx: Ctx, body: Buffer | undefined): void => {
  ctx.st.succeed(body)
  ctx.done = true
}

/** Writes `last`, then destroys the socket once it is flushed (a deliberate cut). */
export const destroyAfterFlush = (ctx: Ctx, last: Buffer): void => {
  ctx.intentional = true
  if (ctx.closed) return
  ctx.res.write(last, () => ctx.req.socket.destroy())
}

/**
 * A 200 JSON answer, billed and counted as a success; under the `truncatedJson` fault, the full content-length
 * with half the body and a destroyed socket instead (neither billed nor a success).
 */
export const answerJson = (
  ctx: Ctx,
  text: string,
  fault: Faults.FaultKind | undefined,
  requestBody: Buffer | undefined,
  bill: () => void = () => {}
): void => {
  if (fault === "truncatedJson") {
    ctx.st.countFault(fault)
    const buf = Buffer.from(text, "utf8")
    const h = baseHeaders(ctx, "application/json")
    h["content-length"] = buf.length
    writeHead(ctx, 200, h)
    destroyAfterFlush(ctx, buf.subarray(0, Math.floor(buf.length / 2)))
    return
  }
  bill()
  sendJson(ctx, 200, text)
  succeed(ctx, requestBody)
}

/** A 200 JSON answer of a non-billable request. */
export const sendOk = (ctx: Ctx, value: unknown, fault: Faults.FaultKind | undefined): void =>
  answerJson(ctx, JSON.stringify(value), fault, undefined)

/** Starts an SSE response (200, `text/event-stream`), counting a started stream. */
export const startSse = (ctx: Ctx): void => {
  ctx.streaming = true
  ctx.st.counters.streamsStarted++
  const h = baseHeaders(ctx, "text/event-stream; charset=utf-8")
  h["cache-control"] = "no-cache"
  writeHead(ctx, 200, h)
}

/** The end of line of one stream: per `stream.lineEnding`, a seeded choice per stream when `"mixed"`. */
export const streamEol = (st: State): string => {
  const mode = st.cfg.stream.lineEnding
  return mode === "crlf" || (mode === "mixed" && st.streamRng() < 0.5) ? "\r\n" : "\n"
}

const slices = (st: State, buf: Buffer): Array<Buffer> => {
  const { minSliceBytes: min, maxSliceBytes: max } = st.cfg.stream
  const out: Array<Buffer> = []
  for (let i = 0; i < buf.length; ) {
    const n = min + Math.floor(st.streamRng() * (max - min + 1))
    out.push(buf.subarray(i, i + n))
    i += n
  }
  return out
}

const write = (ctx: Ctx, buf: Buffer): Promise<void> | undefined => {
  if (!ctx.res.write(buf)) {
    return new Promise((resolve) => {
      const done = () => {
        ctx.res.off("drain", done)
        ctx.res.off("close", done)
        resolve()
      }
      ctx.res.on("drain", done)
      ctx.res.on("close", done)
    })
  }
  return undefined
}

/** Writes bytes in random slices, yielding to the event loop between slices so they reach the socket apart. */
export const writeSliced = async (ctx: Ctx, text: string): Promise<void> => {
  const buf = Buffer.from(text, "utf8")
  if (ctx.st.cfg.stream.noSlicing) {
    await write(ctx, buf)
    return
  }
  const parts = slices(ctx.st, buf)
  for (let i = 0; i < parts.length; i++) {
    if (ctx.closed) return
    await write(ctx, parts[i]!)
    if (i < parts.length - 1) await immediate()
  }
}
