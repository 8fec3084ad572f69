/** The node:http server: routing, auth, rate limits, faults, streaming, stats. */
import { createHash } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { setImmediate as immediate } from "node:timers/promises"
import * as Config from "../Config.js"
import * as Faults from "../Faults.js"
import * as RateLimits from "../RateLimits.js"
import type { Stats } from "../Stats.js"
import {
  type ApiError,
  apiError,
  type ChatPlan,
  chatChunks,
  chatJson,
  embeddingsJson,
  errorBody,
  invalidJson,
  modelNotFound,
  planChat,
  planEmbeddings
} from "./openai.js"
import { Store } from "./store.js"
import { newId } from "./text.js"

type Json = Record<string, unknown>

/** A running server with plain functions (the Effect API wraps these). */
export interface Handle {
  readonly url: string
  readonly port: number
  readonly stats: () => Stats
  readonly reset: () => void
  readonly update: (patch: Config.Config) => void
  readonly close: () => Promise<void>
}

class Counters {
  requests = 0
  byPath: Record<string, number> = {}
  byStatus: Record<string, number> = {}
  faults: Record<string, number> = {}
  successes = 0
  duplicateSuccesses = 0
  rateLimited = 0
  quotaExceeded = 0
  unauthorized = 0
  promptTokens = 0
  completionTokens = 0
  costUsd = 0
  maxConcurrent = 0
  inFlight = 0
  streamsStarted = 0
  streamsCompleted = 0
  streamsAborted = 0
  clientAborts = 0
  lastClientAbortAtMs = 0

  snapshot(): Stats {
    return {
      requests: this.requests,
      byPath: { ...this.byPath },
      byStatus: { ...this.byStatus },
      faults: { ...this.faults },
      successes: this.successes,
      duplicateSuccesses: this.duplicateSuccesses,
      rateLimited: this.rateLimited,
      quotaExceeded: this.quotaExceeded,
      unauthorized: this.unauthorized,
      promptTokens: this.promptTokens,
      completionTokens: this.completionTokens,
      totalTokens: this.promptTokens + this.completionTokens,
      costUsd: this.costUsd,
      maxConcurrent: this.maxConcurrent,
      inFlight: this.inFlight,
      streamsStarted: this.streamsStarted,
      streamsCompleted: this.streamsCompleted,
      streamsAborted: this.streamsAborted,
      clientAborts: this.clientAborts,
      lastClientAbortAtMs: this.lastClientAbortAtMs
    }
  }
}

interface Ctx {
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

const HTML_502 =
  "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n" +
  "<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"

const sleep = (ms: number): Promise<void> =>
  ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms))

const template = (method: string, path: string): string => {
  if (path.startsWith("/v1/models/")) return `${method} /v1/models/{id}`
  if (path.startsWith("/v1/files/")) {
    return path.endsWith("/content") ? `${method} /v1/files/{id}/content` : `${method} /v1/files/{id}`
  }
  if (path.startsWith("/v1/batches/")) {
    return path.endsWith("/cancel") ? `${method} /v1/batches/{id}/cancel` : `${method} /v1/batches/{id}`
  }
  return `${method} ${path}`
}

/** Starts the server; resolves once it listens. */
export const start = async (input: Config.Config): Promise<Handle> => {
  let raw: Config.Config = input
  let cfg = Config.resolve(raw)
  let faultRng = Faults.mulberry32(cfg.seed)
  let streamRng = Faults.mulberry32((cfg.seed ^ 0x9e3779b9) >>> 0)
  let counters = new Counters()
  let requestNumber = 0
  let pathNumbers = new Map<string, number>()
  let buckets = new Map<string, RateLimits.KeyBuckets>()
  let keyRequests = new Map<string, number>()
  let succeeded = new Set<string>()
  const limits = (): RateLimits.Limits => ({ rpm: cfg.rpm, tpm: cfg.tpm })

  const store = new Store(
    () => cfg,
    (endpoint, body) => {
      if (typeof body !== "object" || body === null || Array.isArray(body)) {
        return { status: 400, body: JSON.parse(errorBody(invalidJson())) as Json }
      }
      const created = Math.floor(cfg.clock() / 1000)
      if (endpoint === "/v1/chat/completions") {
        const plan = planChat({ ...(body as Json), stream: false }, cfg, created)
        if ("status" in plan) return { status: plan.status, body: JSON.parse(errorBody(plan)) as Json }
        account(plan.model, plan.promptTokens, plan.completionTokens)
        return { status: 200, body: chatJson(plan) }
      }
      const plan = planEmbeddings(body as Json, cfg)
      if ("status" in plan) return { status: plan.status, body: JSON.parse(errorBody(plan)) as Json }
      account(plan.model, plan.promptTokens, 0)
      return { status: 200, body: embeddingsJson(plan, cfg.seed) }
    }
  )

  const account = (model: string, prompt: number, completion: number) => {
    counters.promptTokens += prompt
    counters.completionTokens += completion
    counters.costUsd += Config.priceOf(model, prompt, completion)
  }

  const succeed = (ctx: Ctx, body: Buffer | undefined) => {
    counters.successes++
    if (body !== undefined && body.length > 0) {
      const digest = createHash("sha1").update(body).digest("base64")
      if (succeeded.has(digest)) counters.duplicateSuccesses++
      else succeeded.add(digest)
    }
    ctx.done = true
  }

  const baseHeaders = (ctx: Ctx, contentType: string): http.OutgoingHttpHeaders => {
    const h: http.OutgoingHttpHeaders = {
      "content-type": contentType,
      "x-request-id": ctx.requestId,
      "openai-processing-ms": String(Math.round(performance.now() - ctx.started)),
      "openai-version": "2020-10-01"
    }
    if (ctx.rateHeaders !== undefined) Object.assign(h, ctx.rateHeaders)
    return h
  }

  const status = (code: number) => {
    const k = String(code)
    counters.byStatus[k] = (counters.byStatus[k] ?? 0) + 1
  }

  const sendJson = (ctx: Ctx, code: number, body: string, extra?: http.OutgoingHttpHeaders) => {
    if (ctx.closed) return
    const h = baseHeaders(ctx, "application/json")
    if (extra !== undefined) Object.assign(h, extra)
    h["content-length"] = Buffer.byteLength(body)
    ctx.res.writeHead(code, h)
    ctx.res.end(body)
    status(code)
    ctx.done = true
  }

  const sendError = (ctx: Ctx, e: ApiError, extra?: http.OutgoingHttpHeaders) =>
    sendJson(ctx, e.status, errorBody(e), extra)

  const retryHeaders = (waitMs: number): http.OutgoingHttpHeaders => {
    const h: http.OutgoingHttpHeaders = {}
    const ms = Number.isFinite(waitMs) ? Math.max(1, Math.ceil(waitMs)) : 60_000
    if (cfg.headers.retryAfter) h["retry-after"] = String(Math.max(1, Math.ceil(ms / 1000)))
    if (cfg.headers.retryAfterMs) h["retry-after-ms"] = String(ms)
    return h
  }

  const faultHeaders = (): http.OutgoingHttpHeaders =>
    cfg.faults.shouldRetryHeader ? { "x-should-retry": "true" } : {}

  const countFault = (kind: Faults.FaultKind) => {
    counters.faults[kind] = (counters.faults[kind] ?? 0) + 1
  }

  /** Applies a fault that replaces the response. Returns true when the response was handled. */
  const applyTerminalFault = (ctx: Ctx, kind: Faults.FaultKind): boolean => {
    switch (kind) {
      case "500":
        countFault(kind)
        sendError(
          ctx,
          apiError(500, "The server had an error while processing your request. Sorry about that!", "server_error"),
          faultHeaders()
        )
        return true
      case "503":
        countFault(kind)
        sendError(
          ctx,
          apiError(503, "The engine is currently overloaded, please try again later.", "server_error"),
          faultHeaders()
        )
        return true
      case "502Html": {
        countFault(kind)
        const h = baseHeaders(ctx, "text/html")
        Object.assign(h, faultHeaders())
        h["content-length"] = Buffer.byteLength(HTML_502)
        ctx.res.writeHead(502, h)
        ctx.res.end(HTML_502)
        status(502)
        ctx.done = true
        return true
      }
      case "429":
        countFault(kind)
        sendError(
          ctx,
          apiError(429, "Rate limit reached. Please try again in 1s.", "requests", null, "rate_limit_exceeded"),
          { ...retryHeaders(1000), ...faultHeaders() }
        )
        return true
      case "reset":
        countFault(kind)
        ctx.intentional = true
        ctx.req.socket.resetAndDestroy()
        return true
      case "hang":
        countFault(kind)
        return true
      default:
        return false
    }
  }

  const readBody = (req: http.IncomingMessage): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)))
      req.on("error", reject)
    })

  const parseJson = (body: Buffer): Json | undefined => {
    try {
      const v: unknown = JSON.parse(body.toString("utf8"))
      return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : undefined
    } catch {
      return undefined
    }
  }

  /** Auth: returns the key or answers 401. */
  const authenticate = (ctx: Ctx): string | undefined => {
    const auth = ctx.req.headers.authorization
    const key = auth?.startsWith("Bearer ") ? auth.slice(7).trim() : ""
    const reject = (e: ApiError) => {
      counters.unauthorized++
      sendError(ctx, e)
      return undefined
    }
    if (key === "") {
      return reject(
        apiError(
          401,
          "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer " +
            "auth (i.e. Authorization: Bearer YOUR_KEY).",
          "invalid_request_error"
        )
      )
    }
    const n = (keyRequests.get(key) ?? 0) + 1
    keyRequests.set(key, n)
    const masked = key.length > 8 ? `${key.slice(0, 3)}***${key.slice(-4)}` : "***"
    const invalid = apiError(
      401,
      `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`,
      "invalid_request_error",
      null,
      "invalid_api_key"
    )
    if (cfg.keys !== undefined && !cfg.keys.has(key)) return reject(invalid)
    if (cfg.revoke.length > 0) {
      const now = cfg.clock()
      for (const r of cfg.revoke) {
        if (r.key !== key) continue
        if ((r.afterRequests !== undefined && n > r.afterRequests) || (r.atMs !== undefined && now >= r.atMs)) {
          return reject(invalid)
        }
      }
    }
    return key
  }

  const bucketsOf = (key: string, now: number): RateLimits.KeyBuckets => {
    let b = buckets.get(key)
    if (b === undefined) {
      b = { requests: RateLimits.empty(now), tokens: RateLimits.empty(now) }
      buckets.set(key, b)
    }
    return b
  }

  const limited = () => cfg.rpm !== undefined || cfg.tpm !== undefined

  /** Quota, buckets and faults for a billable request. Returns the fault to apply later, or "handled". */
  const admit = (
    ctx: Ctx,
    model: string,
    tokens: number,
    streaming: boolean
  ): Faults.FaultKind | undefined | "handled" => {
    if (cfg.quotaUsd !== undefined && counters.costUsd >= cfg.quotaUsd) {
      counters.quotaExceeded++
      sendError(
        ctx,
        apiError(
          429,
          "You exceeded your current quota, please check your plan and billing details. For more information on this " +
            "error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
          "insufficient_quota",
          null,
          "insufficient_quota"
        )
      )
      return "handled"
    }
    if (limited()) {
      const now = cfg.clock()
      const key = ctx.key!
      const decision = RateLimits.admit(limits(), bucketsOf(key, now), tokens, now)
      buckets.set(key, decision.buckets)
      if (cfg.headers.rateLimit) ctx.rateHeaders = RateLimits.headers(limits(), decision.buckets, now)
      if (!decision.admitted) {
        counters.rateLimited++
        const scope = decision.scope!
        const limit = scope === "requests" ? cfg.rpm! : cfg.tpm!
        const message = Number.isFinite(decision.waitMs)
          ? `Rate limit reached for ${model} on ${scope} per min (${scope === "requests" ? "RPM" : "TPM"}): ` +
            `Limit ${limit}, Requested ${scope === "requests" ? 1 : tokens}. Please try again in ` +
            `${RateLimits.formatDuration(decision.waitMs)}.`
          : `Request too large for ${model} on tokens per min (TPM): Limit ${limit}, Requested ${tokens}. ` +
            "The input or output tokens must be reduced in order to run successfully."
        sendError(ctx, apiError(429, message, scope, null, "rate_limit_exceeded"), retryHeaders(decision.waitMs))
        return "handled"
      }
    }
    const fault = Faults.choose({
      rates: cfg.faults,
      script: cfg.script,
      requestNumber,
      path: ctx.path,
      pathRequestNumber: pathNumbers.get(ctx.path) ?? 0,
      streaming,
      u: faultRng()
    })
    if (fault !== undefined && applyTerminalFault(ctx, fault)) return "handled"
    return fault
  }

  const peekRateHeaders = (ctx: Ctx) => {
    if (ctx.key !== undefined && limited() && cfg.headers.rateLimit) {
      const now = cfg.clock()
      ctx.rateHeaders = RateLimits.headers(limits(), bucketsOf(ctx.key, now), now)
    }
  }

  const slices = (buf: Buffer): Array<Buffer> => {
    const { minSliceBytes: min, maxSliceBytes: max } = cfg.stream
    const out: Array<Buffer> = []
    for (let i = 0; i < buf.length; ) {
      const n = min + Math.floor(streamRng() * (max - min + 1))
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
  const writeSliced = async (ctx: Ctx, text: string) => {
    const buf = Buffer.from(text, "utf8")
    if (cfg.stream.noSlicing) {
      await write(ctx, buf)
      return
    }
    const parts = slices(buf)
    for (let i = 0; i < parts.length; i++) {
      if (ctx.closed) return
      await write(ctx, parts[i]!)
      if (i < parts.length - 1) await immediate()
    }
  }

  const destroyAfterFlush = (ctx: Ctx, last: Buffer) => {
    ctx.intentional = true
    if (ctx.closed) return
    ctx.res.write(last, () => ctx.req.socket.destroy())
  }

  const streamChat = async (ctx: Ctx, plan: ChatPlan, body: Buffer, fault: Faults.FaultKind | undefined) => {
    const { requestMs, firstTokenMs, perChunkMs } = cfg.latency
    await sleep(requestMs)
    if (ctx.closed) return
    ctx.streaming = true
    counters.streamsStarted++
    const h = baseHeaders(ctx, "text/event-stream; charset=utf-8")
    h["cache-control"] = "no-cache"
    ctx.res.writeHead(200, h)
    status(200)
    const maxPer = cfg.stream.maxTokensPerChunk
    const events = chatChunks(plan, () => 1 + Math.floor(streamRng() * maxPer))
    const mode = cfg.stream.lineEnding
    const eol = mode === "crlf" || (mode === "mixed" && streamRng() < 0.5) ? "\r\n" : "\n"
    let dropAt = -1
    if (fault === "streamDrop" || fault === "streamError") {
      countFault(fault)
      dropAt = 1 + Math.floor(streamRng() * (events.length - 1))
    }
    let firstDelay = firstTokenMs
    if (fault === "slowFirstToken") {
      countFault(fault)
      firstDelay += cfg.faults.slowFirstTokenMs
    }
    let pending = ""
    for (let i = 0; i < events.length; i++) {
      const delay = i === 1 ? firstDelay : i > 1 ? perChunkMs : 0
      if (delay > 0) {
        if (pending !== "") await writeSliced(ctx, pending)
        pending = ""
        await sleep(delay)
      }
      if (ctx.closed) return
      const frame = `data: ${events[i]}${eol}${eol}`
      if (i === dropAt && fault === "streamError") {
        const error = errorBody(
          apiError(500, "The server had an error while processing your request. Sorry about that!", "server_error")
        )
        await writeSliced(ctx, `${pending}event: error${eol}data: ${error}${eol}${eol}`)
        if (ctx.closed) return
        ctx.intentional = true
        ctx.res.end()
        return
      }
      if (i === dropAt) {
        if (pending !== "") await writeSliced(ctx, pending)
        if (ctx.closed) return
        destroyAfterFlush(ctx, Buffer.from(frame.slice(0, Math.ceil(frame.length / 2)), "utf8"))
        return
      }
      pending += frame
    }
    pending += `data: [DONE]${eol}${eol}`
    await writeSliced(ctx, pending)
    if (ctx.closed) return
    ctx.res.end()
    counters.streamsCompleted++
    account(plan.model, plan.promptTokens, plan.completionTokens)
    succeed(ctx, body)
  }

  const chat = async (ctx: Ctx, body: Buffer) => {
    const json = parseJson(body)
    if (json === undefined) return sendError(ctx, invalidJson())
    const plan = planChat(json, cfg, Math.floor(cfg.clock() / 1000))
    if ("status" in plan) return sendError(ctx, plan)
    const fault = admit(ctx, plan.model, plan.admissionTokens, plan.stream)
    if (fault === "handled") return
    if (plan.stream) return streamChat(ctx, plan, body, fault)
    const { requestMs, firstTokenMs, perChunkMs } = cfg.latency
    const chunks = plan.content === undefined ? 1 : Math.ceil(plan.content.length / cfg.stream.maxTokensPerChunk)
    await sleep(requestMs + firstTokenMs + perChunkMs * chunks)
    if (ctx.closed) return
    const text = JSON.stringify(chatJson(plan))
    answerJson(ctx, text, fault, body, () => account(plan.model, plan.promptTokens, plan.completionTokens))
  }

  const embeddings = async (ctx: Ctx, body: Buffer) => {
    const json = parseJson(body)
    if (json === undefined) return sendError(ctx, invalidJson())
    const plan = planEmbeddings(json, cfg)
    if ("status" in plan) return sendError(ctx, plan)
    const fault = admit(ctx, plan.model, plan.promptTokens, false)
    if (fault === "handled") return
    await sleep(cfg.latency.requestMs)
    if (ctx.closed) return
    const text = JSON.stringify(embeddingsJson(plan, cfg.seed))
    answerJson(ctx, text, fault, body, () => account(plan.model, plan.promptTokens, 0))
  }

  const modelObject = (id: string) => ({ id, object: "model", created: 1_700_000_000, owned_by: "system" })

  /** Faults for non-billable endpoints (no buckets, no quota). */
  const simpleFault = (ctx: Ctx): Faults.FaultKind | undefined | "handled" => {
    const fault = Faults.choose({
      rates: cfg.faults,
      script: cfg.script,
      requestNumber,
      path: ctx.path,
      pathRequestNumber: pathNumbers.get(ctx.path) ?? 0,
      streaming: false,
      u: faultRng()
    })
    if (fault !== undefined && applyTerminalFault(ctx, fault)) return "handled"
    return fault
  }

  /**
   * A 200 JSON answer, billed and counted as a success; under the `truncatedJson` fault, the full content-length
   * with half the body and a destroyed socket instead (neither billed nor a success).
   */
  const answerJson = (
    ctx: Ctx,
    text: string,
    fault: Faults.FaultKind | undefined,
    requestBody: Buffer | undefined,
    bill: () => void = () => {}
  ) => {
    if (fault === "truncatedJson") {
      countFault(fault)
      const buf = Buffer.from(text, "utf8")
      const h = baseHeaders(ctx, "application/json")
      h["content-length"] = buf.length
      ctx.res.writeHead(200, h)
      status(200)
      destroyAfterFlush(ctx, buf.subarray(0, Math.floor(buf.length / 2)))
      return
    }
    bill()
    sendJson(ctx, 200, text)
    succeed(ctx, requestBody)
  }

  const sendOk = (ctx: Ctx, value: unknown, fault: Faults.FaultKind | undefined) =>
    answerJson(ctx, JSON.stringify(value), fault, undefined)

  const notFound = (ctx: Ctx) =>
    sendError(ctx, apiError(404, `Invalid URL (${ctx.method} ${ctx.path})`, "invalid_request_error"))

  const other = async (ctx: Ctx, body: Buffer) => {
    const { method, path } = ctx
    const parts = path.split("/") // ["", "v1", resource, id?, action?]
    const resource = parts[2]
    const id = parts[3] !== undefined ? decodeURIComponent(parts[3]) : undefined
    const action = parts[4]
    if (parts.length > 5) return notFound(ctx)
    if (resource === "models" && method === "GET" && action === undefined) {
      if (id === undefined) {
        const fault = simpleFault(ctx)
        if (fault === "handled") return
        return sendOk(ctx, { object: "list", data: cfg.models.map(modelObject) }, fault)
      }
      if (cfg.retiredModels.has(id) || !cfg.modelSet.has(id)) {
        return sendError(ctx, modelNotFound(id, cfg.retiredModels.has(id)))
      }
      const fault = simpleFault(ctx)
      if (fault === "handled") return
      return sendOk(ctx, modelObject(id), fault)
    }
    if (resource === "files") {
      if (id === undefined && method === "POST") {
        const contentType = ctx.req.headers["content-type"] ?? ""
        if (!contentType.startsWith("multipart/form-data")) {
          return sendError(ctx, apiError(400, "Expected a multipart/form-data body.", "invalid_request_error"))
        }
        let form: FormData
        try {
          form = await new Request("http://127.0.0.1/", {
            method: "POST",
            headers: { "content-type": contentType },
            body: new Uint8Array(body) as Uint8Array<ArrayBuffer>
          }).formData()
        } catch {
          return sendError(ctx, apiError(400, "Could not parse the multipart form.", "invalid_request_error"))
        }
        const purpose = form.get("purpose")
        const file = form.get("file")
        if (typeof purpose !== "string") return sendError(ctx, apiErrorMissing("purpose"))
        if (file === null || typeof file === "string") return sendError(ctx, apiErrorMissing("file"))
        const fault = simpleFault(ctx)
        if (fault === "handled") return
        const stored = store.addFile(file.name, purpose, Buffer.from(await file.arrayBuffer()))
        return sendOk(ctx, stored.meta, fault)
      }
      if (id === undefined && method === "GET") {
        const data = [...store.files.values()].map((f) => f.meta)
        return sendOk(ctx, { object: "list", data, has_more: false }, undefined)
      }
      if (id === undefined) return notFound(ctx)
      const file = store.files.get(id)
      if (file === undefined) {
        return sendError(ctx, apiError(404, `No such File object: ${id}`, "invalid_request_error", "id", null))
      }
      if (method === "GET" && action === undefined) return sendOk(ctx, file.meta, undefined)
      if (method === "GET" && action === "content") {
        const h = baseHeaders(ctx, "application/octet-stream")
        h["content-length"] = file.content.length
        ctx.res.writeHead(200, h)
        ctx.res.end(file.content)
        status(200)
        succeed(ctx, undefined)
        return
      }
      if (method === "DELETE" && action === undefined) {
        store.files.delete(id)
        return sendOk(ctx, { id, object: "file", deleted: true }, undefined)
      }
      return notFound(ctx)
    }
    if (resource === "batches") {
      if (id === undefined && method === "POST") {
        const json = parseJson(body)
        if (json === undefined) return sendError(ctx, invalidJson())
        const fault = simpleFault(ctx)
        if (fault === "handled") return
        const batch = store.createBatch(json)
        if ("status" in batch && typeof batch.status === "number") return sendError(ctx, batch as ApiError)
        return sendOk(ctx, batch, fault)
      }
      if (id === undefined && method === "GET") {
        const limitParam = new URLSearchParams(ctx.query).get("limit")
        const limit = limitParam === null ? 20 : Math.max(1, Math.min(100, Number(limitParam) || 20))
        const all = [...store.batches.values()].reverse()
        const data = all.slice(0, limit)
        return sendOk(
          ctx,
          {
            object: "list",
            data,
            first_id: data[0]?.id ?? null,
            last_id: data.at(-1)?.id ?? null,
            has_more: all.length > limit
          },
          undefined
        )
      }
      if (id === undefined) return notFound(ctx)
      if (method === "GET" && action === undefined) {
        const batch = store.batches.get(id)
        if (batch === undefined) {
          return sendError(ctx, apiError(404, `No batch found with id '${id}'.`, "invalid_request_error", null, null))
        }
        return sendOk(ctx, batch, undefined)
      }
      if (method === "POST" && action === "cancel") {
        const batch = store.cancelBatch(id)
        if (typeof batch.status === "number") return sendError(ctx, batch as ApiError)
        return sendOk(ctx, batch, undefined)
      }
      return notFound(ctx)
    }
    return notFound(ctx)
  }

  const apiErrorMissing = (name: string) =>
    apiError(400, `Missing required parameter: '${name}'.`, "invalid_request_error", name, "missing_required_parameter")

  const onApi = async (ctx: Ctx) => {
    requestNumber++
    pathNumbers.set(ctx.path, (pathNumbers.get(ctx.path) ?? 0) + 1)
    const key = template(ctx.method, ctx.path)
    counters.requests++
    counters.byPath[key] = (counters.byPath[key] ?? 0) + 1
    counters.inFlight++
    if (counters.inFlight > counters.maxConcurrent) counters.maxConcurrent = counters.inFlight
    ctx.res.once("close", () => {
      counters.inFlight--
      if (!ctx.done) {
        ctx.closed = true
        if (!ctx.intentional) {
          counters.clientAborts++
          counters.lastClientAbortAtMs = Date.now()
          if (ctx.streaming) counters.streamsAborted++
        }
      }
    })
    const body = await readBody(ctx.req)
    const apiKey = authenticate(ctx)
    if (apiKey === undefined) return
    ctx.key = apiKey
    peekRateHeaders(ctx)
    if (ctx.method === "POST" && ctx.path === "/v1/chat/completions") return chat(ctx, body)
    if (ctx.method === "POST" && ctx.path === "/v1/embeddings") return embeddings(ctx, body)
    return other(ctx, body)
  }

  const onSim = async (ctx: Ctx) => {
    const body = await readBody(ctx.req)
    const reply = (code: number, value: unknown) => {
      const text = JSON.stringify(value)
      ctx.res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
      ctx.res.end(text)
    }
    if (ctx.method === "GET" && ctx.path === "/__sim/stats") return reply(200, counters.snapshot())
    if (ctx.method === "POST" && ctx.path === "/__sim/reset") {
      reset()
      return reply(200, { ok: true })
    }
    if (ctx.method === "POST" && ctx.path === "/__sim/config") {
      const patch = parseJson(body)
      if (patch === undefined) return reply(400, JSON.parse(errorBody(invalidJson())))
      update(patch as Config.Config)
      return reply(200, { ok: true })
    }
    return reply(404, JSON.parse(errorBody(apiError(404, `Invalid URL (${ctx.method} ${ctx.path})`))))
  }

  const reset = () => {
    counters = new Counters()
    requestNumber = 0
    pathNumbers = new Map()
    buckets = new Map()
    keyRequests = new Map()
    succeeded = new Set()
    faultRng = Faults.mulberry32(cfg.seed)
    streamRng = Faults.mulberry32((cfg.seed ^ 0x9e3779b9) >>> 0)
  }

  const update = (patch: Config.Config) => {
    const next = Config.merge(raw, patch)
    const resolved = Config.resolve(next)
    raw = next
    cfg = resolved
    if (patch.seed !== undefined) {
      faultRng = Faults.mulberry32(cfg.seed)
      streamRng = Faults.mulberry32((cfg.seed ^ 0x9e3779b9) >>> 0)
    }
  }

  const server = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    const url = req.url ?? "/"
    const q = url.indexOf("?")
    const ctx: Ctx = {
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
    const run = ctx.path.startsWith("/__sim/") ? onSim(ctx) : onApi(ctx)
    run.catch((error: unknown) => {
      if (ctx.res.headersSent) {
        ctx.res.destroy()
        return
      }
      sendError(ctx, apiError(500, `Simulator bug: ${String(error)}`, "server_error"))
    })
  })

  return new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(cfg.port, cfg.host, () => {
      server.off("error", reject)
      const port = (server.address() as AddressInfo).port
      resolve({
        url: `http://127.0.0.1:${port}/v1`,
        port,
        stats: () => counters.snapshot(),
        reset,
        update,
        close: () =>
          new Promise<void>((done) => {
            store.close()
            server.close(() => done())
            server.closeAllConnections()
          })
      })
    })
  })
}
