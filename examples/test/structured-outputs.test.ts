import { expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { main, Ticket } from "../structured-outputs.js"

it.live("one Schema, both APIs: decoded replies, a typed refusal, an inexpressible Schema refused before sending", () =>
  Effect.gen(function* () {
    const result = yield* main
    // strict mode's shape: every property required, no extra keys
    expect(result.jsonSchema).toMatchObject({
      type: "object",
      additionalProperties: false,
      required: ["title", "severity", "estimateHours", "tags", "assignee"]
    })
    for (const value of [result.chat, result.responses]) {
      expect(Schema.is(Ticket)(value)).toBe(true)
      expect(value.estimateHours).toBeGreaterThanOrEqual(0)
      expect(value.estimateHours).toBeLessThanOrEqual(40)
    }
    expect(result.refusal).toMatch(/^Refused: /)
    expect(result.unsupported).toMatch(/^InvalidRequest at payload: /)
    expect(result.requests).toBe(3)
  })
)
