/**
 * The bodies of `Errors`: reading an error response (status, body, headers) into its tagged error.
 *
 * @internal
 */
import type { OpenAiError, Redirected as RedirectedError } from "../Errors.js"
import * as Errors from "../Errors.js"
import type { RateLimitSnapshot } from "../RateLimitHeaders.js"
import { headerGetter, parse as parseRateLimitHeaders } from "./rateLimitHeaders.js"

const htmlEntities: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'", nbsp: " " }

const readableText = (body: string): string => {
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(body)?.[1]
  const text = (title ?? body)
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, " ")
    .replace(/<[^>]*>/g, " ")
    .replace(/&(amp|lt|gt|quot|#39|nbsp);/g, (_, name: string) => htmlEntities[name] ?? " ")
    .replace(/\s+/g, " ")
    .trim()
  return text.length > 200 ? `${text.slice(0, 200)}…` : text
}

const statusText: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  408: "Request Timeout",
  409: "Conflict",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout"
}

const stringField = (value: unknown): string | undefined =>
  typeof value === "string" ? value : typeof value === "number" ? String(value) : undefined

/** @internal */
export const parseErrorBody = (
  status: number,
  body: string
): { message: string; code?: string; type?: string; param?: string } => {
  const prefix = `${status}${statusText[status] === undefined ? "" : ` ${statusText[status]}`}`
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    const text = readableText(body)
    return { message: text.length === 0 ? prefix : `${prefix}: ${text}` }
  }
  if (typeof json === "object" && json !== null) {
    const record = json as Record<string, unknown>
    const inner =
      typeof record["error"] === "object" && record["error"] !== null
        ? (record["error"] as Record<string, unknown>)
        : record
    const message = stringField(inner["message"]) ?? stringField(record["error"]) ?? stringField(record["detail"])
    const code = stringField(inner["code"])
    const type = stringField(inner["type"])
    const param = stringField(inner["param"])
    return {
      message: message === undefined || message.length === 0 ? prefix : message,
      ...(code === undefined ? {} : { code }),
      ...(type === undefined ? {} : { type }),
      ...(param === undefined ? {} : { param })
    }
  }
  return { message: prefix }
}

/** @internal */
export const fromResponse = (options: Errors.ResponseInfo): OpenAiError => {
  const snapshot = parseRateLimitHeaders(options.headers, options.nowMs)
  const parsed = parseErrorBody(options.status, options.body)
  const fields = {
    status: options.status,
    ...parsed,
    ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
    ...(snapshot.isEmpty ? {} : { snapshot }),
    ...(snapshot.shouldRetry === undefined ? {} : { shouldRetry: snapshot.shouldRetry })
  }
  if (options.status >= 300 && options.status < 400) return redirected(options, snapshot)
  if (options.status === 429) {
    if (parsed.code === "insufficient_quota" || parsed.type === "insufficient_quota") {
      return new Errors.QuotaExceeded(fields)
    }
    return new Errors.RateLimited({
      ...fields,
      ...(snapshot.retryAfterMs === undefined ? {} : { retryAfterMs: snapshot.retryAfterMs })
    })
  }
  const ByStatus = byStatus()[options.status] ?? Errors.ServerError
  return new ByStatus(fields)
}

/** What every error made from a response is built from. */
type ResponseFields = Omit<ConstructorParameters<typeof Errors.BadRequest>[0], "_tag">

/** The error of each 4xx status that has its own tag; any other status is a `ServerError`. */
const byStatus = (): Readonly<Record<number, new (fields: ResponseFields) => OpenAiError>> => ({
  400: Errors.BadRequest,
  401: Errors.AuthenticationFailed,
  403: Errors.PermissionDenied,
  404: Errors.NotFound,
  409: Errors.Conflict,
  422: Errors.Unprocessable
})

const redirected = (
  options: Omit<Errors.ResponseInfo, "body" | "nowMs">,
  snapshot: RateLimitSnapshot
): RedirectedError => {
  const location = headerGetter(options.headers)("location")
  let locationHost: string | undefined
  let sameHost: boolean | undefined
  if (location !== undefined && location.length > 0) {
    try {
      const target = new URL(location, options.url ?? "http://unknown.invalid")
      locationHost = target.host === "unknown.invalid" ? "(a relative location)" : target.host
      if (options.url !== undefined) sameHost = target.host === new URL(options.url).host
    } catch {
      locationHost = "(an invalid location)"
    }
  }
  return new Errors.Redirected({
    status: options.status,
    ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
    ...(locationHost === undefined ? {} : { locationHost }),
    ...(sameHost === undefined ? {} : { sameHost }),
    ...(snapshot.isEmpty ? {} : { snapshot })
  })
}

/** @internal */
export const retryAfterMsOf = (error: OpenAiError): number | undefined => {
  if (error._tag === "RateLimited" && error.retryAfterMs !== undefined) return error.retryAfterMs
  return "snapshot" in error ? error.snapshot?.retryAfterMs : undefined
}
