/**
 * The only module that imports the HTTP platform (undici, and @effect/platform-node's stream adapter).
 * Everything else sees `Transport`: send a request, get status, headers and a body whose HTTP request is
 * aborted when the surrounding scope closes.
 *
 * It drives undici's dispatcher directly rather than through `@effect/platform`'s `HttpClient`: on this hot
 * path the generic client (a span, `Headers` and `URL` objects, a fiber-ref lookup and an abort that builds a
 * `DOMException` on every request) cost more CPU than undici itself (docs/decisions/0004-direct-undici.md).
 * Timeouts are plain timers that abort the request, not forked fibers racing it.
 *
 * @internal
 */
import * as NodeStream from "@effect/platform-node/NodeStream"
import Undici from "@effect/platform-node/Undici"
import { Duration, Effect, Scope, Stream } from "effect"
import { ConnectionFailed, InvalidRequest, type OpenAiError, ResponseDecodeFailed, Timeout } from "../Errors.js"

/** @internal */
export interface WireRequest {
  readonly method: "GET" | "POST" | "DELETE"
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body:
    | { readonly _tag: "Json"; readonly text: string }
    | { readonly _tag: "Multipart"; readonly parts: ReadonlyArray<Part> }
    | undefined
}

/** @internal */
export type Part =
  | { readonly name: string; readonly value: string }
  | { readonly name: string; readonly filename: string; readonly contentType: string; readonly bytes: Uint8Array }

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
export interface WireResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  /** The body. Transport failures while reading become `ConnectionFailed`. */
  readonly stream: Stream.Stream<Uint8Array, OpenAiError>
  /** `content-length`, when the server sent a valid one. */
  readonly contentLength: number | undefined
  /** The whole body in one read (no size check: see {@link readBody}). Transport failures become `ConnectionFailed`. */
  readonly bytes: Effect.Effect<Uint8Array, OpenAiError>
}

/** @internal */
export interface SendOptions {
  /** Fails with `Timeout` (headers) when no response headers arrived this long after sending. */
  readonly headersTimeoutMs?: number | undefined
  /**
   * Fails with `Timeout` (total) when the headers and the whole body have not arrived this long after sending
   * (the request is aborted, whether the body is read with `bytes` or `stream`).
   */
  readonly totalTimeoutMs?: number | undefined
}

/** @internal */
export interface Transport {
  /** Sends; the HTTP request (and its body stream) is aborted when the scope closes. */
  readonly send: (request: WireRequest, options?: SendOptions) => Effect.Effect<WireResponse, OpenAiError, Scope.Scope>
}

/** @internal */
export interface PoolOptions {
  readonly maxConnections: number
  readonly connectTimeout: Duration.Duration
  readonly keepAliveTimeout: Duration.Duration
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

/** Splits `scheme://host[:port]/path?query` without building a `URL` (the base URL was checked once). */
const splitUrl = (url: string): { readonly origin: string; readonly path: string } => {
  const slash = url.indexOf("/", url.indexOf("://") + 3)
  return slash < 0 ? { origin: url, path: "/" } : { origin: url.slice(0, slash), path: url.slice(slash) }
}

const flattenHeaders = (raw: Record<string, string | Array<string> | undefined>): Readonly<Record<string, string>> => {
  const headers: Record<string, string> = {}
  for (const name in raw) {
    const value = raw[name]
    if (value !== undefined) headers[name] = typeof value === "string" ? value : value.join(", ")
  }
  return headers
}

/** Why a request was aborted by us (not by the peer). */
type AbortReason = { readonly _tag: "Timeout"; readonly phase: "headers" | "total" } | { readonly _tag: "Closed" }

const closed: AbortReason = { _tag: "Closed" }
const headersElapsed: AbortReason = { _tag: "Timeout", phase: "headers" }
const totalElapsed: AbortReason = { _tag: "Timeout", phase: "total" }

/**
 * A transport on an undici `Agent` with a bounded pool; the agent is destroyed with the scope.
 *
 * @internal
 */
export const make = (options: PoolOptions): Effect.Effect<Transport, never, Scope.Scope> =>
  Effect.gen(function* () {
    const connectTimeoutMs = Duration.toMillis(options.connectTimeout)
    const agent = yield* Effect.acquireRelease(
      Effect.sync(
        () =>
          new Undici.Agent({
            connections: options.maxConnections,
            connect: { timeout: connectTimeoutMs },
            keepAliveTimeout: Duration.toMillis(options.keepAliveTimeout),
            // Our own timers decide (SendOptions); streams have first-token and idle timeouts of their own.
            headersTimeout: 0,
            bodyTimeout: 0
          })
      ),
      (agent) => Effect.promise(() => agent.destroy())
    )

    const send = (
      request: WireRequest,
      sendOptions?: SendOptions
    ): Effect.Effect<WireResponse, OpenAiError, Scope.Scope> =>
      Effect.flatMap(Effect.scope, (scope) => {
        const { origin, path } = splitUrl(request.url)
        const controller = new AbortController()
        let aborted: AbortReason | undefined
        let finished = false
        let headersTimer: ReturnType<typeof setTimeout> | undefined
        let totalTimer: ReturnType<typeof setTimeout> | undefined
        const abort = (reason: AbortReason) => {
          if (finished || aborted !== undefined) return
          aborted = reason
          controller.abort(reason)
        }
        const finish = () => {
          finished = true
          if (headersTimer !== undefined) clearTimeout(headersTimer)
          if (totalTimer !== undefined) clearTimeout(totalTimer)
        }
        const timeoutError = (reason: AbortReason): OpenAiError | undefined =>
          reason._tag === "Timeout"
            ? new Timeout({
                phase: reason.phase,
                afterMs: (reason.phase === "headers" ? sendOptions?.headersTimeoutMs : sendOptions?.totalTimeoutMs) ?? 0
              })
            : undefined
        const requestFailure = (error: unknown): OpenAiError => {
          const timedOut = aborted === undefined ? undefined : timeoutError(aborted)
          if (timedOut !== undefined) return timedOut
          const code = causeCode(error)
          if (code === "UND_ERR_CONNECT_TIMEOUT") return new Timeout({ phase: "connect", afterMs: connectTimeoutMs })
          // undici refused the request itself (a header value with a newline …): nothing was sent, and a retry
          // would be refused the same way.
          if (code === "UND_ERR_INVALID_ARG") {
            return new InvalidRequest({ message: `${request.method} ${path.split("?")[0]}: ${causeMessage(error)}` })
          }
          // The server's response headers are larger than undici accepts (16 KiB): it would send them again.
          if (code === "UND_ERR_HEADERS_OVERFLOW") {
            return new ResponseDecodeFailed({
              message: `${request.method} ${path.split("?")[0]}: the response headers exceed 16384 bytes (undici's limit); not retried, the server would send them again`,
              limitBytes: 16_384
            })
          }
          return new ConnectionFailed({
            message: `${request.method} ${origin}${path.split("?")[0]} failed: ${causeMessage(error)}${code === undefined ? "" : ` (${code})`}`,
            url: origin
          })
        }
        const bodyFailure = (error: unknown): OpenAiError =>
          (aborted === undefined ? undefined : timeoutError(aborted)) ??
          new ConnectionFailed({
            message: `the connection broke while reading the response body: ${causeMessage(error)}`,
            url: origin
          })
        let body: string | Uint8Array | null = null
        const headers: Record<string, string> = { ...request.headers }
        if (request.body?._tag === "Json") {
          body = request.body.text
          headers["content-type"] = "application/json"
        } else if (request.body?._tag === "Multipart") {
          const multipart = encodeMultipart(request.body.parts)
          body = multipart.bytes
          headers["content-type"] = multipart.contentType
        }
        const response = Effect.callback<WireResponse, OpenAiError>((resume) => {
          const headersTimeoutMs = sendOptions?.headersTimeoutMs
          const totalTimeoutMs = sendOptions?.totalTimeoutMs
          if (headersTimeoutMs !== undefined && (totalTimeoutMs === undefined || headersTimeoutMs < totalTimeoutMs)) {
            headersTimer = setTimeout(() => abort(headersElapsed), headersTimeoutMs)
          }
          if (totalTimeoutMs !== undefined) totalTimer = setTimeout(() => abort(totalElapsed), totalTimeoutMs)
          agent.request(
            { origin, path, method: request.method, headers, body, signal: controller.signal },
            (error, data) => {
              if (error !== null) {
                finish()
                resume(Effect.fail(requestFailure(error)))
                return
              }
              if (headersTimer !== undefined) clearTimeout(headersTimer)
              const source = data.body
              // Ended, failed or destroyed: nothing left to abort, no timer left to fire.
              source.once("close", finish)
              source.on("error", ignore)
              const responseHeaders = flattenHeaders(data.headers)
              const length = responseHeaders["content-length"]
              resume(
                Effect.succeed<WireResponse>({
                  status: data.statusCode,
                  headers: responseHeaders,
                  contentLength: length !== undefined && /^\d{1,15}$/.test(length) ? Number(length) : undefined,
                  stream: NodeStream.fromReadable<Uint8Array, OpenAiError>({
                    evaluate: () => source,
                    onError: bodyFailure
                  }),
                  bytes: Effect.callback<Uint8Array, OpenAiError>((resumeBytes) => {
                    source.arrayBuffer().then(
                      (buffer) => {
                        finish()
                        resumeBytes(Effect.succeed(new Uint8Array(buffer)))
                      },
                      (cause: unknown) => resumeBytes(Effect.fail(bodyFailure(cause)))
                    )
                  })
                })
              )
            }
          )
          return Effect.sync(() => abort(closed))
        })
        return Effect.andThen(
          Scope.addFinalizer(
            scope,
            Effect.sync(() => {
              abort(closed)
              finish()
            })
          ),
          response
        )
      })
    return { send }
  })

const ignore = () => {}

/**
 * Reads a whole body, failing as soon as it exceeds `maxBytes` (the rest is never buffered).
 *
 * @internal
 */
export const readBody = (
  response: WireResponse,
  maxBytes: number,
  meta: { readonly status: number; readonly requestId: string | undefined }
): Effect.Effect<Uint8Array, OpenAiError> =>
  // A body whose announced length is within the cap is read in one go (undici enforces `content-length`); one
  // announced above it is refused without reading a byte (closing the scope aborts the request); otherwise it is
  // streamed and counted, so an oversized body is never buffered.
  (response.contentLength !== undefined && response.contentLength <= maxBytes
    ? response.bytes
    : response.contentLength !== undefined
      ? Effect.fail(tooLarge(maxBytes, meta, response.contentLength))
      : readCapped(response.stream, maxBytes, meta)
  ).pipe(
    Effect.mapError((error) =>
      error._tag === "ConnectionFailed"
        ? new ResponseDecodeFailed({
            message: `response body cut short: ${error.message}`,
            status: meta.status,
            ...(meta.requestId === undefined ? {} : { requestId: meta.requestId })
          })
        : error
    )
  )

/** An oversized body: deterministic (the server would send it again), so not retryable. */
const tooLarge = (
  maxBytes: number,
  meta: { readonly status: number; readonly requestId: string | undefined },
  announced?: number
): ResponseDecodeFailed =>
  new ResponseDecodeFailed({
    message: `response exceeds ${maxBytes} bytes (maxResponseBytes)${announced === undefined ? "" : `: content-length is ${announced}`}; not retried, the server would send it again`,
    status: meta.status,
    limitBytes: maxBytes,
    ...(meta.requestId === undefined ? {} : { requestId: meta.requestId })
  })

const readCapped = (
  stream: Stream.Stream<Uint8Array, OpenAiError>,
  maxBytes: number,
  meta: { readonly status: number; readonly requestId: string | undefined }
): Effect.Effect<Uint8Array, OpenAiError> =>
  stream.pipe(
    Stream.runFoldEffect(
      () => ({ total: 0, chunks: [] as Array<Uint8Array> }),
      (acc, chunk): Effect.Effect<{ total: number; chunks: Array<Uint8Array> }, OpenAiError> => {
        acc.total += chunk.length
        if (acc.total > maxBytes) {
          return Effect.fail(tooLarge(maxBytes, meta))
        }
        acc.chunks.push(chunk)
        return Effect.succeed(acc)
      }
    ),
    Effect.map((acc) => concatArrays(acc.chunks))
  )

const concatArrays = (array: ReadonlyArray<Uint8Array>): Uint8Array => {
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

/** @internal */
export const header = (headers: Readonly<Record<string, string>>, name: string): string | undefined => headers[name]
