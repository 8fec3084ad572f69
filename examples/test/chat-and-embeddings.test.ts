import { expect, it } from "@effect/vitest"
import { Simulator } from "@sluice/simulator"
import { Effect } from "effect"
import { clientLayer, program } from "../chat-and-embeddings.js"

it.live("answers, then handles QuotaExceeded by tag once the simulated spend reaches the quota", () =>
  Effect.gen(function* () {
    const sim = yield* Simulator.start({ quotaUsd: 0.000_2 })
    const first = yield* Effect.provide(program, clientLayer(sim.url, "sk-example"))
    expect(first._tag).toBe("Answered")
    if (first._tag === "Answered") {
      expect(first.answer.length).toBeGreaterThan(0)
      expect(first.dimensions).toBeGreaterThan(0)
    }
    let outcome = first
    for (let i = 0; i < 50 && outcome._tag === "Answered"; i++) {
      outcome = yield* Effect.provide(program, clientLayer(sim.url, "sk-example"))
    }
    expect(outcome._tag).toBe("OutOfQuota")
  })
)

it.live("handles RateLimited by tag when the server keeps throttling", () =>
  Effect.gen(function* () {
    const sim = yield* Simulator.start({ faults: { rate429: 1 } })
    const outcome = yield* Effect.provide(
      program,
      clientLayer(sim.url, "sk-example", { retry: { maxAttempts: 2, baseDelayMs: 1, maxHintMs: 0 } })
    )
    expect(outcome._tag).toBe("Throttled")
  })
)
