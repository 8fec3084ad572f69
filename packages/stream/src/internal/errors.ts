/**
 * Turns what can go wrong inside a chat stream into core's `OpenAiError`s: an error reported in the stream
 * (`event: error` or a chunk with an `error` object) becomes the error its code/type names, an SSE decoding
 * failure becomes `ResponseDecodeFailed`, a broken connection after the first chunk becomes `StreamTruncated`.
 *
 * @internal
 */
import { Errors } from "@sluice/core"
import * as Predicate from "effect/Predicate"
import type { SseDecodeError } from "../Sse.js"

/**
 * The errors a server can report inside a stream.
 *
 * @internal
 */
export type InStreamError =
  | Errors.RateLimited
  | Errors.QuotaExceeded
  | Errors.AuthenticationFailed
  | Errors.PermissionDenied
  | Errors.BadRequest
  | Errors.NotFound
  | Errors.Conflict
  | Errors.Unprocessable
  | Errors.ServerError

const MAX_BODY = 500

/** @internal */
export const truncate = (s: string): string => (s.length > MAX_BODY ? s.slice(0, MAX_BODY) : s)

const stringField = (u: unknown): string | undefined =>
  typeof u === "string" ? u : typeof u === "number" ? String(u) : undefined

type Fields = {
  message: string
  code?: string
  type?: string
  param?: string
  requestId?: string
}

type Make = (fields: Fields) => InStreamError

// Our own tags come back from `Interop.errorEvent` (its `type` defaults to the error's `_tag`).
const byTag: Record<string, Make> = {
  RateLimited: (f) => new Errors.RateLimited(f),
  QuotaExceeded: (f) => new Errors.QuotaExceeded(f),
  AuthenticationFailed: (f) => new Errors.AuthenticationFailed(f),
  PermissionDenied: (f) => new Errors.PermissionDenied(f),
  BadRequest: (f) => new Errors.BadRequest(f),
  NotFound: (f) => new Errors.NotFound(f),
  Conflict: (f) => new Errors.Conflict(f),
  Unprocessable: (f) => new Errors.Unprocessable(f),
  ServerError: (f) => new Errors.ServerError(f)
}

// OpenAI's codes and types, plus the names other compatible servers use for the same conditions.
const byName: Record<string, Make> = {
  insufficient_quota: byTag.QuotaExceeded!,
  rate_limit_exceeded: byTag.RateLimited!,
  rate_limit_error: byTag.RateLimited!,
  tokens: byTag.RateLimited!,
  requests: byTag.RateLimited!,
  invalid_api_key: byTag.AuthenticationFailed!,
  authentication_error: byTag.AuthenticationFailed!,
  permission_error: byTag.PermissionDenied!,
  permission_denied: byTag.PermissionDenied!,
  model_not_found: byTag.NotFound!,
  not_found_error: byTag.NotFound!,
  context_length_exceeded: byTag.BadRequest!,
  invalid_request_error: byTag.BadRequest!,
  server_error: byTag.ServerError!,
  internal_error: byTag.ServerError!,
  api_error: byTag.ServerError!,
  overloaded_error: byTag.ServerError!
}

/**
 * The error a stream reported, by `code` first (more specific), then `type`; anything unknown is a
 * `ServerError` with the server's message. No status: the response itself was a 200.
 *
 * @internal
 */
export const fromPayload = (payload: unknown, raw: string, requestId: string | undefined): InStreamError => {
  const body = Predicate.isObject(payload) && Predicate.isObject(payload.error) ? payload.error : payload
  const fields: Fields = { message: truncate(raw) }
  if (requestId !== undefined) fields.requestId = requestId
  if (Predicate.isObject(body)) {
    const message = stringField(body.message)
    if (message !== undefined && message !== "") fields.message = message
    else if (typeof body.error === "string" && body.error !== "") fields.message = body.error
    const code = stringField(body.code)
    const type = stringField(body.type)
    const param = stringField(body.param)
    if (code !== undefined) fields.code = code
    if (type !== undefined) fields.type = type
    if (param !== undefined) fields.param = param
  }
  const make =
    (fields.code !== undefined ? byName[fields.code] : undefined) ??
    (fields.type !== undefined ? (byName[fields.type] ?? byTag[fields.type]) : undefined) ??
    byTag.ServerError!
  return make(fields)
}

/**
 * An event that is not JSON, not a chunk, or too large for the SSE decoder.
 *
 * @internal
 */
export const decodeFailed = (message: string, body: string | undefined, requestId: string | undefined) =>
  new Errors.ResponseDecodeFailed({
    message,
    ...(body === undefined ? {} : { body: truncate(body) }),
    ...(requestId === undefined ? {} : { requestId })
  })

/** @internal */
export const fromSseDecodeError = (error: SseDecodeError, requestId: string | undefined) =>
  decodeFailed(`stream is not valid SSE: ${error.message}`, undefined, requestId)

/** @internal */
export const truncated = (chunks: number, partialContent: string, requestId: string | undefined) =>
  new Errors.StreamTruncated({ chunks, partialContent, ...(requestId === undefined ? {} : { requestId }) })

/**
 * The same error with the request id filled in, when its class has the field and it is missing.
 *
 * @internal
 */
export const withRequestId = <E extends Errors.OpenAiError>(error: E, requestId: string | undefined): E => {
  if (requestId === undefined || !hasRequestIdField(error)) return error
  if ((error as { requestId?: string }).requestId !== undefined) return error
  const Ctor = error.constructor as new (fields: object) => E
  return new Ctor({ ...fieldsOf(error), message: error.message, requestId })
}

const withRequestIdTags = new Set([
  "RateLimited",
  "QuotaExceeded",
  "AuthenticationFailed",
  "PermissionDenied",
  "BadRequest",
  "NotFound",
  "Conflict",
  "Unprocessable",
  "ServerError",
  "Timeout",
  "ResponseDecodeFailed",
  "StreamTruncated"
])

const hasRequestIdField = (error: Errors.OpenAiError): boolean => withRequestIdTags.has(error._tag)

const fieldsOf = (error: object): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(error)) if (key !== "_tag") out[key] = value
  return out
}
