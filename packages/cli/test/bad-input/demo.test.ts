/**
 * `sluice demo` with bad flags: exit 1, the flag and the value named, nothing started.
 */
import { describe, expect, it } from "@effect/vitest"
import { sluice } from "../support.js"
import { usageError } from "./cases.js"

describe.concurrent("sluice demo: bad flags", { timeout: 120_000 }, () => {
  for (const [value, fragment] of [
    ["0", "--requests 0: out of range; expected a whole number from 1 to 50000"],
    ["many", "--requests many: not a whole number"],
    ["100000", "--requests 100000: out of range"]
  ] as const) {
    it(`--requests ${value}`, async () => {
      const result = await sluice(["demo", "--requests", value])
      usageError(result, fragment, "Nothing was started")
      expect(result.stdout).not.toContain("Sluice demo")
    })
  }
})
