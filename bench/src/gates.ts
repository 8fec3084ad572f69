/**
 * "All gates on" for the benchmarks: Budget → CircuitBreaker → RateLimiter → Concurrency, wired into the
 * `Gates` hooks the client calls, in the order `Gates.ts` documents.
 *
 * Workaround: `@sluice/core` does not (yet) export a composed `Gates.defaults` layer, so the bench composes
 * the committed gate services itself. Swap this for the core layer once it lands.
 */
import * as Budget from "@sluice/core/Budget"
import * as CircuitBreaker from "@sluice/core/CircuitBreaker"
import * as Concurrency from "@sluice/core/Concurrency"
import * as Gates from "@sluice/core/Gates"
import * as Pricing from "@sluice/core/Pricing"
import * as RateLimiter from "@sluice/core/RateLimiter"
import * as Tokens from "@sluice/core/Tokens"
import { Effect, Layer, Option } from "effect"

export interface Options {
  /** Global concurrency permits. */
  readonly permits: number
  /** A budget ceiling that is enforced (reservations are made and settled) but never binds. */
  readonly ceilingUsd: number
}

interface CallState {
  reservation: Budget.Reservation | undefined
  permit: RateLimiter.Permit | undefined
}

const make = Effect.gen(function* () {
  const budget = yield* Budget.Budget
  const breaker = yield* CircuitBreaker.CircuitBreaker
  const limiter = yield* RateLimiter.RateLimiter
  const concurrency = yield* Concurrency.Concurrency
  const tokens = yield* Tokens.Tokens
  const pricing = yield* Pricing.Pricing
  const calls = new WeakMap<Gates.Ticket, CallState>()

  return Gates.Gates.of({
    admitCall: (info) =>
      Effect.gen(function* () {
        const scope = `${info.keyId}:${info.model ?? "-"}`
        const estimate = yield* tokens.estimate({ path: info.path, model: info.model, body: info.body })
        const ticket: Gates.Ticket = {
          info,
          scope,
          estimatedPromptTokens: estimate.promptTokens,
          maxOutputTokens: estimate.maxOutputTokens
        }
        const worstCase = Option.getOrElse(
          pricing.cost(
            info.model ?? "",
            { promptTokens: estimate.promptTokens, completionTokens: estimate.maxOutputTokens, cachedPromptTokens: 0 },
            { batch: info.batch }
          ),
          () => 0
        )
        const reservation = yield* budget.reserve("global", {
          usd: worstCase,
          tokens: estimate.promptTokens + estimate.maxOutputTokens
        })
        yield* breaker.checkFuse(scope)
        calls.set(ticket, { reservation, permit: undefined })
        return ticket
      }),
    admitAttempt: (ticket) =>
      Effect.gen(function* () {
        yield* breaker.guard(ticket.scope)
        const permit = yield* limiter.acquire(ticket.scope, {
          requests: 1,
          tokens: ticket.estimatedPromptTokens + ticket.maxOutputTokens
        })
        const state = calls.get(ticket)
        if (state !== undefined) state.permit = permit
        yield* concurrency.acquire(ticket.scope)
      }),
    observeAttempt: (ticket, outcome) =>
      outcome._tag === "Response"
        ? Effect.zipRight(
            limiter.observe(ticket.scope, outcome.snapshot),
            breaker.record(ticket.scope, { _tag: "Success" })
          )
        : Effect.gen(function* () {
            const error = outcome.error
            if ("snapshot" in error && error.snapshot !== undefined)
              yield* limiter.observe(ticket.scope, error.snapshot)
            if (error._tag === "RateLimited") yield* limiter.pause(ticket.scope, error.retryAfterMs)
            yield* breaker.record(ticket.scope, { _tag: "Failure", error })
          }),
    settleCall: (ticket, result) =>
      Effect.gen(function* () {
        const state = calls.get(ticket)
        if (state === undefined) return
        calls.delete(ticket)
        const usage = result.usage
        if (state.permit !== undefined && usage !== undefined) {
          yield* limiter.settle(state.permit, usage.promptTokens + usage.completionTokens)
        }
        if (state.reservation === undefined) return
        if (usage === undefined) {
          if (!result.sent) yield* budget.release(state.reservation)
          return
        }
        const usd = Option.getOrElse(
          pricing.cost(ticket.info.model ?? "", usage, { batch: ticket.info.batch }),
          () => 0
        )
        yield* budget.settle(
          state.reservation,
          { usd, tokens: usage.promptTokens + usage.completionTokens },
          ticket.info.model
        )
      })
  })
})

/** Every gate on, with defaults except the concurrency permits and a (non-binding) budget ceiling. */
export const all = (options: Options): Layer.Layer<Gates.Gates> =>
  Layer.effect(Gates.Gates, make).pipe(
    Layer.provide(
      Layer.mergeAll(
        Budget.layer({ ceilingUsd: options.ceilingUsd }),
        CircuitBreaker.layer(),
        RateLimiter.layer(),
        Concurrency.layer({ permits: options.permits }),
        Tokens.layer(),
        Pricing.layer()
      )
    )
  )
