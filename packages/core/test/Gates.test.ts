import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as Budget from "../src/Budget.js"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import * as Concurrency from "../src/Concurrency.js"
import { QuotaExceeded, RateLimited } from "../src/Errors.js"
import * as Gates from "../src/Gates.js"
import * as ModelLifecycle from "../src/ModelLifecycle.js"
import * as RateLimiter from "../src/RateLimiter.js"
import { RateLimitSnapshot } from "../src/RateLimitHeaders.js"

const chatCall = (model: string, maxTokens = 1000): Gates.CallInfo => ({
  path: "/chat/completions",
  method: "POST",
  model,
  stream: false,
  keyId: "k1",
  body: { model, messages: [{ role: "user", content: "hello world" }], max_completion_tokens: maxTokens },
  batch: false
})

const okResponse: Gates.AttemptOutcome = { _tag: "Response", status: 200, snapshot: RateLimitSnapshot.make({}) }

/** What the client's `send` ends with, for `call.attempt`. */
const outcomeOf = (outcome: Gates.AttemptOutcome) =>
  outcome._tag === "Response" ? Effect.succeed(outcome) : Effect.fail(outcome.error)

/** One call: admission, one attempt, settlement, with its own call and attempt scopes, like the client runs it. */
const runCall = (info: Gates.CallInfo, usage: Gates.Usage | undefined, outcome: Gates.AttemptOutcome = okResponse) =>
  Effect.gen(function* () {
    const gates = yield* Gates.Gates
    return yield* Effect.scoped(
      Effect.gen(function* () {
        const call = yield* gates.admit(info)
        // the outcome's own failure is the attempt's; a gate's refusal fails the call
        yield* Effect.scoped(call.attempt(info.keyId, outcomeOf(outcome))).pipe(
          Effect.catchIf(
            (error) => outcome._tag === "Failure" && error === outcome.error,
            () => Effect.void
          )
        )
        yield* call.settle({ usage, sent: true, error: undefined })
        return call
      })
    )
  })

describe("Gates", () => {
  it.effect("with no gate services it admits everything and does not tokenize", () =>
    Effect.gen(function* () {
      const ticket = yield* runCall(chatCall("gpt-4o"), undefined)
      expect(ticket.scope).toEqual({ keyId: "k1", model: "gpt-4o", key: "k1:gpt-4o", budget: "global" })
      expect(ticket.estimatedPromptTokens).toBe(0)
      expect(ticket.maxOutputTokens).toBe(1000)
    }).pipe(Effect.provide(Gates.layer()))
  )

  it.effect("estimates once, reserves the worst case, settles to actual usage", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.Budget
      const ticket = yield* runCall(chatCall("gpt-4o"), {
        promptTokens: 9,
        completionTokens: 100,
        cachedPromptTokens: 0
      })
      expect(ticket.estimatedPromptTokens).toBe(9)
      expect((yield* budget.spent("global")).usd).toBeCloseTo((9 * 2.5 + 100 * 10) / 1e6)
      expect((yield* budget.spent("global")).tokens).toBe(109)
    }).pipe(
      Effect.provide(Gates.layer({ tokens: { exact: true } }).pipe(Layer.provideMerge(Budget.layer({ ceilingUsd: 1 }))))
    )
  )

  it.effect("refuses with BudgetExceeded before sending; an unsettled call releases its reservation", () =>
    Effect.gen(function* () {
      const gates = yield* Gates.Gates
      const budget = yield* Budget.Budget
      // gpt-4o output is $10 / 1M: 60 000 output tokens is $0.60 worst case against a $1 ceiling.
      const callScope = yield* Scope.make()
      yield* gates.admit(chatCall("gpt-4o", 60_000)).pipe(Scope.provide(callScope))
      const refused = yield* Effect.flip(Effect.scoped(gates.admit(chatCall("gpt-4o", 60_000))))
      expect(refused._tag).toBe("BudgetExceeded")
      yield* Scope.close(callScope, Exit.void)
      yield* Effect.scoped(gates.admit(chatCall("gpt-4o", 60_000)))
      expect((yield* budget.spent("global")).usd).toBe(0)
    }).pipe(Effect.provide(Gates.layer().pipe(Layer.provideMerge(Budget.layer({ ceilingUsd: 1 })))))
  )

  it.effect("fails closed with PriceUnknown only while a budget is in force", () =>
    Effect.gen(function* () {
      const withBudget = yield* Effect.flip(
        Effect.scoped(Effect.flatMap(Gates.Gates, (g) => g.admit(chatCall("my-local-llama"))))
      ).pipe(Effect.provide(Gates.layer().pipe(Layer.provide(Budget.layer({ ceilingUsd: 1 })))))
      expect(withBudget._tag).toBe("PriceUnknown")
      yield* runCall(chatCall("my-local-llama"), undefined).pipe(Effect.provide(Gates.layer()))
    })
  )

  it.effect("a retired model fails with ModelRetired before anything is reserved", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.parse("2025-09-01T00:00:00Z"))
      const error = yield* Effect.flip(runCall(chatCall("gpt-4.5-preview"), undefined))
      expect(error._tag).toBe("ModelRetired")
    }).pipe(Effect.provide(Gates.layerDefaults({ budget: { ceilingUsd: 1 } })))
  )

  it.effect("a 429 closes the limiter's gate for every attempt until the server's hint passes", () =>
    Effect.gen(function* () {
      const gates = yield* Gates.Gates
      const call = yield* gates.admit(chatCall("gpt-4o"))
      yield* Effect.scoped(
        Effect.exit(
          call.attempt("k1", Effect.fail(new RateLimited({ message: "slow down", status: 429, retryAfterMs: 2000 })))
        )
      )
      const other = yield* gates.admit(chatCall("gpt-4o"))
      const waiting = yield* Effect.forkChild(Effect.scoped(other.attempt("k1", outcomeOf(okResponse))))
      yield* TestClock.adjust(1999)
      expect(waiting.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust(1000)
      yield* Fiber.join(waiting)
    }).pipe(Effect.provide(Gates.layer().pipe(Layer.provide(RateLimiter.layer({ requestsPerMinute: 600 })))))
  )

  it.effect("header snapshots feed the limiter's learned limits", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter.RateLimiter
      yield* runCall(chatCall("gpt-4o"), undefined, {
        _tag: "Response",
        status: 200,
        snapshot: RateLimitSnapshot.make({ limitRequests: 500, limitTokens: 30_000, remainingTokens: 100 })
      })
      const status = yield* limiter.status("k1:gpt-4o")
      expect(status.limits).toMatchObject({ requests: 500, tokens: 30_000 })
      expect(status.remainingTokens).toBeLessThanOrEqual(100)
    }).pipe(Effect.provide(Gates.layer().pipe(Layer.provideMerge(RateLimiter.layer()))))
  )

  it.effect("QuotaExceeded blows the fuse: the next call on the key fails fast at admission", () =>
    Effect.gen(function* () {
      yield* runCall(chatCall("gpt-4o"), undefined, {
        _tag: "Failure",
        error: new QuotaExceeded({ message: "insufficient_quota", status: 429 })
      })
      const error = yield* Effect.flip(runCall(chatCall("gpt-4o-mini"), undefined))
      expect(error).toMatchObject({ _tag: "CircuitOpen", scope: "k1" })
    }).pipe(Effect.provide(Gates.layer().pipe(Layer.provide(CircuitBreaker.layer()))))
  )

  it.effect("an open breaker refuses attempts with CircuitOpen { closesAtMs }", () =>
    Effect.gen(function* () {
      const throttled: Gates.AttemptOutcome = {
        _tag: "Failure",
        error: new RateLimited({ message: "slow down", status: 429 })
      }
      yield* runCall(chatCall("gpt-4o"), undefined, throttled)
      const error = yield* Effect.flip(runCall(chatCall("gpt-4o"), undefined))
      expect(error).toMatchObject({ _tag: "CircuitOpen", closesAtMs: 60_000 })
    }).pipe(Effect.provide(Gates.layer().pipe(Layer.provide(CircuitBreaker.layer({ minimumCalls: 1 })))))
  )

  it.effect("a concurrency permit is held for the attempt scope only", () =>
    Effect.gen(function* () {
      const gates = yield* Gates.Gates
      const call = yield* Effect.scoped(gates.admit(chatCall("gpt-4o")))
      const attempt = yield* Scope.make()
      yield* call.attempt("k1", outcomeOf(okResponse)).pipe(Scope.provide(attempt))
      const second = yield* Effect.forkChild(Effect.scoped(call.attempt("k1", outcomeOf(okResponse))))
      yield* TestClock.adjust(10)
      expect(second.pollUnsafe()).toBeUndefined()
      yield* Scope.close(attempt, Exit.void)
      yield* Fiber.join(second)
    }).pipe(Effect.provide(Gates.layer().pipe(Layer.provide(Concurrency.layer({ permits: 1 })))))
  )

  it.effect("an unsent call releases; a sent call without usage keeps the worst case", () =>
    Effect.gen(function* () {
      const gates = yield* Gates.Gates
      const budget = yield* Budget.Budget
      yield* Effect.scoped(
        Effect.flatMap(gates.admit(chatCall("gpt-4o", 100)), (call) =>
          call.settle({ usage: undefined, sent: false, error: undefined })
        )
      )
      expect((yield* budget.spent("global")).usd).toBe(0)
      yield* Effect.scoped(
        Effect.flatMap(gates.admit(chatCall("gpt-4o", 100)), (call) =>
          call.settle({ usage: undefined, sent: true, error: undefined })
        )
      )
      expect((yield* budget.spent("global")).usd).toBeCloseTo((9 * 2.5 + 100 * 10) / 1e6)
    }).pipe(
      Effect.provide(
        Gates.layer().pipe(Layer.provideMerge(Layer.merge(Budget.layer({ ceilingUsd: 1 }), ModelLifecycle.layer())))
      )
    )
  )

  it.effect("defaults compose every gate and admit an ordinary call", () =>
    runCall(chatCall("gpt-4o-mini"), { promptTokens: 9, completionTokens: 5, cachedPromptTokens: 0 }).pipe(
      Effect.provide(Gates.defaults)
    )
  )
})

describe("Gates.Call", () => {
  it.effect("carries its scope as a value; an attempt with a rotated-in key runs in that key's scope", () =>
    Effect.gen(function* () {
      const gates = yield* Gates.Gates
      const limiter = yield* RateLimiter.RateLimiter
      const call = yield* Effect.scoped(gates.admit(chatCall("gpt-4o")))
      expect(call.scope).toEqual({ keyId: "k1", model: "gpt-4o", key: "k1:gpt-4o", budget: "global" })
      const snapshot = RateLimitSnapshot.make({ limitRequests: 77, limitTokens: 7_000 })
      yield* Effect.scoped(call.attempt("k2", Effect.succeed({ status: 200, snapshot })))
      expect((yield* limiter.status("k2:gpt-4o")).limits).toMatchObject({ requests: 77 })
      expect((yield* limiter.status("k1:gpt-4o")).limits).not.toMatchObject({ requests: 77 })
      expect(call.progress.attempts).toBe(1)
    }).pipe(Effect.provide(Gates.layer().pipe(Layer.provideMerge(RateLimiter.layer()))))
  )

  it.effect("settles once: the cost it returns is what the budget settled", () =>
    Effect.gen(function* () {
      const gates = yield* Gates.Gates
      const budget = yield* Budget.Budget
      const usage = { promptTokens: 1000, completionTokens: 200, cachedPromptTokens: 400 }
      const settled = yield* Effect.scoped(
        Effect.flatMap(gates.admit(chatCall("gpt-4o", 300)), (call) =>
          Effect.zip(
            call.settle({ usage, sent: true, error: undefined }),
            call.settle({ usage, sent: true, error: undefined })
          )
        )
      )
      // gpt-4o: $2.50 input, $1.25 cached input, $10 output per 1M
      expect(settled[0].costUsd).toBeCloseTo((600 * 2.5 + 400 * 1.25 + 200 * 10) / 1e6, 12)
      expect((yield* budget.spent("global")).usd).toBe(settled[0].costUsd)
      expect(settled[1]).toEqual({ usage: undefined, costUsd: undefined })
    }).pipe(
      Effect.provide(
        Gates.layer().pipe(Layer.provideMerge(Layer.merge(Budget.layer({ ceilingUsd: 1 }), ModelLifecycle.layer())))
      )
    )
  )
})

describe("Gates and the key's fuse", () => {
  it.effect("the fuse is the key id of the call's scope value, whatever the scope string looks like", () =>
    Effect.gen(function* () {
      const quota = new QuotaExceeded({ message: "insufficient_quota", status: 429 })
      // k1 blows its fuse; k2 shares the same (custom) limiter scope string but not the fuse
      yield* runCall(chatCall("gpt-4o"), undefined, { _tag: "Failure", error: quota })
      const refused = yield* Effect.flip(runCall(chatCall("gpt-4o"), undefined))
      expect(refused).toMatchObject({ _tag: "CircuitOpen", scope: "k1" })
      const other = yield* runCall({ ...chatCall("gpt-4o"), keyId: "k2" }, undefined)
      expect(other.scope).toMatchObject({ keyId: "k2", key: "team:gpt-4o" })
    }).pipe(
      Effect.provide(
        Gates.layer({ scopeOf: (info) => `team:${info.model}` }).pipe(Layer.provide(CircuitBreaker.layer()))
      )
    )
  )
})
