/**
 * The seam between the client and its gates. The client (`OpenAi`) admits every call here and runs each of its
 * attempts through the `Call` it gets back; the gates (budget, circuit breaker, rate limiter, concurrency)
 * implement it. See docs/call-flow.md.
 *
 * Order, per the architecture:
 *   admit         (once per call)     token estimate ─▶ lifecycle check ─▶ Budget.reserve ─▶ CircuitBreaker fuse
 *   call.attempt  (once per attempt)  CircuitBreaker.guard ─▶ RateLimiter.acquire ─▶ Concurrency permit ─▶ send
 *                                     ─▶ headers → RateLimiter, outcome → CircuitBreaker
 *   call.settle   (once per call)     the cost (once) ─▶ actual usage → Budget, token refund → RateLimiter
 *
 * Permits and reservations are tied to the `Scope` they run in: closing the attempt scope returns the
 * concurrency permit; closing the call scope without `settle` releases the budget reservation (the
 * request never reached the server) — so interruption can never leak a permit or a reservation.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Budget from "./Budget.js"
import type * as CallScope from "./CallScope.js"
import * as CircuitBreaker from "./CircuitBreaker.js"
import * as Concurrency from "./Concurrency.js"
import type { InvalidOptions, OpenAiError } from "./Errors.js"
import * as internal from "./internal/gates/call.js"
import * as ModelLifecycle from "./ModelLifecycle.js"
import * as Pricing from "./Pricing.js"
import * as RateLimiter from "./RateLimiter.js"
import type { RateLimitSnapshot } from "./RateLimitHeaders.js"
import * as Tokens from "./Tokens.js"
import type * as UsageModule from "./Usage.js"

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
 * Token usage as the server reported it (the `Usage` module's type, kept here for existing imports).
 *
 * @since 0.1.0
 * @category models
 */
export type Usage = UsageModule.Usage

/**
 * What the client learnt from an attempt that got a response (any status): what the gates observe.
 *
 * @since 0.3.0
 * @category models
 */
export interface AttemptResponse {
  readonly status: number
  readonly snapshot: RateLimitSnapshot
  readonly requestId?: string | undefined
}

/**
 * What a call has done so far, shared by the call and every decorator of it (they read it, the client and the
 * gates write it). Attempts run one after another, never concurrently.
 *
 * @since 0.3.0
 * @category models
 */
export interface CallProgress {
  /** Attempts started through the gates (1 for the first). */
  attempts: number
  /** Whether a request may have reached the server (set by the client). */
  sent: boolean
}

/**
 * What settling a call computed, once: the usage it was settled with and its cost (`undefined` when the gates
 * know no price for the model, or have no `Pricing` at all, like {@link none}).
 *
 * @since 0.3.0
 * @category models
 */
export interface Settlement {
  readonly usage: Usage | undefined
  readonly costUsd: number | undefined
}

/**
 * A call the gates admitted (`Gates.admit`): its scope and estimates, its progress, and the operations of the
 * rest of its life. It carries its own state (reservation, permit, the attempt's scope) in the value: nothing is
 * kept in a table on the side. A decorator (telemetry, a meter) returns a new `Call` that wraps the operations
 * it cares about and spreads the rest: `{ ...call, attempt: (keyId, send) => … call.attempt(keyId, send) … }`.
 *
 * @since 0.3.0
 * @category models
 */
export interface Call {
  readonly info: CallInfo
  /** Where the call is counted; built once at admission. */
  readonly scope: CallScope.CallScope
  readonly estimatedPromptTokens: number
  readonly maxOutputTokens: number
  readonly progress: CallProgress
  /**
   * One attempt, one pass through the gates: admission in the scope of `keyId` (the key it sends with:
   * breaker, rate limiter, concurrency permit, held by the current `Scope`), then `send`, then its outcome
   * observed (a response's headers and status, or the failure — a gate's refusal included).
   */
  readonly attempt: <A extends AttemptResponse, R>(
    keyId: string,
    send: Effect.Effect<A, OpenAiError, R>
  ) => Effect.Effect<A, OpenAiError, R | Scope.Scope>
  /** Settles the call with its usage (budget, token refund). Only the first settlement counts. */
  readonly settle: (result: CallResult) => Effect.Effect<Settlement>
  /** Marks the first token of a stream (telemetry's time to first token); only the first mark counts. */
  readonly recordFirstToken: Effect.Effect<void>
  /** Adds what the response body said (finish reason, response model, request id) before settlement. */
  readonly recordResponse: (details: ResponseDetails) => Effect.Effect<void>
}

/**
 * The name `Call` had before 0.3.0.
 *
 * @since 0.1.0
 * @category models
 */
export type Ticket = Call

/**
 * What one attempt ended with.
 *
 * @since 0.1.0
 * @category models
 */
export type AttemptOutcome =
  | ({ readonly _tag: "Response" } & AttemptResponse)
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
  /** What the response said about itself, when the client knows it (chat completions). */
  readonly details?: ResponseDetails | undefined
}

/**
 * Facts about a completed response that telemetry reports.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResponseDetails {
  readonly finishReason?: string | undefined
  readonly responseModel?: string | undefined
  readonly requestId?: string | undefined
}

/**
 * The gates every call passes through: `admit` runs the per-call gates (token estimate, model lifecycle,
 * budget reservation, the key's fuse) and returns the {@link Call}, whose `attempt` runs the per-attempt ones.
 *
 * @since 0.1.0
 * @category services
 */
export class Gates extends Context.Service<
  Gates,
  {
    /** Admits a call. Its reservation is tied to the current `Scope`: closing it unsettled releases it. */
    readonly admit: (info: CallInfo) => Effect.Effect<Call, OpenAiError, Scope.Scope>
  }
>()("@sluice/core/Gates") {}

/**
 * The estimate used when no gate computes one: max output from the body (times `n` choices), no prompt count.
 *
 * @since 0.1.0
 * @category constructors
 */
export const maxOutputTokensOf: (body: unknown) => number = internal.maxOutputTokensOf

/**
 * Gates that admit everything and record nothing.
 *
 * @since 0.1.0
 * @category layers
 */
export const none: Layer.Layer<Gates> = Layer.succeed(Gates, internal.none)

/**
 * The `Call` of a call no gate looks at (what {@link none} admits): it counts attempts and runs them as they
 * are. For decorators and tests that need a `Call` without gates.
 *
 * @since 0.3.0
 * @category constructors
 */
export const passThrough: (
  info: CallInfo,
  estimate?: { readonly promptTokens: number; readonly maxOutputTokens: number },
  scope?: CallScope.CallScope
) => Call = internal.passThrough

// ---------------------------------------------------------------------------------------------------------------
// The implementation: composes whichever gate services are present.
// ---------------------------------------------------------------------------------------------------------------

/**
 * Options of {@link make} / {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The limiter and breaker scope key of a call. Default `keyId:model` (`keyId:-` without a model). */
  readonly scopeOf?: ((info: CallInfo) => string) | undefined
  /** The budget scope of a call. Default `"global"`. */
  readonly budgetScopeOf?: ((info: CallInfo) => string) | undefined
  /** Estimator options, used when no `Tokens` service is provided. */
  readonly tokens?: Tokens.Options
}

/**
 * Builds the gates from the services in context, each optional: `Budget`, `ModelLifecycle`, `CircuitBreaker`,
 * `RateLimiter`, `Concurrency` (and `Tokens`, `Pricing`, which default to the built-in ones). A missing service
 * is simply not a gate. Tokens are counted once per call, and only when a limiter or budget needs them.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Gates["Service"]> => internal.make(options)

/**
 * The gates composed from whichever gate services the layer is given (none required).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Gates> => Layer.effect(Gates, make(options))

/**
 * Options of {@link layerDefaults}: per-gate options; `budget` turns the budget on, `false` turns a gate off.
 *
 * @since 0.1.0
 * @category models
 */
export interface DefaultsOptions extends Options {
  readonly rateLimiter?: RateLimiter.Options | false
  readonly concurrency?: Concurrency.Options | false
  readonly circuitBreaker?: CircuitBreaker.Options | false
  readonly modelLifecycle?: ModelLifecycle.Options | false
  readonly pricing?: Pricing.Options
  readonly budget?: Budget.Options
}

/**
 * Every gate with sensible defaults: limits learned from headers, 64 requests in flight, the breaker of the
 * incident write-up, lifecycle warnings (retired models fail), built-in prices, and no budget unless configured.
 * Fails with `InvalidOptions` naming the option (`concurrency.permits`, `rateLimiter.tokensPerMinute`,
 * `budget.ceilingUsd` …) when one is out of range.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDefaults = (options: DefaultsOptions = {}): Layer.Layer<Gates, InvalidOptions> => {
  const services = Layer.mergeAll(
    options.rateLimiter === false ? Layer.empty : RateLimiter.layer(options.rateLimiter),
    options.concurrency === false ? Layer.empty : Concurrency.layer(options.concurrency ?? { permits: 64 }),
    options.circuitBreaker === false ? Layer.empty : CircuitBreaker.layer(options.circuitBreaker),
    options.modelLifecycle === false ? Layer.empty : ModelLifecycle.layer(options.modelLifecycle),
    options.budget === undefined ? Layer.empty : Budget.layer(options.budget),
    Pricing.layer(options.pricing),
    Tokens.layer(options.tokens)
  )
  return layer(options).pipe(Layer.provide(services))
}

/**
 * {@link layerDefaults} with no options.
 *
 * @since 0.1.0
 * @category layers
 */
export const defaults: Layer.Layer<Gates> = Layer.orDie(layerDefaults()) // no options: nothing can be out of range
