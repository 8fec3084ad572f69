/**
 * The only module that imports the HTTP platform (@effect/platform, @effect/platform-node, undici).
 * Everything else sees `Transport`: send a request, get status, headers and a body stream whose HTTP request
 * is aborted when the surrounding scope closes.
 *
 * @internal
 */
import { HttpBody, HttpClient, type HttpClientError, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import Undici from "@effect/platform-node/Undici"
import { Chunk, Duration, Effect, type Scope, Stream } from "effect"
import { ConnectionFailed, type OpenAiError, ResponseDecodeFailed, Timeout } from "../Errors.js"

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
export interface Transport {
  /** Sends; the HTTP request (and its body stream) is aborted when the scope closes. */
  readonly send: (request: WireRequest) => Effect.Effect<WireResponse, OpenAiError, Scope.Scope>
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

const requestFailure = (error: HttpClientError.HttpClientError, url: string, connectTimeoutMs: number): OpenAiError => {
  const code = causeCode(error.cause)
  if (code === "UND_ERR_CONNECT_TIMEOUT") return new Timeout({ phase: "connect", afterMs: connectTimeoutMs })
  const origin = new URL(url).origin
  return new ConnectionFailed({
    message: `${error.request.method} ${origin}${new URL(url).pathname} failed: ${causeMessage(error.cause)}${code === undefined ? "" : ` (${code})`}`,
    url: origin
  })
}

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
            keepAliveTimeout: Duration.toMillis(options.keepAliveTimeout)
          })
      ),
      (agent) => Effect.promise(() => agent.destroy())
    )
    const client = HttpClient.withScope(NodeHttpClient.makeUndici(agent))
    const send = (request: WireRequest): Effect.Effect<WireResponse, OpenAiError, Scope.Scope> => {
      let built = HttpClientRequest.make(request.method)(request.url).pipe(
        HttpClientRequest.setHeaders(request.headers)
      )
      if (request.body?._tag === "Json") {
        built = HttpClientRequest.setBody(built, HttpBody.text(request.body.text, "application/json"))
      } else if (request.body?._tag === "Multipart") {
        const { bytes, contentType } = encodeMultipart(request.body.parts)
        built = HttpClientRequest.setBody(built, HttpBody.uint8Array(bytes, contentType))
      }
      const bodyFailure = (error: HttpClientError.ResponseError) =>
        new ConnectionFailed({
          message: `the connection broke while reading the response body: ${causeMessage(error.cause)}`,
          url: new URL(request.url).origin
        })
      return client.execute(built).pipe(
        Effect.mapError((error) => requestFailure(error, request.url, connectTimeoutMs)),
        Effect.map((response): WireResponse => {
          const headers = response.headers
          const length = headers["content-length"]
          return {
            status: response.status,
            headers,
            stream: response.stream.pipe(Stream.mapError(bodyFailure)),
            contentLength: length !== undefined && /^\d{1,15}$/.test(length) ? Number(length) : undefined,
            bytes: Effect.suspend(() =>
              Effect.mapBoth(response.arrayBuffer, {
                onFailure: bodyFailure,
                onSuccess: (buffer) => new Uint8Array(buffer)
              })
            )
          }
        })
      )
    }
    return { send }
  })

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
  // A body whose announced length is within the cap is read in one go (undici enforces `content-length`);
  // otherwise it is streamed and counted, so an oversized body is never buffered.
  (response.contentLength !== undefined && response.contentLength <= maxBytes
    ? response.bytes
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

const readCapped = (
  stream: Stream.Stream<Uint8Array, OpenAiError>,
  maxBytes: number,
  meta: { readonly status: number; readonly requestId: string | undefined }
): Effect.Effect<Uint8Array, OpenAiError> =>
  stream.pipe(
    Stream.mapAccumEffect(0, (total, chunk) => {
      const next = total + chunk.length
      return next > maxBytes
        ? Effect.fail(
            new ResponseDecodeFailed({
              message: `response exceeds ${maxBytes} bytes`,
              status: meta.status,
              ...(meta.requestId === undefined ? {} : { requestId: meta.requestId })
            })
          )
        : Effect.succeed([next, chunk] as const)
    }),
    Stream.runCollect,
    Effect.map((chunks) => concat(chunks))
  )

const concat = (chunks: Chunk.Chunk<Uint8Array>): Uint8Array => concatArrays(Chunk.toReadonlyArray(chunks))

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
