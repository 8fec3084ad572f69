/**
 * The seam between the client and its gates. The client (`OpenAi`) calls these hooks around every call
 * and every attempt; the gates (budget, circuit breaker, rate limiter, concurrency) implement them.
 *
 * Order, per the architecture:
 *   admitCall   (once per call)     token estimate ─▶ lifecycle check ─▶ Budget.reserve ─▶ CircuitBreaker fuse
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
import { Context, Effect, Layer, Option } from "effect"
import type * as Scope from "effect/Scope"
import * as Budget from "./Budget.js"
import * as CircuitBreaker from "./CircuitBreaker.js"
import * as Concurrency from "./Concurrency.js"
import { type InvalidOptions, type OpenAiError, PriceUnknown, type RateLimited } from "./Errors.js"
import * as ModelLifecycle from "./ModelLifecycle.js"
import * as Pricing from "./Pricing.js"
import * as RateLimiter from "./RateLimiter.js"
import { RateLimitSnapshot } from "./RateLimitHeaders.js"
import * as Tokens from "./Tokens.js"
import * as UsageModule from "./Usage.js"

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
  | {
      readonly _tag: "Response"
      readonly status: number
      readonly snapshot: RateLimitSnapshot
      readonly requestId?: string | undefined
    }
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
 * The gate hooks the client runs.
 *
 * @since 0.1.0
 * @category services
 */
export class Gates extends Context.Service<
  Gates,
  {
    readonly admitCall: (info: CallInfo) => Effect.Effect<Ticket, OpenAiError, Scope.Scope>
    /**
     * Before every attempt. `keyId` is the key this attempt will send with; when a rotation changed it since
     * `admitCall`, the attempt (limiter, breaker, concurrency) runs in the new key's scope.
     */
    readonly admitAttempt: (
      ticket: Ticket,
      attempt: number,
      keyId?: string | undefined
    ) => Effect.Effect<void, OpenAiError, Scope.Scope>
    readonly observeAttempt: (ticket: Ticket, outcome: AttemptOutcome) => Effect.Effect<void>
    readonly settleCall: (ticket: Ticket, result: CallResult) => Effect.Effect<void>
  }
>()("@sluice/core/Gates") {}

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
  /** The limiter and breaker scope of a call. Default `keyId:model` (`keyId:-` without a model). */
  readonly scopeOf?: (info: CallInfo) => string
  /** The budget scope of a call. Default `"global"`. */
  readonly budgetScopeOf?: (info: CallInfo) => string
  /** Estimator options, used when no `Tokens` service is provided. */
  readonly tokens?: Tokens.Options
}

interface CallState {
  readonly reservation: Budget.Reservation | undefined
  readonly price: Pricing.ModelPrice | undefined
  permit: RateLimiter.Permit | undefined
  /** The scope of the latest attempt: the ticket's, or the rotated-in key's. */
  scope: string
}

/** The hint a 429 gives: retry-after, else the reset of the exhausted bucket. */
const pauseHint = (error: RateLimited): number | undefined => {
  const snapshot = error.snapshot
  const hint = error.retryAfterMs ?? snapshot?.retryAfterMs
  if (hint !== undefined) return hint
  if (snapshot === undefined) return undefined
  const resets: Array<number> = []
  if (snapshot.remainingRequests === 0 && snapshot.resetRequestsMs !== undefined) resets.push(snapshot.resetRequestsMs)
  if (snapshot.remainingTokens === 0 && snapshot.resetTokensMs !== undefined) resets.push(snapshot.resetTokensMs)
  return resets.length === 0 ? undefined : Math.max(...resets)
}

/**
 * Builds the gates from the services in context, each optional: `Budget`, `ModelLifecycle`, `CircuitBreaker`,
 * `RateLimiter`, `Concurrency` (and `Tokens`, `Pricing`, which default to the built-in ones). A missing service
 * is simply not a gate. Tokens are counted once per call, and only when a limiter or budget needs them.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Gates["Service"]> =>
  Effect.gen(function* () {
    const budget = Option.getOrUndefined(yield* Effect.serviceOption(Budget.Budget))
    const lifecycle = Option.getOrUndefined(yield* Effect.serviceOption(ModelLifecycle.ModelLifecycle))
    const breaker = Option.getOrUndefined(yield* Effect.serviceOption(CircuitBreaker.CircuitBreaker))
    const limiter = Option.getOrUndefined(yield* Effect.serviceOption(RateLimiter.RateLimiter))
    const concurrency = Option.getOrUndefined(yield* Effect.serviceOption(Concurrency.Concurrency))
    const providedTokens = yield* Effect.serviceOption(Tokens.Tokens)
    const tokens = Option.isSome(providedTokens) ? providedTokens.value : yield* Tokens.make(options.tokens)
    const pricing = Option.getOrElse(yield* Effect.serviceOption(Pricing.Pricing), () => Pricing.fromTable())
    const scopeOf = options.scopeOf ?? ((info: CallInfo) => `${info.keyId}:${info.model ?? "-"}`)
    const budgetScopeOf = options.budgetScopeOf ?? (() => "global")
    const calls = new WeakMap<Ticket, CallState>()

    const admitCall = (info: CallInfo): Effect.Effect<Ticket, OpenAiError, Scope.Scope> =>
      Effect.gen(function* () {
        const scope = scopeOf(info)
        const estimate =
          limiter !== undefined || budget !== undefined
            ? yield* tokens.estimate({ path: info.path, model: info.model, body: info.body })
            : { promptTokens: 0, maxOutputTokens: maxOutputTokensOf(info.body) }
        if (lifecycle !== undefined && info.model !== undefined) yield* lifecycle.check(info.model)
        let reservation: Budget.Reservation | undefined
        let price: Pricing.ModelPrice | undefined
        if (budget !== undefined && info.model !== undefined) {
          const budgetScope = budgetScopeOf(info)
          if (budget.enforced(budgetScope)) {
            const known = pricing.price(info.model)
            if (Option.isNone(known)) return yield* new PriceUnknown({ model: info.model })
            price = known.value
            const worst = {
              promptTokens: estimate.promptTokens,
              completionTokens: estimate.maxOutputTokens,
              cachedPromptTokens: 0
            }
            reservation = yield* budget.reserve(budgetScope, {
              usd: UsageModule.cost(worst, price, { batch: info.batch }),
              tokens: estimate.promptTokens + estimate.maxOutputTokens
            })
          }
        }
        if (breaker !== undefined) yield* breaker.checkFuse(scope)
        const ticket: Ticket = {
          info,
          scope,
          estimatedPromptTokens: estimate.promptTokens,
          maxOutputTokens: estimate.maxOutputTokens
        }
        calls.set(ticket, { reservation, price, permit: undefined, scope })
        return ticket
      })

    const admitAttempt = (
      ticket: Ticket,
      _attempt: number,
      keyId?: string | undefined
    ): Effect.Effect<void, OpenAiError, Scope.Scope> =>
      Effect.gen(function* () {
        const state = calls.get(ticket)
        // A key rotated in since admission (a refresh after a 401) has limits and a breaker of its own.
        const scope =
          keyId === undefined || keyId === ticket.info.keyId ? ticket.scope : scopeOf({ ...ticket.info, keyId })
        if (state !== undefined) state.scope = scope
        if (breaker !== undefined) yield* breaker.guard(scope)
        if (limiter !== undefined) {
          const permit = yield* limiter.acquire(scope, {
            requests: 1,
            tokens: ticket.estimatedPromptTokens + ticket.maxOutputTokens
          })
          if (state !== undefined) state.permit = permit
        }
        if (concurrency !== undefined) yield* concurrency.acquire(scope)
      })

    const observeAttempt = (ticket: Ticket, outcome: AttemptOutcome): Effect.Effect<void> =>
      Effect.gen(function* () {
        const scope = calls.get(ticket)?.scope ?? ticket.scope
        if (outcome._tag === "Response") {
          if (limiter !== undefined) yield* limiter.observe(scope, outcome.snapshot)
          if (breaker !== undefined) yield* breaker.record(scope, { _tag: "Success" })
          return
        }
        const error = outcome.error
        const snapshot = "snapshot" in error ? error.snapshot : undefined
        if (limiter !== undefined) {
          // Even without headers (a reset, a timeout) the attempt is over: that ends the limiter's first probe.
          yield* limiter.observe(scope, snapshot ?? RateLimitSnapshot.make({}))
          if (error._tag === "RateLimited") yield* limiter.pause(scope, pauseHint(error))
        }
        if (breaker !== undefined) yield* breaker.record(scope, { _tag: "Failure", error })
      })

    const settleCall = (ticket: Ticket, result: CallResult): Effect.Effect<void> =>
      Effect.gen(function* () {
        const state = calls.get(ticket)
        if (state === undefined) return
        calls.delete(ticket)
        const usage = result.usage
        if (budget !== undefined && state.reservation !== undefined) {
          if (usage !== undefined && state.price !== undefined) {
            yield* budget.settle(
              state.reservation,
              {
                usd: UsageModule.cost(usage, state.price, { batch: ticket.info.batch }),
                tokens: UsageModule.total(usage)
              },
              ticket.info.model
            )
          } else if (result.sent) {
            // The server saw it but no usage came back: it may have billed, so keep the worst case.
            yield* budget.settle(state.reservation, state.reservation, ticket.info.model)
          } else {
            yield* budget.release(state.reservation)
          }
        }
        if (limiter !== undefined && state.permit !== undefined && usage !== undefined) {
          yield* limiter.settle(state.permit, usage.promptTokens + usage.completionTokens)
        }
      })

    return Gates.of({ admitCall, admitAttempt, observeAttempt, settleCall })
  })

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
