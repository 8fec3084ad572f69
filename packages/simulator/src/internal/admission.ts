/** The gates of an API request: auth, quota, the rate-limit buckets and the fault draw. */
import type * as http from "node:http"
import * as Faults from "../Faults.js"
import * as RateLimits from "../RateLimits.js"
import { type ApiError, apiError, quotaExceeded, SERVER_ERROR } from "./errors.js"
import { baseHeaders, type Ctx, sendError, writeHead } from "./http.js"
import type { State } from "./state.js"

const HTML_502 =
  "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n" +
  "<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"

/** `retry-after` / `retry-after-ms` for a wait, per the header switches. */
export const retryHeaders = (st: State, waitMs: number): http.OutgoingHttpHeaders => {
  const h: http.OutgoingHttpHeaders = {}
  const ms = Number.isFinite(waitMs) ? Math.max(1, Math.ceil(waitMs)) : 60_000
  if (st.cfg.headers.retryAfter) h["retry-after"] = String(Math.max(1, Math.ceil(ms / 1000)))
  if (st.cfg.headers.retryAfterMs) h["retry-after-ms"] = String(ms)
  return h
}

const faultHeaders = (st: State): http.OutgoingHttpHeaders =>
  st.cfg.faults.shouldRetryHeader ? { "x-should-retry": "true" } : {}

const send502Html = (ctx: Ctx) => {
  const h = baseHeaders(ctx, "text/html")
  Object.assign(h, faultHeaders(ctx.st))
  h["content-length"] = Buffer.byteLength(HTML_502)
  writeHead(ctx, 502, h)
  ctx.res.end(HTML_502)
  ctx.done = true
}

const OVERLOADED = "The engine is currently overloaded, please try again later."

/** Applies a fault that replaces the response. Returns true when the response was handled. */
const applyTerminalFault = (ctx: Ctx, kind: Faults.FaultKind): boolean => {
  const st = ctx.st
  switch (kind) {
    case "500":
      sendError(ctx, apiError(500, SERVER_ERROR, "server_error"), faultHeaders(st))
      break
    case "503":
      sendError(ctx, apiError(503, OVERLOADED, "server_error"), faultHeaders(st))
      break
    case "502Html":
      send502Html(ctx)
      break
    case "429":
      sendError(
        ctx,
        apiError(429, "Rate limit reached. Please try again in 1s.", "requests", null, "rate_limit_exceeded"),
        { ...retryHeaders(st, 1000), ...faultHeaders(st) }
      )
      break
    case "reset":
      ctx.intentional = true
      ctx.req.socket.resetAndDestroy()
      break
    case "hang":
      break
    default:
      return false
  }
  st.countFault(kind)
  return true
}

/** Draws the request's fault; applies it when it replaces the response ("handled"). */
export const drawFault = (ctx: Ctx, streaming: boolean): Faults.FaultKind | undefined | "handled" => {
  const st = ctx.st
  const fault = Faults.choose({
    rates: st.cfg.faults,
    script: st.cfg.script,
    requestNumber: st.requestNumber,
    path: ctx.path,
    pathRequestNumber: st.pathNumbers.get(ctx.path) ?? 0,
    streaming,
    u: st.faultRng()
  })
  if (fault !== undefined && applyTerminalFault(ctx, fault)) return "handled"
  return fault
}

const INVALID_KEY = (masked: string) =>
  apiError(
    401,
    `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    "invalid_request_error",
    null,
    "invalid_api_key"
  )

const NO_KEY = apiError(
  401,
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer " +
    "auth (i.e. Authorization: Bearer YOUR_KEY).",
  "invalid_request_error"
)

const revoked = (st: State, key: string, n: number): boolean => {
  if (st.cfg.revoke.length === 0) return false
  const now = st.cfg.clock()
  for (const r of st.cfg.revoke) {
    if (r.key !== key) continue
    if ((r.afterRequests !== undefined && n > r.afterRequests) || (r.atMs !== undefined && now >= r.atMs)) return true
  }
  return false
}

/** Auth: returns the key or answers 401. */
export const authenticate = (ctx: Ctx): string | undefined => {
  const st = ctx.st
  const auth = ctx.req.headers.authorization
  const key = auth?.startsWith("Bearer ") ? auth.slice(7).trim() : ""
  const reject = (e: ApiError) => {
    st.counters.unauthorized++
    sendError(ctx, e)
    return undefined
  }
  if (key === "") return reject(NO_KEY)
  const n = (st.keyRequests.get(key) ?? 0) + 1
  st.keyRequests.set(key, n)
  const masked = key.length > 8 ? `${key.slice(0, 3)}***${key.slice(-4)}` : "***"
  if (st.cfg.keys !== undefined && !st.cfg.keys.has(key)) return reject(INVALID_KEY(masked))
  if (revoked(st, key, n)) return reject(INVALID_KEY(masked))
  return key
}

const bucketsOf = (st: State, key: string, now: number): RateLimits.KeyBuckets => {
  let b = st.buckets.get(key)
  if (b === undefined) {
    b = { requests: RateLimits.empty(now), tokens: RateLimits.empty(now) }
    st.buckets.set(key, b)
  }
  return b
}

const windowsOf = (st: State, key: string): RateLimits.KeyWindows =>
  st.windows.get(key) ?? { requests: undefined, tokens: undefined }

/** The key's `x-ratelimit-*` headers at `now`, in the configured style. */
const rateHeadersOf = (st: State, key: string, now: number): Record<string, string> => {
  const style = st.cfg.headers.style
  if (style === "fixed-window") return RateLimits.fixedHeaders(st.limits(), windowsOf(st, key), now)
  return RateLimits.headersIn(style, st.limits(), bucketsOf(st, key, now), now)
}

/** The current rate-limit headers of the request's key (every authenticated response carries them). */
export const peekRateHeaders = (ctx: Ctx): void => {
  const st = ctx.st
  if (ctx.key !== undefined && st.limited() && st.cfg.headers.rateLimit) {
    ctx.rateHeaders = rateHeadersOf(st, ctx.key, st.cfg.clock())
  }
}

const rateLimitMessage = (
  st: State,
  model: string,
  decision: { readonly scope: "requests" | "tokens" | undefined; readonly waitMs: number },
  tokens: number
): ApiError => {
  const scope = decision.scope!
  const limit = scope === "requests" ? st.cfg.rpm! : st.cfg.tpm!
  const message = Number.isFinite(decision.waitMs)
    ? `Rate limit reached for ${model} on ${scope} per min (${scope === "requests" ? "RPM" : "TPM"}): ` +
      `Limit ${limit}, Requested ${scope === "requests" ? 1 : tokens}. Please try again in ` +
      `${RateLimits.formatDuration(decision.waitMs)}.`
    : `Request too large for ${model} on tokens per min (TPM): Limit ${limit}, Requested ${tokens}. ` +
      "The input or output tokens must be reduced in order to run successfully."
  return apiError(429, message, scope, null, "rate_limit_exceeded")
}

/** Charges the key's buckets (or fixed windows); the decision's scope and wait. */
const charge = (st: State, key: string, tokens: number, now: number) => {
  if (st.cfg.headers.style === "fixed-window") {
    const decision = RateLimits.admitFixed(st.limits(), windowsOf(st, key), tokens, now)
    st.windows.set(key, decision.windows)
    return decision
  }
  const decision = RateLimits.admit(st.limits(), bucketsOf(st, key, now), tokens, now)
  st.buckets.set(key, decision.buckets)
  return decision
}

/** The limits: false when the request was answered 429. */
const takeBuckets = (ctx: Ctx, model: string, tokens: number): boolean => {
  const st = ctx.st
  const now = st.cfg.clock()
  const key = ctx.key!
  const decision = charge(st, key, tokens, now)
  if (st.cfg.headers.rateLimit) ctx.rateHeaders = rateHeadersOf(st, key, now)
  if (decision.admitted) return true
  st.counters.rateLimited++
  sendError(ctx, rateLimitMessage(st, model, decision, tokens), retryHeaders(st, decision.waitMs))
  return false
}

/** Quota, buckets and faults for a billable request. Returns the fault to apply later, or "handled". */
export const admit = (
  ctx: Ctx,
  model: string,
  tokens: number,
  streaming: boolean
): Faults.FaultKind | undefined | "handled" => {
  const st = ctx.st
  if (st.cfg.quotaUsd !== undefined && st.counters.costUsd >= st.cfg.quotaUsd) {
    st.counters.quotaExceeded++
    sendError(ctx, quotaExceeded())
    return "handled"
  }
  if (st.limited() && !takeBuckets(ctx, model, tokens)) return "handled"
  return drawFault(ctx, streaming)
}
