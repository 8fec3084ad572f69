import { expect, it } from "@effect/vitest"
import { Simulator } from "@sluice/simulator"
import { Effect } from "effect"
import { ask, clientLayer } from "../many-requests.js"

it.live("1,000 requests through a bounded stream under limits and faults: every one answered", () =>
  Effect.gen(function* () {
    const sim = yield* Simulator.start({ rpm: 60_000, tpm: 6_000_000, faults: { rate500: 0.02, rate503: 0.02 } })
    const tally = yield* ask(1_000, 32).pipe(Effect.provide(clientLayer(sim.url, "sk-example")))
    expect(tally).toMatchObject({ succeeded: 1_000, failed: {} })
    expect(tally.completionTokens).toBeGreaterThan(0)
    const stats = yield* sim.stats
    expect(stats.successes).toBe(1_000)
    // the faults happened and were retried, not passed on
    expect(stats.faults["500"] ?? 0).toBeGreaterThan(0)
    expect(stats.maxConcurrent).toBeLessThanOrEqual(32)
  })
)
