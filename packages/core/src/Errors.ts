/**
 * Every way a call can fail, as one union of `Schema.TaggedError`s. Match with `Effect.catchTag`;
 * `retryable` is data on each error, decided when the error is made, never guessed by the caller.
 *
 * None of these ever holds an API key: requests are described by method, URL path and model only.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { type HeaderSource, parse as parseRateLimitHeaders, RateLimitSnapshot } from "./RateLimitHeaders.js"

/** Fields every error that came from an HTTP response carries. */
const responseFields = {
  /** HTTP status, when a response arrived. */
  status: Schema.optional(Schema.Number),
  /** The server's `x-request-id`, for support tickets. */
  requestId: Schema.optional(Schema.String),
  /** `error.code` from the body (`rate_limit_exceeded`, `insufficient_quota`, `model_not_found` …). */
  code: Schema.optional(Schema.String),
  /** `error.type` from the body. */
  type: Schema.optional(Schema.String),
  /** `error.param` from the body. */
  param: Schema.optional(Schema.String),
  /** A readable message: the server's `error.message`, or a description of a non-JSON body. */
  message: Schema.String,
  /** The rate-limit headers of the response. */
  snapshot: Schema.optional(RateLimitSnapshot),
  /** The server's `x-should-retry`, when sent: it overrides the status-based rule. */
  shouldRetry: Schema.optional(Schema.Boolean)
}

/**
 * 429 throttling (`rate_limit_exceeded`). Retryable; `retryAfterMs` is the server's hint. When the hint is
 * longer than the retry policy accepts, the policy fails fast with this error and the hint on it.
 *
 * @since 0.1.0
 * @category errors
 */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  ...responseFields,
  retryAfterMs: Schema.optional(Schema.Number)
}) {
  get retryable(): boolean {
    return this.shouldRetry ?? true
  }
}

/**
 * 429 `insufficient_quota`: billing, not throttling. Terminal: retrying cannot help.
 *
 * @since 0.1.0
 * @category errors
 */
export class QuotaExceeded extends Schema.TaggedError<QuotaExceeded>()("QuotaExceeded", responseFields) {
  get retryable(): boolean {
    return false
  }
}

/**
 * 401: the key is missing, unknown or revoked (after one credential refresh).
 *
 * @since 0.1.0
 * @category errors
 */
export class AuthenticationFailed extends Schema.TaggedError<AuthenticationFailed>()(
  "AuthenticationFailed",
  responseFields
) {
  get retryable(): boolean {
    return false
  }
}

/**
 * 403.
 *
 * @since 0.1.0
 * @category errors
 */
export class PermissionDenied extends Schema.TaggedError<PermissionDenied>()("PermissionDenied", responseFields) {
  get retryable(): boolean {
    return false
  }
}

/**
 * 400 from the server. Never retried: the same request is refused the same way (a server's
 * `x-should-retry: true` is not trusted for a 4xx refusal).
 *
 * @since 0.1.0
 * @category errors
 */
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", responseFields) {
  get retryable(): boolean {
    return false
  }
}

/**
 * 404, including retired models (`code: "model_not_found"`). Never retried.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", responseFields) {
  get retryable(): boolean {
    return false
  }
}

/**
 * 409. Retryable, like the official SDKs treat it.
 *
 * @since 0.1.0
 * @category errors
 */
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", responseFields) {
  get retryable(): boolean {
    return this.shouldRetry ?? true
  }
}

/**
 * 422. Never retried.
 *
 * @since 0.1.0
 * @category errors
 */
export class Unprocessable extends Schema.TaggedError<Unprocessable>()("Unprocessable", responseFields) {
  get retryable(): boolean {
    return false
  }
}

/**
 * 408 and 5xx, and any other unexpected status. 408 and 5xx are retryable unless the server says
 * `x-should-retry: false`; any other 4xx (413, 415, 418 …) is a deterministic refusal and never retried, whatever
 * the server says; other statuses (1xx, an unexpected 2xx) only when the server says `x-should-retry: true`.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServerError extends Schema.TaggedError<ServerError>()("ServerError", responseFields) {
  get retryable(): boolean {
    const status = this.status
    if (status === undefined || status === 408 || status >= 500) return this.shouldRetry ?? true
    if (status >= 400) return false
    return this.shouldRetry ?? false
  }
}

/**
 * A 3xx redirect. Sluice never follows one: the request (and its \`Authorization\` header) would go to a URL the
 * caller did not configure. \`locationHost\` is the host the server pointed to (absent without a \`Location\`).
 * Not retried: point \`baseUrl\` at the final URL instead.
 *
 * @since 0.1.0
 * @category errors
 */
export class Redirected extends Schema.TaggedError<Redirected>()("Redirected", {
  status: Schema.Number,
  requestId: Schema.optional(Schema.String),
  /** The host of the `Location` header (resolved against the request URL), without path or query. */
  locationHost: Schema.optional(Schema.String),
  /** Whether `Location` points to the host the request went to (a path change, e.g. a trailing slash). */
  sameHost: Schema.optional(Schema.Boolean),
  snapshot: Schema.optional(RateLimitSnapshot)
}) {
  get retryable(): boolean {
    return false
  }
  override get message(): string {
    const to =
      this.locationHost === undefined
        ? "without a Location header"
        : `to ${this.locationHost}${this.sameHost === true ? " (same host, another path)" : ""}`
    return `the server answered ${this.status} (redirect) ${to}; not followed, and the API key was not sent there: set the base URL to the final address`
  }
}

/**
 * The phase of a call a timeout ended.
 *
 * @since 0.1.0
 * @category models
 */
export const TimeoutPhase = Schema.Literals(["connect", "headers", "first-token", "idle", "total"])
/**
 * @since 0.1.0
 * @category models
 */
export type TimeoutPhase = typeof TimeoutPhase.Type

/**
 * A timeout, with the phase it ended and the limit that was hit.
 *
 * @since 0.1.0
 * @category errors
 */
export class Timeout extends Schema.TaggedError<Timeout>()("Timeout", {
  phase: TimeoutPhase,
  afterMs: Schema.Number,
  requestId: Schema.optional(Schema.String)
}) {
  get retryable(): boolean {
    return true
  }
  override get message(): string {
    return `timed out in phase ${this.phase} after ${this.afterMs} ms`
  }
}

/**
 * The connection could not be made or broke before a response arrived (reset, refused, DNS).
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionFailed extends Schema.TaggedError<ConnectionFailed>()("ConnectionFailed", {
  message: Schema.String,
  url: Schema.optional(Schema.String)
}) {
  get retryable(): boolean {
    return true
  }
}

/**
 * A response arrived but its body was not what the endpoint promises (bad JSON, wrong shape, too large,
 * cut short). Names the problem; `body` holds at most the first 500 characters.
 *
 * @since 0.1.0
 * @category errors
 */
export class ResponseDecodeFailed extends Schema.TaggedError<ResponseDecodeFailed>()("ResponseDecodeFailed", {
  message: Schema.String,
  status: Schema.optional(Schema.Number),
  requestId: Schema.optional(Schema.String),
  body: Schema.optional(Schema.String),
  /** Set when the body was larger than `maxResponseBytes` (this many bytes): the server would send it again. */
  limitBytes: Schema.optional(Schema.Number)
}) {
  get retryable(): boolean {
    // A truncated or garbled body is a transport problem more often than a server bug: a retry is worth it.
    // An oversized one is not: the same request gets the same body, and each retry downloads the cap again.
    return this.limitBytes === undefined
  }
}

/**
 * A stream ended without `data: [DONE]`. Carries what arrived so the caller can decide.
 *
 * @since 0.1.0
 * @category errors
 */
export class StreamTruncated extends Schema.TaggedError<StreamTruncated>()("StreamTruncated", {
  requestId: Schema.optional(Schema.String),
  chunks: Schema.Number,
  partialContent: Schema.String
}) {
  get retryable(): boolean {
    return false
  }
  override get message(): string {
    return `stream ended without [DONE] after ${this.chunks} chunks (${this.partialContent.length} characters of content)`
  }
}

/**
 * The circuit breaker is open (or its fuse has tripped): the call was not sent.
 *
 * @since 0.1.0
 * @category errors
 */
export class CircuitOpen extends Schema.TaggedError<CircuitOpen>()("CircuitOpen", {
  scope: Schema.String,
  /** Epoch ms when the breaker will let a probe through; absent when a fuse has tripped for good. */
  closesAtMs: Schema.optional(Schema.Number),
  /** Why it opened: the tag of the error that tripped it, or a description. */
  reason: Schema.String
}) {
  get retryable(): boolean {
    return false
  }
  override get message(): string {
    return this.closesAtMs === undefined
      ? `circuit ${this.scope} is fused open: ${this.reason}`
      : `circuit ${this.scope} is open until ${new Date(this.closesAtMs).toISOString()}: ${this.reason}`
  }
}

/**
 * The call's worst-case cost would cross a budget ceiling: nothing was sent.
 *
 * @since 0.1.0
 * @category errors
 */
export class BudgetExceeded extends Schema.TaggedError<BudgetExceeded>()("BudgetExceeded", {
  scope: Schema.String,
  /** What the ceiling counts: US dollars or tokens. */
  unit: Schema.Literals(["usd", "tokens"]),
  ceiling: Schema.Number,
  spent: Schema.Number,
  reserved: Schema.Number,
  /** The worst case of the refused request. */
  requested: Schema.Number
}) {
  get retryable(): boolean {
    return false
  }
  override get message(): string {
    const amount = (n: number) => (this.unit === "usd" ? `$${n.toFixed(6)}` : `${n} tokens`)
    return `budget ${this.scope}: a request costing up to ${amount(this.requested)} would cross the ceiling of ${amount(this.ceiling)} (${amount(this.spent)} spent, ${amount(this.reserved)} reserved)`
  }
}

/**
 * A request needs more of a rate-limit bucket than the bucket can ever hold: it would wait forever.
 *
 * @since 0.1.0
 * @category errors
 */
export class RequestTooLarge extends Schema.TaggedError<RequestTooLarge>()("RequestTooLarge", {
  bucket: Schema.Literals(["requests", "tokens"]),
  requested: Schema.Number,
  capacity: Schema.Number
}) {
  get retryable(): boolean {
    return false
  }
  override get message(): string {
    return `request needs ${this.requested} ${this.bucket} but the bucket holds at most ${this.capacity}`
  }
}

/**
 * A budget is in force and the model has no known price: fail closed rather than guess.
 *
 * @since 0.1.0
 * @category errors
 */
export class PriceUnknown extends Schema.TaggedError<PriceUnknown>()("PriceUnknown", {
  model: Schema.String
}) {
  get retryable(): boolean {
    return false
  }
  override get message(): string {
    return `no price is known for model "${this.model}" and a budget is in force: add one with Pricing.layer({ overrides })`
  }
}

/**
 * The model is deprecated or retired and the lifecycle policy is `fail`.
 *
 * @since 0.1.0
 * @category errors
 */
export class ModelRetired extends Schema.TaggedError<ModelRetired>()("ModelRetired", {
  model: Schema.String,
  state: Schema.Literals(["deprecated", "retired"]),
  shutdownDate: Schema.optional(Schema.String),
  replacement: Schema.optional(Schema.String)
}) {
  get retryable(): boolean {
    return false
  }
  override get message(): string {
    const when = this.shutdownDate === undefined ? "" : ` (shutdown ${this.shutdownDate})`
    const instead = this.replacement === undefined ? "" : `; use ${this.replacement}`
    return `model "${this.model}" is ${this.state}${when}${instead}`
  }
}

/**
 * The request was refused before sending: it does not match the endpoint's schema, or the client is
 * misconfigured (for example plain `http://` to a non-loopback host). Names the field and the value.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  message: Schema.String,
  path: Schema.optional(Schema.String)
}) {
  get retryable(): boolean {
    return false
  }
}

/**
 * An option is out of range: `concurrency: 0` (nothing would ever run), `requestsPerMinute: 0` (every request
 * would be too large), a negative budget, retry count or grace period. Raised when the client, a gate or a job is
 * built — never a hang or a defect. Names the option (as the caller wrote it, e.g. `retry.maxAttempts`), the value
 * and what is allowed.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidOptions extends Schema.TaggedError<InvalidOptions>()("InvalidOptions", {
  /** The option, by its path in the options object: `concurrency`, `retry.maxAttempts`, `rateLimiter.tokensPerMinute`. */
  option: Schema.String,
  /** The value given, as text (`0`, `-1`, `NaN`, `"abc"`). */
  value: Schema.String,
  /** What is allowed: `an integer ≥ 1`, `a number > 0` … */
  expected: Schema.String
}) {
  get retryable(): boolean {
    return false
  }
  override get message(): string {
    return `invalid option ${this.option}: got ${this.value}, expected ${this.expected}`
  }
}

/**
 * No API key could be read: the file is missing or empty, the variable is unset, the effect failed.
 * `source` names where it looked (a path, a variable name), never the content.
 *
 * @since 0.1.0
 * @category errors
 */
export class CredentialsUnavailable extends Schema.TaggedError<CredentialsUnavailable>()("CredentialsUnavailable", {
  source: Schema.String,
  message: Schema.String
}) {
  get retryable(): boolean {
    return false
  }
}

/**
 * A shared gate store (Redis) stayed unreachable past its deadline: the call was not sent (no reservation could be
 * taken), and the job stops with its unfinished requests pending for a resume.
 *
 * @since 0.3.0
 * @category errors
 */
export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()("StoreUnavailable", {
  /** Which store: `"redis"`. */
  store: Schema.String,
  /** The operation that could not run (`budget.reserve`, `breaker.read`, `limiter.acquire` …). */
  operation: Schema.String,
  /** How long it was retried before giving up. */
  waitedMs: Schema.Number,
  /** The last connection error. */
  cause: Schema.String
}) {
  get retryable(): boolean {
    return false
  }
  override get message(): string {
    return `${this.store} unreachable for ${Math.round(this.waitedMs / 1000)} s (${this.operation}): ${this.cause}`
  }
}

/**
 * A structured-output reply did not decode into the requested Schema: not JSON, not the shape, or cut short
 * (`incomplete` on `max_output_tokens`, `finish_reason: length`). `text` is the raw reply, for logs and repair.
 *
 * @since 0.3.0
 * @category errors
 */
export class StructuredOutputInvalid extends Schema.TaggedError<StructuredOutputInvalid>()("StructuredOutputInvalid", {
  /** The schema's name (`text.format.name` / `response_format.json_schema.name`). */
  name: Schema.String,
  /** What was wrong: the JSON error or the Schema issue with its path. */
  message: Schema.String,
  /** The reply as the model wrote it. */
  text: Schema.String,
  requestId: Schema.optional(Schema.String)
}) {
  get retryable(): boolean {
    return false
  }
}

/**
 * The model refused to answer (a `refusal` instead of the requested output).
 *
 * @since 0.3.0
 * @category errors
 */
export class Refused extends Schema.TaggedError<Refused>()("Refused", {
  /** The model's explanation. */
  refusal: Schema.String,
  requestId: Schema.optional(Schema.String)
}) {
  get retryable(): boolean {
    return false
  }
  override get message(): string {
    return `the model refused: ${this.refusal}`
  }
}

/**
 * A tool loop reached its `maxTurns` with the model still calling tools: nothing more was sent.
 *
 * @since 0.3.0
 * @category errors
 */
export class ToolLoopExceeded extends Schema.TaggedError<ToolLoopExceeded>()("ToolLoopExceeded", {
  maxTurns: Schema.Number,
  /** The tools the model asked for in the last turn. */
  pending: Schema.Array(Schema.String)
}) {
  get retryable(): boolean {
    return false
  }
  override get message(): string {
    return `the model still called tools (${this.pending.join(", ")}) after ${this.maxTurns} turns`
  }
}

/**
 * Every error a call can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type OpenAiError =
  | RateLimited
  | QuotaExceeded
  | AuthenticationFailed
  | PermissionDenied
  | BadRequest
  | NotFound
  | Conflict
  | Unprocessable
  | ServerError
  | Redirected
  | Timeout
  | ConnectionFailed
  | ResponseDecodeFailed
  | StreamTruncated
  | CircuitOpen
  | BudgetExceeded
  | RequestTooLarge
  | PriceUnknown
  | ModelRetired
  | InvalidRequest
  | InvalidOptions
  | CredentialsUnavailable
  | StoreUnavailable
  | StructuredOutputInvalid
  | Refused
  | ToolLoopExceeded

/**
 * The schema of the union, for encoding errors into logs or journals.
 *
 * @since 0.1.0
 * @category schemas
 */
export const OpenAiError = Schema.Union([
  RateLimited,
  QuotaExceeded,
  AuthenticationFailed,
  PermissionDenied,
  BadRequest,
  NotFound,
  Conflict,
  Unprocessable,
  ServerError,
  Redirected,
  Timeout,
  ConnectionFailed,
  ResponseDecodeFailed,
  StreamTruncated,
  CircuitOpen,
  BudgetExceeded,
  RequestTooLarge,
  PriceUnknown,
  ModelRetired,
  InvalidRequest,
  InvalidOptions,
  CredentialsUnavailable,
  StoreUnavailable,
  StructuredOutputInvalid,
  Refused,
  ToolLoopExceeded
])

/**
 * Whether retrying the call could succeed.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable = (error: OpenAiError): boolean => error.retryable

/**
 * Terminal conditions that should stop a whole job, not just one call.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isTerminal = (error: OpenAiError): boolean =>
  error._tag === "QuotaExceeded" ||
  error._tag === "AuthenticationFailed" ||
  error._tag === "PermissionDenied" ||
  error._tag === "CredentialsUnavailable"

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

/**
 * The parts of an error body: OpenAI's `{ error: { message, type, code, param } }`, vLLM's top-level
 * `{ message, type, code }`, `{ error: "text" }`, or — for a non-JSON body such as a proxy's HTML page —
 * a readable summary ("502 Bad Gateway: <title text>").
 *
 * @since 0.1.0
 * @category classification
 */
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

/**
 * Turns a non-2xx response into its typed error. The one place where status, body and headers are read:
 *
 * - 429 with `code` or `type` `insufficient_quota` → `QuotaExceeded` (terminal even if `x-should-retry: true`:
 *   billing does not fix itself in seconds)
 * - 429 otherwise → `RateLimited` with `retryAfterMs` from `retry-after-ms` / `retry-after`
 * - 400 `BadRequest`, 401 `AuthenticationFailed`, 403 `PermissionDenied`, 404 `NotFound`, 409 `Conflict`,
 *   422 `Unprocessable`; 3xx `Redirected` (never followed); 408, 5xx and anything else → `ServerError`
 * - `x-should-retry` is kept as `shouldRetry`; `false` stops retries of anything, `true` makes a 408, 409, 429
 *   or 5xx retryable again but never a deterministic refusal (quota, auth, any other 4xx, a redirect)
 *
 * @since 0.1.0
 * @category classification
 */
export const fromResponse = (options: {
  readonly status: number
  readonly body: string
  readonly headers: HeaderSource
  readonly requestId?: string | undefined
  /** The `Clock`'s time when the response arrived: resolves an HTTP-date `retry-after`. */
  readonly nowMs: number
  /** The request URL, to resolve a relative `Location` of a redirect. */
  readonly url?: string | undefined
}): OpenAiError => {
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
  switch (options.status) {
    case 429: {
      if (parsed.code === "insufficient_quota" || parsed.type === "insufficient_quota") {
        return new QuotaExceeded(fields)
      }
      return new RateLimited({
        ...fields,
        ...(snapshot.retryAfterMs === undefined ? {} : { retryAfterMs: snapshot.retryAfterMs })
      })
    }
    case 400:
      return new BadRequest(fields)
    case 401:
      return new AuthenticationFailed(fields)
    case 403:
      return new PermissionDenied(fields)
    case 404:
      return new NotFound(fields)
    case 409:
      return new Conflict(fields)
    case 422:
      return new Unprocessable(fields)
    default:
      return new ServerError(fields)
  }
}

const headerValue = (headers: HeaderSource, name: string): string | undefined => {
  if (typeof (headers as { get?: unknown }).get === "function") {
    return (headers as { get: (name: string) => string | null | undefined }).get(name) ?? undefined
  }
  const value = (headers as Record<string, string | ReadonlyArray<string> | undefined>)[name]
  return typeof value === "string" ? value : value?.[0]
}

const redirected = (
  options: {
    readonly status: number
    readonly headers: HeaderSource
    readonly requestId?: string | undefined
    readonly url?: string | undefined
  },
  snapshot: RateLimitSnapshot
): Redirected => {
  const location = headerValue(options.headers, "location")
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
  return new Redirected({
    status: options.status,
    ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
    ...(locationHost === undefined ? {} : { locationHost }),
    ...(sameHost === undefined ? {} : { sameHost }),
    ...(snapshot.isEmpty ? {} : { snapshot })
  })
}

/**
 * The server's delay hint carried by an error (`retry-after-ms` / `retry-after`), in milliseconds.
 *
 * @since 0.1.0
 * @category classification
 */
export const retryAfterMsOf = (error: OpenAiError): number | undefined => {
  if (error._tag === "RateLimited" && error.retryAfterMs !== undefined) return error.retryAfterMs
  return "snapshot" in error ? error.snapshot?.retryAfterMs : undefined
}
