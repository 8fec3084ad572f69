/**
 * The `Call` the gates hand out, and the gates composed from whichever gate services are present. Not public:
 * see `Gates.ts`. Every piece of a call's state (reservation, price, permit, the latest attempt's scope) lives in
 * the closure of its `Call`: nothing is looked up on the side.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Budget from "../../Budget.js"
import * as CallScope from "../../CallScope.js"
import * as CircuitBreaker from "../../CircuitBreaker.js"
import * as Concurrency from "../../Concurrency.js"
import { type OpenAiError, PriceUnknown, type RateLimited, retryAfterMsOf } from "../../Errors.js"
import type * as Gates from "../../Gates.js"
import type { AttemptResponse, Call, CallInfo, CallResult, Options, Settlement } from "../../Gates.js"
import * as ModelLifecycle from "../../ModelLifecycle.js"
import * as Pricing from "../../Pricing.js"
import * as RateLimiter from "../../RateLimiter.js"
import { RateLimitSnapshot } from "../../RateLimitHeaders.js"
import * as Tokens from "../../Tokens.js"
import * as Usage from "../../Usage.js"
import * as Tokenizer from "../tokenizer.js"

/** Max output of a request: `max_completion_tokens`/`max_tokens`/`max_output_tokens` × `n` (Tokens' one rule). */
export const maxOutputTokensOf = (body: unknown): number => Tokenizer.maxOutput(body, 0)

const unsettled: Settlement = { usage: undefined, costUsd: undefined }

const noDetails = (): Effect.Effect<void> => Effect.void

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
    recordResponse: noDetails
  }
}

export const none: Gates.Gates["Service"] = { admit: (info) => Effect.succeed(passThrough(info)) }

/** The hint a 429 gives: retry-after, else the reset of the exhausted bucket. */
const pauseHint = (error: RateLimited): number | undefined => {
  const hint = retryAfterMsOf(error)
  if (hint !== undefined) return hint
  const snapshot = error.snapshot
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
      pricing: yield* Pricing.current,
      resolvers: { scopeOf: options.scopeOf, budgetScopeOf: options.budgetScopeOf }
    } satisfies Services
  })

/**
 * The per-call gates: estimate → lifecycle → budget reservation → fuse; then the `Call`. Plain combinators, not
 * `Effect.gen`: this runs once per call (docs/decisions/0014-call-hot-path.md).
 */
const admit = (gates: Services, info: CallInfo): Effect.Effect<Call, OpenAiError, Scope.Scope> =>
  Effect.suspend(() => {
    const scope = CallScope.make(info, gates.resolvers)
    return gates.limiter !== undefined || gates.budget !== undefined
      ? Effect.flatMap(gates.tokens.estimate({ path: info.path, model: info.model, body: info.body }), (estimate) =>
          admitEstimated(gates, info, scope, estimate)
        )
      : admitEstimated(gates, info, scope, { promptTokens: 0, maxOutputTokens: maxOutputTokensOf(info.body) })
  })

const admitEstimated = (
  gates: Services,
  info: CallInfo,
  scope: CallScope.CallScope,
  estimate: Admitted["estimate"]
): Effect.Effect<Call, OpenAiError, Scope.Scope> => {
  const { budget, breaker, lifecycle, pricing } = gates
  const reserved = Effect.suspend((): Effect.Effect<Call, OpenAiError, Scope.Scope> => {
    const price = info.model === undefined ? undefined : Option.getOrUndefined(pricing.price(info.model))
    const fused = (reservation: Budget.Reservation | undefined) =>
      Effect.suspend(() => {
        const call = callOf(gates, info, scope, estimate, price, reservation)
        // The fuse is the key's: its id comes from the scope value, never parsed back out of the scope string.
        return breaker === undefined ? Effect.succeed(call) : Effect.as(breaker.checkFuse(scope.key, scope.keyId), call)
      })
    if (budget === undefined || info.model === undefined || !budget.enforced(scope.budget)) return fused(undefined)
    if (price === undefined) return Effect.fail(new PriceUnknown({ model: info.model }))
    const worst = {
      promptTokens: estimate.promptTokens,
      completionTokens: estimate.maxOutputTokens,
      cachedPromptTokens: 0
    }
    return Effect.flatMap(
      budget.reserve(scope.budget, {
        usd: Usage.cost(worst, price, { batch: info.batch }),
        tokens: Usage.total(worst)
      }),
      fused
    )
  })
  return lifecycle !== undefined && info.model !== undefined
    ? Effect.andThen(lifecycle.check(info.model), reserved)
    : reserved
}

/** What the gates admitted a call with, and what its attempts have left for its settlement. */
interface Admitted {
  readonly gates: Services
  readonly info: CallInfo
  readonly scope: CallScope.CallScope
  readonly estimate: {
    readonly promptTokens: number
    readonly maxOutputTokens: number
    readonly admissionPromptTokens?: number | undefined
  }
  readonly price: Pricing.ModelPrice | undefined
  readonly reservation: Budget.Reservation | undefined
  readonly progress: Gates.CallProgress
  /** The latest attempt's limiter permit. */
  permit: RateLimiter.Permit | undefined
  settled: boolean
}

const success = { _tag: "Success" } as const

/** A response's headers → the limiter, success → the breaker, in the attempt's scope. */
const observe = <A extends AttemptResponse>(call: Admitted, at: CallScope.CallScope, response: A): Effect.Effect<A> => {
  const { breaker, limiter } = call.gates
  const recorded =
    breaker === undefined ? Effect.succeed(response) : Effect.as(breaker.record(at.key, success, at.keyId), response)
  // The attempt's permit: the server's later charge for this request is not read as another client's usage.
  return limiter === undefined
    ? recorded
    : Effect.andThen(limiter.observe(at.key, response.snapshot, call.permit), recorded)
}

/** A failed attempt (a gate's refusal included) → the limiter (and its pause on a 429), the breaker. */
const observeFailure = (call: Admitted, at: CallScope.CallScope, error: OpenAiError) =>
  Effect.gen(function* () {
    const { breaker, limiter } = call.gates
    const snapshot = "snapshot" in error ? error.snapshot : undefined
    if (limiter !== undefined) {
      // Even without headers (a reset, a timeout) the attempt is over: that ends the limiter's first probe.
      yield* limiter.observe(at.key, snapshot ?? RateLimitSnapshot.make({}), call.permit)
      if (error._tag === "RateLimited") yield* limiter.pause(at.key, pauseHint(error))
    }
    if (breaker !== undefined) yield* breaker.record(at.key, { _tag: "Failure", error }, at.keyId)
  })

/** The limiter's tokens: the server's admission measure of the prompt (Tokens), not the budget's upper bound. */
const admissionTokens = (estimate: Admitted["estimate"]): number =>
  (estimate.admissionPromptTokens ?? estimate.promptTokens) + estimate.maxOutputTokens

/** One attempt, one pass: guard → limiter → permit → `send` → observe, in the scope of the key it sends with. */
const attempt =
  (call: Admitted) =>
  <A extends AttemptResponse, R>(keyId: string, send: Effect.Effect<A, OpenAiError, R>) =>
    Effect.suspend(() => {
      const { breaker, limiter, concurrency } = call.gates
      call.progress.attempts++
      call.permit = undefined
      // A key rotated in since admission (a refresh after a 401) has limits and a breaker of its own.
      const at = CallScope.withKey(call.scope, call.info, keyId, call.gates.resolvers)
      // Built inside out, without a generator: this runs on every attempt.
      const permitted = concurrency === undefined ? send : Effect.andThen(concurrency.acquire(at.key), send)
      const limited =
        limiter === undefined
          ? permitted
          : Effect.flatMap(
              limiter.acquire(at.key, { requests: 1, tokens: admissionTokens(call.estimate) }),
              (permit) => {
                call.permit = permit
                return permitted
              }
            )
      const admitted = breaker === undefined ? limited : Effect.andThen(breaker.guard(at.key, at.keyId), limited)
      // One continuation for both outcomes, not a `tapError` and a `flatMap`.
      return Effect.matchEffect(admitted, {
        onFailure: (error) => Effect.andThen(observeFailure(call, at, error), Effect.fail(error)),
        onSuccess: (response) => observe(call, at, response)
      })
    })

/** The first settlement: the one cost of the call, then the budget and the limiter's token settlement. */
const settle =
  (call: Admitted) =>
  (result: CallResult): Effect.Effect<Settlement> =>
    Effect.suspend(() => {
      if (call.settled) return Effect.succeed(unsettled)
      call.settled = true
      const { budget, limiter } = call.gates
      const { info, price, reservation } = call
      const usage = result.usage
      // The one cost of the call, from the gates' Pricing: what the budget settles and telemetry reports.
      const costUsd =
        usage === undefined || price === undefined ? undefined : Usage.cost(usage, price, { batch: info.batch })
      const settlement: Settlement = { usage, costUsd }
      const steps: Array<Effect.Effect<void>> = []
      if (budget !== undefined && reservation !== undefined) {
        if (usage !== undefined && costUsd !== undefined) {
          steps.push(budget.settle(reservation, { usd: costUsd, tokens: Usage.total(usage) }, info.model))
        } else if (result.sent) {
          // The server saw it but no usage came back: it may have billed, so keep the worst case.
          steps.push(budget.settle(reservation, reservation, info.model))
        } else {
          steps.push(budget.release(reservation))
        }
      }
      const permit = call.permit
      if (limiter !== undefined && permit !== undefined && usage !== undefined) {
        steps.push(Effect.suspend(() => limiter.settle(permit, Usage.total(usage))))
      }
      if (steps.length === 0) return Effect.succeed(settlement)
      if (steps.length === 1) return Effect.as(steps[0]!, settlement)
      return Effect.as(Effect.andThen(steps[0]!, steps[1]!), settlement)
    })

const callOf = (
  gates: Services,
  info: CallInfo,
  scope: CallScope.CallScope,
  estimate: Admitted["estimate"],
  price: Pricing.ModelPrice | undefined,
  reservation: Budget.Reservation | undefined
): Call => {
  const admitted: Admitted = {
    gates,
    info,
    scope,
    estimate,
    price,
    reservation,
    progress: { attempts: 0, sent: false },
    permit: undefined,
    settled: false
  }
  return {
    info,
    scope,
    estimatedPromptTokens: estimate.promptTokens,
    maxOutputTokens: estimate.maxOutputTokens,
    progress: admitted.progress,
    attempt: attempt(admitted),
    settle: settle(admitted),
    recordFirstToken: Effect.void,
    recordResponse: noDetails
  }
}

export const make = (options: Options): Effect.Effect<Gates.Gates["Service"]> =>
  Effect.map(services(options), (gates) => ({ admit: (info: CallInfo) => admit(gates, info) }))
