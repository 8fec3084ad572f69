/**
 * One rule for a request's maximum output: `n` choices may each produce `max_tokens`, so the limiter is charged
 * for all of them, and a `Call` says the same maximum whichever gates are present (with or without a limiter).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as Gates from "../src/Gates.js"
import * as RateLimiter from "../src/RateLimiter.js"
import { RateLimitSnapshot } from "../src/RateLimitHeaders.js"

const nChoices = (n: number): Gates.CallInfo => ({
  path: "/chat/completions",
  method: "POST",
  model: "gpt-4o-mini",
  stream: false,
  keyId: "k1",
  body: { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], max_tokens: 100, n },
  batch: false
})

/** A real limiter whose charges are recorded. */
const recordingLimiter = (charges: Array<RateLimiter.Cost>) =>
  Layer.effect(
    RateLimiter.RateLimiter,
    Effect.map(RateLimiter.make(), (limiter) => ({
      ...limiter,
      acquire: (scope: string, cost: RateLimiter.Cost) => {
        charges.push(cost)
        return limiter.acquire(scope, cost)
      }
    }))
  )

const admitAndAttempt = (info: Gates.CallInfo) =>
  Effect.gen(function* () {
    const gates = yield* Gates.Gates
    return yield* Effect.scoped(
      Effect.gen(function* () {
        const call = yield* gates.admit(info)
        yield* Effect.scoped(
          call.attempt(info.keyId, Effect.succeed({ status: 200, snapshot: RateLimitSnapshot.make({}) }))
        )
        return call
      })
    )
  })

describe("Gates: max output with n choices", () => {
  it.effect("the limiter is charged max_tokens × n (n = 3)", () => {
    const charges: Array<RateLimiter.Cost> = []
    return Effect.gen(function* () {
      const call = yield* admitAndAttempt(nChoices(3))
      expect(call.maxOutputTokens).toBe(300)
      expect(charges).toHaveLength(1)
      // the prompt's admission measure (a few tokens for "hi") plus 3 × 100 output tokens
      expect(charges[0]!.tokens).toBeGreaterThan(300)
      expect(charges[0]!.tokens).toBeLessThan(300 + 50)
    }).pipe(Effect.provide(Gates.layer().pipe(Layer.provide(recordingLimiter(charges)))))
  })

  it.effect("without a limiter or budget a Call says the same maximum (max_tokens × n)", () =>
    Effect.gen(function* () {
      const call = yield* admitAndAttempt(nChoices(3))
      expect(call.maxOutputTokens).toBe(300)
      expect(Gates.maxOutputTokensOf(nChoices(3).body)).toBe(300)
    }).pipe(Effect.provide(Gates.layer()))
  )
})
