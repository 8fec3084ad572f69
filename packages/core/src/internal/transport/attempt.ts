/**
 * What every transport shares for one request: the abort controller with its reason, the headers and total
 * timers, the request body's encoding, and the mapping of a platform failure to an `OpenAiError`. A transport
 * (undici, fetch) only says how to send and how to read the body.
 *
 * Timeouts are plain timers that abort the request, not forked fibers racing it
 * (docs/decisions/0004-direct-undici.md).
 *
 * @internal
 */
import { ConnectionFailed, InvalidRequest, type OpenAiError, ResponseDecodeFailed, Timeout } from "../../Errors.js"
import type { Part, Request, SendOptions } from "../../Transport.js"

/** Why a request was aborted by us (not by the peer). */
type AbortReason = { readonly _tag: "Timeout"; readonly phase: "headers" | "total" } | { readonly _tag: "Closed" }

const closed: AbortReason = { _tag: "Closed" }
const headersElapsed: AbortReason = { _tag: "Timeout", phase: "headers" }
const totalElapsed: AbortReason = { _tag: "Timeout", phase: "total" }

/** What an attempt aborts: an `AbortController` (fetch) or an `EventEmitter` (undici). */
export interface Abortable {
  abort(reason: unknown): void
}

/**
 * One timer for every request in flight instead of two per request: it is armed for the earliest deadline,
 * re-armed only when a request's deadline is earlier than that, and when it fires it aborts the requests whose
 * deadline passed and re-arms for the next one. Unref'd: a request in flight keeps the process alive by its socket.
 * Deadlines are `performance.now()` milliseconds (a monotonic clock, like the timers themselves).
 */
class Deadlines {
  private readonly pending = new Set<Attempt>()
  private timer: ReturnType<typeof setTimeout> | undefined
  private armedFor = Number.POSITIVE_INFINITY

  add(attempt: Attempt, deadline: number): void {
    this.pending.add(attempt)
    if (deadline < this.armedFor) this.arm(deadline)
  }

  delete(attempt: Attempt): void {
    this.pending.delete(attempt)
  }

  private arm(deadline: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.armedFor = deadline
    this.timer = setTimeout(this.fire, Math.max(1, Math.ceil(deadline - performance.now())))
    this.timer.unref()
  }

  private readonly fire = (): void => {
    this.timer = undefined
    this.armedFor = Number.POSITIVE_INFINITY
    const now = performance.now()
    let next = Number.POSITIVE_INFINITY
    for (const attempt of this.pending) {
      const deadline = attempt.expire(now)
      if (deadline === undefined) this.pending.delete(attempt)
      else if (deadline < next) next = deadline
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next)
  }
}

const deadlines = new Deadlines()

/**
 * One request in flight: `start` sets its deadlines, `headersArrived` drops the headers one, `finish` (the body
 * was read, or failed) drops both and makes a later `close` a no-op; `close` (the scope closed) aborts it.
 *
 * @internal
 */
export class Attempt<S extends Abortable = Abortable> {
  private aborted: AbortReason | undefined
  private finished = false
  private headersAt = Number.POSITIVE_INFINITY
  private totalAt = Number.POSITIVE_INFINITY

  constructor(
    /** What `close` and the deadlines abort; given to the platform as its signal. */
    readonly signal: S,
    readonly request: Request,
    /** `scheme://host[:port]` and the rest, from {@link splitUrl}. */
    readonly origin: string,
    readonly path: string,
    private readonly options: SendOptions | undefined,
    /** Said after the origin in a `ConnectionFailed` message (the proxy's address, never its credentials). */
    private readonly via: string = ""
  ) {}

  start(): void {
    const headersMs = this.options?.headersTimeoutMs
    const totalMs = this.options?.totalTimeoutMs
    if (headersMs === undefined && totalMs === undefined) return
    const now = performance.now()
    if (headersMs !== undefined && (totalMs === undefined || headersMs < totalMs)) this.headersAt = now + headersMs
    if (totalMs !== undefined) this.totalAt = now + totalMs
    deadlines.add(this, Math.min(this.headersAt, this.totalAt))
  }

  headersArrived(): void {
    this.headersAt = Number.POSITIVE_INFINITY
  }

  /** Aborts the request if a deadline passed at `now`; its next deadline, or `undefined` when it has none left. */
  expire(now: number): number | undefined {
    if (this.finished || this.aborted !== undefined) return undefined
    if (now >= this.headersAt) this.abort(headersElapsed)
    else if (now >= this.totalAt) this.abort(totalElapsed)
    else return Math.min(this.headersAt, this.totalAt)
    return undefined
  }

  readonly finish = (): void => {
    if (this.finished) return
    this.finished = true
    if (this.headersAt !== Number.POSITIVE_INFINITY || this.totalAt !== Number.POSITIVE_INFINITY) {
      deadlines.delete(this)
    }
  }

  readonly close = (): void => {
    this.abort(closed)
    this.finish()
  }

  private abort(reason: AbortReason): void {
    if (this.finished || this.aborted !== undefined) return
    this.aborted = reason
    this.signal.abort(reason)
  }

  private timedOut(): OpenAiError | undefined {
    const reason = this.aborted
    if (reason === undefined || reason._tag !== "Timeout") return undefined
    const afterMs = reason.phase === "headers" ? this.options?.headersTimeoutMs : this.options?.totalTimeoutMs
    return new Timeout({ phase: reason.phase, afterMs: afterMs ?? 0 })
  }

  /** The request failed before its response headers. */
  requestFailure(error: unknown, connectTimeoutMs: number | undefined): OpenAiError {
    const timedOut = this.timedOut()
    if (timedOut !== undefined) return timedOut
    const { method } = this.request
    const path = this.path.split("?")[0]
    const code = causeCode(error)
    if (code === "UND_ERR_CONNECT_TIMEOUT") return new Timeout({ phase: "connect", afterMs: connectTimeoutMs ?? 0 })
    // A proxy that refuses our credentials refuses them again: said once, not retried. undici says so in a message
    // (forwarded http: "Proxy Authentication Required (407)"; CONNECT for https: "Proxy response (407) !== 200").
    if (
      this.via !== "" &&
      /\b(?:Proxy Authentication Required \(407\)|Proxy response \(407\))/.test(causeMessage(error))
    ) {
      return new InvalidRequest({
        message: `${method} ${this.origin}${path}${this.via}: the proxy refused the credentials (407 Proxy Authentication Required); check the user and password of the proxy URL`,
        path: "proxy"
      })
    }
    // undici refused the request itself (a header value with a newline …): nothing was sent, and a retry
    // would be refused the same way.
    if (code === "UND_ERR_INVALID_ARG") {
      return new InvalidRequest({ message: `${method} ${path}: ${causeMessage(error)}` })
    }
    // The server's response headers are larger than undici accepts (16 KiB): it would send them again.
    if (code === "UND_ERR_HEADERS_OVERFLOW") {
      return new ResponseDecodeFailed({
        message: `${method} ${path}: the response headers exceed 16384 bytes (undici's limit); not retried, the server would send them again`,
        limitBytes: 16_384
      })
    }
    return new ConnectionFailed({
      message: `${method} ${this.origin}${path}${this.via} failed: ${causeMessage(error)}${code === undefined ? "" : ` (${code})`}`,
      url: this.origin
    })
  }

  /** Reading the response body failed. */
  readonly bodyFailure = (error: unknown): OpenAiError =>
    this.timedOut() ??
    new ConnectionFailed({
      message: `the connection broke while reading the response body: ${causeMessage(error)}`,
      url: this.origin
    })
}

const causeCode = (cause: unknown): string | undefined => {
  let current: unknown = cause
  for (let depth = 0; depth < 4 && typeof current === "object" && current !== null; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === "string") return code
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

const causeMessage = (cause: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = cause
  for (let depth = 0; depth < 4 && typeof current === "object" && current !== null; depth++) {
    const message = (current as { message?: unknown }).message
    if (typeof message === "string" && message.length > 0 && !parts.includes(message)) parts.push(message)
    current = (current as { cause?: unknown }).cause
  }
  return parts.length === 0 ? "transport error" : parts.join(": ")
}

/**
 * Splits `scheme://host[:port]/path?query` without building a `URL` (the base URL was checked once).
 *
 * @internal
 */
export const splitUrl = (url: string): { readonly origin: string; readonly path: string } => {
  const slash = url.indexOf("/", url.indexOf("://") + 3)
  return slash < 0 ? { origin: url, path: "/" } : { origin: url.slice(0, slash), path: url.slice(slash) }
}

/**
 * The request's headers with the body's `content-type`, and the body as sent: JSON text, or multipart bytes.
 *
 * @internal
 */
export const encodeBody = (
  request: Request
): { readonly headers: Record<string, string>; readonly body: string | Uint8Array | null } => {
  const headers: Record<string, string> = { ...request.headers }
  if (request.body?._tag === "Json") {
    headers["content-type"] = "application/json"
    return { headers, body: request.body.text }
  }
  if (request.body?._tag === "Multipart") {
    const multipart = encodeMultipart(request.body.parts)
    headers["content-type"] = multipart.contentType
    return { headers, body: multipart.bytes }
  }
  return { headers, body: null }
}

const quoted = (text: string) => text.replace(/[\r\n"]/g, (c) => encodeURIComponent(c))

/**
 * Encodes `multipart/form-data` ourselves: the bytes are built once and re-sent as-is on a retry, and no
 * global `FormData` of another undici version gets near the dispatcher.
 *
 * @internal
 */
export const encodeMultipart = (
  parts: ReadonlyArray<Part>
): { readonly contentType: string; readonly bytes: Uint8Array } => {
  const boundary = `----sluice${crypto.randomUUID().replace(/-/g, "")}`
  const encoder = new TextEncoder()
  const chunks: Array<Uint8Array> = []
  for (const part of parts) {
    if ("bytes" in part) {
      chunks.push(
        encoder.encode(
          `--${boundary}\r\nContent-Disposition: form-data; name="${quoted(part.name)}"; filename="${quoted(part.filename)}"\r\nContent-Type: ${part.contentType}\r\n\r\n`
        ),
        part.bytes,
        encoder.encode("\r\n")
      )
    } else {
      chunks.push(
        encoder.encode(
          `--${boundary}\r\nContent-Disposition: form-data; name="${quoted(part.name)}"\r\n\r\n${part.value}\r\n`
        )
      )
    }
  }
  chunks.push(encoder.encode(`--${boundary}--\r\n`))
  return { contentType: `multipart/form-data; boundary=${boundary}`, bytes: concatArrays(chunks) }
}

/** @internal */
export const concatArrays = (array: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (array.length === 1) return array[0]!
  let length = 0
  for (const chunk of array) length += chunk.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const chunk of array) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  return out
}

/**
 * A `content-length` worth trusting for the size cap: digits only, and only for a body that is not decoded on
 * the way (with `content-encoding`, fetch inflates and the announced length is the compressed one).
 *
 * @internal
 */
export const announcedLength = (
  length: string | undefined,
  encoding: string | undefined = undefined
): number | undefined =>
  length !== undefined && /^\d{1,15}$/.test(length) && (encoding === undefined || encoding === "identity")
    ? Number(length)
    : undefined
