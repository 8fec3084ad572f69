/**
 * Every way a call can fail, as one union of `Schema.TaggedError`s. Match with `Effect.catchTag`;
 * `retryable` is data on each error, decided when the error is made, never guessed by the caller.
 *
 * None of these ever holds an API key: requests are described by method, URL path and model only.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { TaggedError } from "./internal/errorClass.js"
import * as internal from "./internal/errors.js"
import { type HeaderSource, RateLimitSnapshot } from "./RateLimitHeaders.js"

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

/** What the retry rule of an error from a response reads. */
interface RetryInputs {
  readonly status?: number | undefined
  readonly shouldRetry?: boolean | undefined
}

/** A deterministic refusal, or a condition retrying cannot change: never retried. */
const never = (): boolean => false

/** A transient condition: always worth another attempt. */
const always = (): boolean => true

/** Retryable unless the server sent `x-should-retry: false`. */
const unlessServerSaysNo = (error: RetryInputs): boolean => error.shouldRetry ?? true

/**
 * 429 throttling (`rate_limit_exceeded`). Retryable; `retryAfterMs` is the server's hint. When the hint is
 * longer than the retry policy accepts, the policy fails fast with this error and the hint on it.
 *
 * @since 0.1.0
 * @category errors
 */
export class RateLimited extends TaggedError<RateLimited>()(
  "RateLimited",
  {
    ...responseFields,
    retryAfterMs: Schema.optional(Schema.Number)
  },
  unlessServerSaysNo
) {}

/**
 * 429 `insufficient_quota`: billing, not throttling. Terminal: retrying cannot help.
 *
 * @since 0.1.0
 * @category errors
 */
export class QuotaExceeded extends TaggedError<QuotaExceeded>()("QuotaExceeded", responseFields, never) {}

/**
 * 401: the key is missing, unknown or revoked (after one credential refresh).
 *
 * @since 0.1.0
 * @category errors
 */
export class AuthenticationFailed extends TaggedError<AuthenticationFailed>()(
  "AuthenticationFailed",
  responseFields,
  never
) {}

/**
 * 403.
 *
 * @since 0.1.0
 * @category errors
 */
export class PermissionDenied extends TaggedError<PermissionDenied>()("PermissionDenied", responseFields, never) {}

/**
 * 400 from the server. Never retried: the same request is refused the same way (a server's
 * `x-should-retry: true` is not trusted for a 4xx refusal).
 *
 * @since 0.1.0
 * @category errors
 */
export class BadRequest extends TaggedError<BadRequest>()("BadRequest", responseFields, never) {}

/**
 * 404, including retired models (`code: "model_not_found"`). Never retried.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotFound extends TaggedError<NotFound>()("NotFound", responseFields, never) {}

/**
 * 409. Retryable, like the official SDKs treat it.
 *
 * @since 0.1.0
 * @category errors
 */
export class Conflict extends TaggedError<Conflict>()("Conflict", responseFields, unlessServerSaysNo) {}

/**
 * 422. Never retried.
 *
 * @since 0.1.0
 * @category errors
 */
export class Unprocessable extends TaggedError<Unprocessable>()("Unprocessable", responseFields, never) {}

/**
 * 408 and 5xx, and any other unexpected status. 408 and 5xx are retryable unless the server says
 * `x-should-retry: false`; any other 4xx (413, 415, 418 …) is a deterministic refusal and never retried, whatever
 * the server says; other statuses (1xx, an unexpected 2xx) only when the server says `x-should-retry: true`.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServerError extends TaggedError<ServerError>()("ServerError", responseFields, (error) => {
  const status = error.status
  if (status === undefined || status === 408 || status >= 500) return unlessServerSaysNo(error)
  if (status >= 400) return false
  return error.shouldRetry ?? false
}) {}

/**
 * A 3xx redirect. Sluice never follows one: the request (and its \`Authorization\` header) would go to a URL the
 * caller did not configure. \`locationHost\` is the host the server pointed to (absent without a \`Location\`).
 * Not retried: point \`baseUrl\` at the final URL instead.
 *
 * @since 0.1.0
 * @category errors
 */
export class Redirected extends TaggedError<Redirected>()(
  "Redirected",
  {
    status: Schema.Number,
    requestId: Schema.optional(Schema.String),
    /** The host of the `Location` header (resolved against the request URL), without path or query. */
    locationHost: Schema.optional(Schema.String),
    /** Whether `Location` points to the host the request went to (a path change, e.g. a trailing slash). */
    sameHost: Schema.optional(Schema.Boolean),
    snapshot: Schema.optional(RateLimitSnapshot)
  },
  never
) {
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
export class Timeout extends TaggedError<Timeout>()(
  "Timeout",
  {
    phase: TimeoutPhase,
    afterMs: Schema.Number,
    requestId: Schema.optional(Schema.String)
  },
  always
) {
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
export class ConnectionFailed extends TaggedError<ConnectionFailed>()(
  "ConnectionFailed",
  {
    message: Schema.String,
    url: Schema.optional(Schema.String)
  },
  always
) {}

/**
 * A response arrived but its body was not what the endpoint promises (bad JSON, wrong shape, too large,
 * cut short). Names the problem; `body` holds at most the first 500 characters.
 *
 * @since 0.1.0
 * @category errors
 */
export class ResponseDecodeFailed extends TaggedError<ResponseDecodeFailed>()(
  "ResponseDecodeFailed",
  {
    message: Schema.String,
    status: Schema.optional(Schema.Number),
    requestId: Schema.optional(Schema.String),
    body: Schema.optional(Schema.String),
    /** Set when the body was larger than `maxResponseBytes` (this many bytes): the server would send it again. */
    limitBytes: Schema.optional(Schema.Number)
  },
  (error) =>
    // A truncated or garbled body is a transport problem more often than a server bug: a retry is worth it.
    // An oversized one is not: the same request gets the same body, and each retry downloads the cap again.
    error.limitBytes === undefined
) {}

/**
 * A stream ended without `data: [DONE]`. Carries what arrived so the caller can decide.
 *
 * @since 0.1.0
 * @category errors
 */
export class StreamTruncated extends TaggedError<StreamTruncated>()(
  "StreamTruncated",
  {
    requestId: Schema.optional(Schema.String),
    chunks: Schema.Number,
    partialContent: Schema.String
  },
  never
) {
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
export class CircuitOpen extends TaggedError<CircuitOpen>()(
  "CircuitOpen",
  {
    scope: Schema.String,
    /** Epoch ms when the breaker will let a probe through; absent when a fuse has tripped for good. */
    closesAtMs: Schema.optional(Schema.Number),
    /** Why it opened: the tag of the error that tripped it, or a description. */
    reason: Schema.String
  },
  never
) {
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
export class BudgetExceeded extends TaggedError<BudgetExceeded>()(
  "BudgetExceeded",
  {
    scope: Schema.String,
    /** What the ceiling counts: US dollars or tokens. */
    unit: Schema.Literals(["usd", "tokens"]),
    ceiling: Schema.Number,
    spent: Schema.Number,
    reserved: Schema.Number,
    /** The worst case of the refused request. */
    requested: Schema.Number
  },
  never
) {
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
export class RequestTooLarge extends TaggedError<RequestTooLarge>()(
  "RequestTooLarge",
  {
    bucket: Schema.Literals(["requests", "tokens"]),
    requested: Schema.Number,
    capacity: Schema.Number
  },
  never
) {
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
export class PriceUnknown extends TaggedError<PriceUnknown>()(
  "PriceUnknown",
  {
    model: Schema.String
  },
  never
) {
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
export class ModelRetired extends TaggedError<ModelRetired>()(
  "ModelRetired",
  {
    model: Schema.String,
    state: Schema.Literals(["deprecated", "retired"]),
    shutdownDate: Schema.optional(Schema.String),
    replacement: Schema.optional(Schema.String)
  },
  never
) {
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
export class InvalidRequest extends TaggedError<InvalidRequest>()(
  "InvalidRequest",
  {
    message: Schema.String,
    path: Schema.optional(Schema.String)
  },
  never
) {}

/**
 * An option is out of range: `concurrency: 0` (nothing would ever run), `requestsPerMinute: 0` (every request
 * would be too large), a negative budget, retry count or grace period. Raised when the client, a gate or a job is
 * built — never a hang or a defect. Names the option (as the caller wrote it, e.g. `retry.maxAttempts`), the value
 * and what is allowed.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidOptions extends TaggedError<InvalidOptions>()(
  "InvalidOptions",
  {
    /** The option, by its path in the options object: `concurrency`, `retry.maxAttempts`, `rateLimiter.tokensPerMinute`. */
    option: Schema.String,
    /** The value given, as text (`0`, `-1`, `NaN`, `"abc"`). */
    value: Schema.String,
    /** What is allowed: `an integer ≥ 1`, `a number > 0` … */
    expected: Schema.String
  },
  never
) {
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
export class CredentialsUnavailable extends TaggedError<CredentialsUnavailable>()(
  "CredentialsUnavailable",
  {
    source: Schema.String,
    message: Schema.String
  },
  never
) {}

/**
 * A shared gate store (Redis) stayed unreachable past its deadline: the call was not sent (no reservation could be
 * taken), and the job stops with its unfinished requests pending for a resume.
 *
 * @since 0.3.0
 * @category errors
 */
export class StoreUnavailable extends TaggedError<StoreUnavailable>()(
  "StoreUnavailable",
  {
    /** Which store: `"redis"`. */
    store: Schema.String,
    /** The operation that could not run (`budget.reserve`, `breaker.read`, `limiter.acquire` …). */
    operation: Schema.String,
    /** How long it was retried before giving up. */
    waitedMs: Schema.Number,
    /** The last connection error. */
    cause: Schema.String
  },
  never
) {
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
export class StructuredOutputInvalid extends TaggedError<StructuredOutputInvalid>()(
  "StructuredOutputInvalid",
  {
    /** The schema's name (`text.format.name` / `response_format.json_schema.name`). */
    name: Schema.String,
    /** What was wrong: the JSON error or the Schema issue with its path. */
    message: Schema.String,
    /** The reply as the model wrote it. */
    text: Schema.String,
    requestId: Schema.optional(Schema.String)
  },
  never
) {}

/**
 * The model refused to answer (a `refusal` instead of the requested output).
 *
 * @since 0.3.0
 * @category errors
 */
export class Refused extends TaggedError<Refused>()(
  "Refused",
  {
    /** The model's explanation. */
    refusal: Schema.String,
    requestId: Schema.optional(Schema.String)
  },
  never
) {
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
export class ToolLoopExceeded extends TaggedError<ToolLoopExceeded>()(
  "ToolLoopExceeded",
  {
    maxTurns: Schema.Number,
    /** The tools the model asked for in the last turn. */
    pending: Schema.Array(Schema.String)
  },
  never
) {
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

/**
 * What {@link fromResponse} reads of a non-2xx response.
 *
 * @since 0.3.0
 * @category models
 */
export interface ResponseInfo {
  readonly status: number
  readonly body: string
  readonly headers: HeaderSource
  readonly requestId?: string | undefined
  /** The `Clock`'s time when the response arrived: resolves an HTTP-date `retry-after`. */
  readonly nowMs: number
  /** The request URL, to resolve a relative `Location` of a redirect. */
  readonly url?: string | undefined
}

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
): { message: string; code?: string; type?: string; param?: string } => internal.parseErrorBody(status, body)

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
export const fromResponse = (options: ResponseInfo): OpenAiError => internal.fromResponse(options)

/**
 * The server's delay hint carried by an error (`retry-after-ms` / `retry-after`), in milliseconds.
 *
 * @since 0.1.0
 * @category classification
 */
export const retryAfterMsOf = (error: OpenAiError): number | undefined => internal.retryAfterMsOf(error)
