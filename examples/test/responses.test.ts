import { expect, it } from "@effect/vitest"
import { Responses } from "@sluice/core"
import { Effect } from "effect"
import { main } from "../responses.js"

it.live("create, stream and a resumed background response, all through the gates and the budget", () =>
  Effect.gen(function* () {
    const result = yield* main
    expect(result.text.length).toBeGreaterThan(0)
    expect(result.deltas.join("")).toBe(Responses.outputText(result.streamed))
    expect(result.streamed.status).toBe("completed")
    expect(result.dropped).toBe("truncated")
    expect(result.resumed.status).toBe("completed")
    expect(Responses.outputText(result.resumed).length).toBeGreaterThan(0)
    // within the $0.05 budget the gates enforced
    expect(result.billedUsd).toBeGreaterThan(0)
    expect(result.billedUsd).toBeLessThan(0.05)
  })
)
