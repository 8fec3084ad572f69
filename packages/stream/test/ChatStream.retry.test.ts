/**
 * One retry loop per logical stream: against the simulator, faults before the first token (a 503 before the
 * headers, a first token too slow after them) are attempts of one call — one budget reservation, one telemetry
 * call id, at most the policy's attempts — never a new call per failure.
 */
import { describe, expect, it } from "@effect/vitest"
import { type ChatCompletions, Credentials, Gates, OpenAi, OpenAiConfig } from "@sluice/core"
import * as Budget from "@sluice/core/Budget"
import * as Telemetry from "@sluice/core/Telemetry"
import { Simulator } from "@sluice/simulator"
import { Effect, Layer, PubSub } from "effect"
import { ChatStream } from "../src/index.js"

const request: ChatCompletions.Request = {
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "retry me" }],
  max_completion_tokens: 40
}

/** The budget, counting its reservations (its signature untouched: a decorator over `Budget.make`). */
const countingBudget = (reservations: { count: number }) =>
  Layer.effect(
    Budget.Budget,
    Effect.map(Budget.make({ ceilingUsd: 10 }), (budget) =>
      Budget.Budget.of({
        ...budget,
        reserve: (scope, amount) =>
          Effect.tap(budget.reserve(scope, amount), () =>
            Effect.sync(() => {
              reservations.count++
            })
          )
      })
    )
  )

const clientWith = (url: string, reservations: { count: number }) =>
  OpenAi.layer.pipe(
    Layer.provideMerge(
      Telemetry.layer({ logs: false }).pipe(
        Layer.provideMerge(Gates.layer().pipe(Layer.provideMerge(countingBudget(reservations))))
      )
    ),
    Layer.provide(OpenAiConfig.layer({ baseUrl: url, retry: { baseDelayMs: 1, maxDelayMs: 5 } })),
    Layer.provide(Credentials.staticKey("sk-test"))
  )

const run = (url: string, options: ChatStream.StreamOptions) =>
  Effect.gen(function* () {
    const reservations = { count: 0 }
    const result = yield* Effect.gen(function* () {
      const events = yield* Effect.flatMap(Telemetry.Telemetry, (t) => t.subscribe)
      const outcome = yield* Effect.result(ChatStream.accumulate(ChatStream.stream(request, options)))
      const budget = yield* Budget.Budget
      const spent = yield* budget.spent("global")
      const all = yield* PubSub.takeUpTo(events, Number.MAX_SAFE_INTEGER)
      return { outcome, all, spent }
    }).pipe(Effect.provide(clientWith(url, reservations)))
    return { ...result, reservations: reservations.count }
  })

describe("ChatStream.stream: one retry loop per logical call", () => {
  it.live("faults before the first token: one reservation, one call id, the policy's attempts", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({
        script: [
          { request: 1, fault: "503" },
          { request: 2, fault: "slowFirstToken" }
        ],
        faults: { slowFirstTokenMs: 5000 }
      })
      const { outcome, all, reservations, spent } = yield* run(sim.url, {
        retry: { maxAttempts: 3 },
        firstTokenTimeout: "400 millis"
      })
      expect(outcome._tag).toBe("Success")
      expect(reservations).toBe(1)
      const attempts = all.filter((event) => event._tag === "Attempt")
      const calls = all.filter((event) => event._tag === "Call")
      expect(calls).toHaveLength(1)
      expect(new Set(all.map((event) => event.callId)).size).toBe(1)
      expect(attempts.map((event) => event.errorTag)).toEqual(["ServerError", "Timeout", undefined])
      expect(calls[0]).toMatchObject({ outcome: "ok", attempts: 3, stream: true })
      expect((yield* sim.stats).requests).toBe(3)
      // settled once, with the usage of the stream that answered
      expect(spent.tokens).toBe((calls[0] as Telemetry.CallEvent).totalTokens)
    })
  )

  it.live("a stream that keeps failing before its first token stops at the policy's attempts, as one call", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ faults: { rate503: 1 } })
      const { outcome, all, reservations } = yield* run(sim.url, { retry: { maxAttempts: 4 } })
      expect(outcome._tag).toBe("Failure")
      expect(reservations).toBe(1)
      expect(all.filter((event) => event._tag === "Attempt")).toHaveLength(4)
      expect(all.filter((event) => event._tag === "Call")).toHaveLength(1)
      expect(new Set(all.map((event) => event.callId)).size).toBe(1)
      expect((yield* sim.stats).requests).toBe(4)
    })
  )
})
