/**
 * The seam between the client and its gates. The client (`OpenAi`) calls these hooks around every call
 * and every attempt; the gates (budget, circuit breaker, rate limiter, concurrency) implement them.
 *
 * Order, per the architecture:
 *   admitCall   (once per call)     Budget.reserve ─▶ lifecycle check ─▶ CircuitBreaker fuse
 *   admitAttempt (once per attempt) CircuitBreaker.guard ─▶ RateLimiter.acquire ─▶ Concurrency permit
 *   observeAttempt                  headers → RateLimiter, outcome → CircuitBreaker
 *   settleCall                      actual usage → Budget, token refund → RateLimiter
 *
 * Permits and reservations are tied to the `Scope` the hooks run in: closing the attempt scope returns the
 * concurrency permit; closing the call scope without `settleCall` releases the budget reservation (the
 * request never reached the server) — so interruption can never leak a permit or a reservation.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import type * as Scope from "effect/Scope"
import type { OpenAiError } from "./Errors.js"
import type { RateLimitSnapshot } from "./RateLimitHeaders.js"

/**
 * What the gates know about a call before it is sent.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallInfo {
  /** API path without the `/v1` prefix: `/chat/completions`, `/embeddings`, `/models` … */
  readonly path: string
  readonly method: "GET" | "POST" | "DELETE"
  /** The model named in the request body, if any. */
  readonly model: string | undefined
  readonly stream: boolean
  /** A non-secret fingerprint of the API key in use (a short hash), for per-key scopes. */
  readonly keyId: string
  /** The validated request body (for token estimates); `undefined` for bodiless calls. */
  readonly body: unknown
  /** Whether the request is billed as a Batch API request (batch discount). */
  readonly batch: boolean
}

/**
 * Token usage as the server reported it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Usage {
  readonly promptTokens: number
  readonly completionTokens: number
  readonly cachedPromptTokens: number
}

/**
 * A call admitted by `admitCall`: the estimates the gates made, carried to the later hooks.
 *
 * @since 0.1.0
 * @category models
 */
export interface Ticket {
  readonly info: CallInfo
  /** The limiter/budget scope key, e.g. `keyId:model`. */
  readonly scope: string
  readonly estimatedPromptTokens: number
  readonly maxOutputTokens: number
}

/**
 * What one attempt ended with.
 *
 * @since 0.1.0
 * @category models
 */
export type AttemptOutcome =
  | { readonly _tag: "Response"; readonly status: number; readonly snapshot: RateLimitSnapshot }
  | { readonly _tag: "Failure"; readonly error: OpenAiError }

/**
 * How a whole call ended, for settlement.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallResult {
  /** Usage from the response (or, for an interrupted stream, input plus what streamed). */
  readonly usage: Usage | undefined
  /** Whether any attempt reached the server (a response or a stream started). */
  readonly sent: boolean
  readonly error: OpenAiError | undefined
}

/**
 * The gate hooks the client runs.
 *
 * @since 0.1.0
 * @category services
 */
export class Gates extends Context.Tag("@sluice/core/Gates")<
  Gates,
  {
    readonly admitCall: (info: CallInfo) => Effect.Effect<Ticket, OpenAiError, Scope.Scope>
    readonly admitAttempt: (ticket: Ticket, attempt: number) => Effect.Effect<void, OpenAiError, Scope.Scope>
    readonly observeAttempt: (ticket: Ticket, outcome: AttemptOutcome) => Effect.Effect<void>
    readonly settleCall: (ticket: Ticket, result: CallResult) => Effect.Effect<void>
  }
>() {}

/**
 * The estimate used when no gate computes one: max output from the request body, no prompt count.
 *
 * @since 0.1.0
 * @category constructors
 */
export const maxOutputTokensOf = (body: unknown): number => {
  if (typeof body !== "object" || body === null) return 0
  const record = body as { max_completion_tokens?: unknown; max_tokens?: unknown }
  const value = record.max_completion_tokens ?? record.max_tokens
  return typeof value === "number" && Number.isFinite(value) ? value : 0
}

/**
 * Gates that admit everything and record nothing.
 *
 * @since 0.1.0
 * @category layers
 */
export const none: Layer.Layer<Gates> = Layer.succeed(Gates, {
  admitCall: (info) =>
    Effect.succeed({
      info,
      scope: `${info.keyId}:${info.model ?? "-"}`,
      estimatedPromptTokens: 0,
      maxOutputTokens: maxOutputTokensOf(info.body)
    }),
  admitAttempt: () => Effect.void,
  observeAttempt: () => Effect.void,
  settleCall: () => Effect.void
})
