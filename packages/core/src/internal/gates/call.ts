/**
 * The `Call` the gates hand out, and the gates composed from whichever gate services are present. Not public:
 * see `Gates.ts`. Every piece of a call's state (reservation, price, permit, the latest attempt's scope) lives in
 * the closure of its `Call`: nothing is looked up on the side.
 */
import { Effect, Option } from "effect"
import type * as Scope from "effect/Scope"
import * as Budget from "../../Budget.js"
import * as CallScope from "../../CallScope.js"
import * as CircuitBreaker from "../../CircuitBreaker.js"
import * as Concurrency from "../../Concurrency.js"
import { type OpenAiError, PriceUnknown, type RateLimited } from "../../Errors.js"
import type { AttemptResponse, Call, CallInfo, CallResult, Gates, Options, Settlement } from "../../Gates.js"
import * as ModelLifecycle from "../../ModelLifecycle.js"
import * as Pricing from "../../Pricing.js"
import * as RateLimiter from "../../RateLimiter.js"
import { RateLimitSnapshot } from "../../RateLimitHeaders.js"
import * as Tokens from "../../Tokens.js"
import * as Usage from "../../Usage.js"

export const maxOutputTokensOf = (body: unknown): number => {
  if (typeof body !== "object" || body === null) return 0
  const record = body as { max_completion_tokens?: unknown; max_tokens?: unknown }
  const value = record.max_completion_tokens ?? record.max_tokens
  return typeof value === "number" && Number.isFinite(value) ? value : 0
}

const unsettled: Settlement = { usage: undefined, costUsd: undefined }

/** A call no gate looks at: it counts its attempts and runs them as they are. */
export const passThrough = (
  info: CallInfo,
  estimate: { readonly promptTokens: number; readonly maxOutputTokens: number } = {
    promptTokens: 0,
    maxOutputTokens: maxOutputTokensOf(info.body)
  },
  scope: CallScope.CallScope = CallScope.make(info)
): Call => {
  const progress = { attempts: 0, sent: false }
  return {
    info,
    scope,
    estimatedPromptTokens: estimate.promptTokens,
    maxOutputTokens: estimate.maxOutputTokens,
    progress,
    attempt: (_keyId, send) =>
      Effect.suspend(() => {
        progress.attempts++
        return send
      }),
    settle: (result) =>
      Effect.succeed(result.usage === undefined ? unsettled : { usage: result.usage, costUsd: undefined }),
    recordFirstToken: Effect.void,
    recordResponse: () => Effect.void
  }
}

export const none: Gates["Service"] = { admit: (info) => Effect.succeed(passThrough(info)) }

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

interface Services {
  readonly budget: Budget.Budget["Service"] | undefined
  readonly lifecycle: ModelLifecycle.ModelLifecycle["Service"] | undefined
  readonly breaker: CircuitBreaker.CircuitBreaker["Service"] | undefined
  readonly limiter: RateLimiter.RateLimiter["Service"] | undefined
  readonly concurrency: Concurrency.Concurrency["Service"] | undefined
  readonly tokens: Tokens.Tokens["Service"]
  readonly pricing: Pricing.Pricing["Service"]
  readonly resolvers: CallScope.Resolvers<CallInfo>
}

const services = (options: Options) =>
  Effect.gen(function* () {
    const providedTokens = yield* Effect.serviceOption(Tokens.Tokens)
    return {
      budget: Option.getOrUndefined(yield* Effect.serviceOption(Budget.Budget)),
      lifecycle: Option.getOrUndefined(yield* Effect.serviceOption(ModelLifecycle.ModelLifecycle)),
      breaker: Option.getOrUndefined(yield* Effect.serviceOption(CircuitBreaker.CircuitBreaker)),
      limiter: Option.getOrUndefined(yield* Effect.serviceOption(RateLimiter.RateLimiter)),
      concurrency: Option.getOrUndefined(yield* Effect.serviceOption(Concurrency.Concurrency)),
      tokens: Option.isSome(providedTokens) ? providedTokens.value : yield* Tokens.make(options.tokens),
      pricing: Option.getOrElse(yield* Effect.serviceOption(Pricing.Pricing), () => Pricing.fromTable()),
      resolvers: { scopeOf: options.scopeOf, budgetScopeOf: options.budgetScopeOf }
    } satisfies Services
  })

/** The per-call gates: estimate → lifecycle → budget reservation → fuse; then the `Call`. */
const admit = (gates: Services, info: CallInfo): Effect.Effect<Call, OpenAiError, Scope.Scope> =>
  Effect.gen(function* () {
    const { budget, breaker, lifecycle, limiter, pricing } = gates
    const scope = CallScope.make(info, gates.resolvers)
    const estimate =
      limiter !== undefined || budget !== undefined
        ? yield* gates.tokens.estimate({ path: info.path, model: info.model, body: info.body })
        : { promptTokens: 0, maxOutputTokens: maxOutputTokensOf(info.body) }
    if (lifecycle !== undefined && info.model !== undefined) yield* lifecycle.check(info.model)
    const price = info.model === undefined ? undefined : Option.getOrUndefined(pricing.price(info.model))
    let reservation: Budget.Reservation | undefined
    if (budget !== undefined && info.model !== undefined && budget.enforced(scope.budget)) {
      if (price === undefined) return yield* new PriceUnknown({ model: info.model })
      const worst = {
        promptTokens: estimate.promptTokens,
        completionTokens: estimate.maxOutputTokens,
        cachedPromptTokens: 0
      }
      reservation = yield* budget.reserve(scope.budget, {
        usd: Usage.cost(worst, price, { batch: info.batch }),
        tokens: Usage.total(worst)
      })
    }
    if (breaker !== undefined) yield* breaker.checkFuse(scope.key)
    return callOf(gates, info, scope, estimate, price, reservation)
  })

const callOf = (
  gates: Services,
  info: CallInfo,
  scope: CallScope.CallScope,
  estimate: {
    readonly promptTokens: number
    readonly maxOutputTokens: number
    readonly admissionPromptTokens?: number | undefined
  },
  price: Pricing.ModelPrice | undefined,
  reservation: Budget.Reservation | undefined
): Call => {
  const { breaker, limiter, concurrency } = gates
  let permit: RateLimiter.Permit | undefined
  let settled = false
  const base = passThrough(info, estimate, scope)
  const progress = base.progress

  const observe = <A extends AttemptResponse>(at: CallScope.CallScope, response: A) =>
    Effect.gen(function* () {
      // The attempt's permit: the server's later charge for this request is not read as another client's usage.
      if (limiter !== undefined) yield* limiter.observe(at.key, response.snapshot, permit)
      if (breaker !== undefined) yield* breaker.record(at.key, { _tag: "Success" })
      return response
    })

  const observeFailure = (at: CallScope.CallScope, error: OpenAiError) =>
    Effect.gen(function* () {
      const snapshot = "snapshot" in error ? error.snapshot : undefined
      if (limiter !== undefined) {
        // Even without headers (a reset, a timeout) the attempt is over: that ends the limiter's first probe.
        yield* limiter.observe(at.key, snapshot ?? RateLimitSnapshot.make({}), permit)
        if (error._tag === "RateLimited") yield* limiter.pause(at.key, pauseHint(error))
      }
      if (breaker !== undefined) yield* breaker.record(at.key, { _tag: "Failure", error })
    })

  const attempt = <A extends AttemptResponse, R>(keyId: string, send: Effect.Effect<A, OpenAiError, R>) =>
    Effect.suspend(() => {
      progress.attempts++
      permit = undefined
      // A key rotated in since admission (a refresh after a 401) has limits and a breaker of its own.
      const at = CallScope.withKey(scope, info, keyId, gates.resolvers)
      const admitted = Effect.gen(function* () {
        if (breaker !== undefined) yield* breaker.guard(at.key)
        if (limiter !== undefined) {
          permit = yield* limiter.acquire(at.key, {
            requests: 1,
            // the server's admission measure of the prompt (Tokens), not the budget's upper bound
            tokens: (estimate.admissionPromptTokens ?? estimate.promptTokens) + estimate.maxOutputTokens
          })
        }
        if (concurrency !== undefined) yield* concurrency.acquire(at.key)
        return yield* send
      })
      return admitted.pipe(
        Effect.tapError((error) => observeFailure(at, error)),
        Effect.flatMap((response) => observe(at, response))
      )
    })

  const settle = (result: CallResult): Effect.Effect<Settlement> =>
    Effect.gen(function* () {
      if (settled) return unsettled
      settled = true
      const usage = result.usage
      // The one cost of the call, from the gates' Pricing: what the budget settles and telemetry reports.
      const costUsd =
        usage === undefined || price === undefined ? undefined : Usage.cost(usage, price, { batch: info.batch })
      const budget = gates.budget
      if (budget !== undefined && reservation !== undefined) {
        if (usage !== undefined && costUsd !== undefined) {
          yield* budget.settle(reservation, { usd: costUsd, tokens: Usage.total(usage) }, info.model)
        } else if (result.sent) {
          // The server saw it but no usage came back: it may have billed, so keep the worst case.
          yield* budget.settle(reservation, reservation, info.model)
        } else {
          yield* budget.release(reservation)
        }
      }
      if (limiter !== undefined && permit !== undefined && usage !== undefined) {
        yield* limiter.settle(permit, Usage.total(usage))
      }
      return { usage, costUsd }
    })

  return { ...base, attempt, settle }
}

export const make = (options: Options): Effect.Effect<Gates["Service"]> =>
  Effect.map(services(options), (gates) => ({ admit: (info: CallInfo) => admit(gates, info) }))
