import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { main } from "../tools.js"

it.live("a tool loop on both APIs, failures fed back or raised, every turn on the budget", () =>
  Effect.gen(function* () {
    const result = yield* main
    expect(result.chatTurns).toBe(2)
    expect(result.responsesTurns).toBe(2)
    expect(result.chatAnswer).toContain('"units":42')
    expect(result.responsesAnswer).toContain('"units":42')
    expect(result.fedAnswer).toContain("error")
    expect(result.raised).toMatch(/^StockUnavailable: /)
    // what the budget settled over every turn is what the server billed
    expect(result.spentUsd).toBeGreaterThan(0)
    expect(result.spentUsd).toBeCloseTo(result.billedUsd, 9)
  })
)
