import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { main } from "../spend-safely.js"

it.live("the budget refuses before sending (spend ≤ ceiling) and a billing 429 trips the fuse", () =>
  Effect.gen(function* () {
    const report = yield* main
    expect(report.answered).toBeGreaterThan(0)
    expect(report.refusedBy).toMatch(/^BudgetExceeded: budget global/)
    // What the server billed never crossed the ceiling.
    expect(report.spentUsd).toBeGreaterThan(0)
    expect(report.spentUsd).toBeLessThanOrEqual(report.ceilingUsd)
    // After the first QuotaExceeded every call fails fast with CircuitOpen (the fuse), not another billing 429.
    const first = report.afterQuota.indexOf("QuotaExceeded")
    expect(first).toBeGreaterThanOrEqual(0)
    expect(report.afterQuota.slice(first + 1).every((tag) => tag === "CircuitOpen")).toBe(true)
    expect(report.afterQuota.slice(first + 1).length).toBeGreaterThan(0)
  })
)
