import * as Path from "node:path"
import { describe, expect, it, vi } from "@effect/vitest"
import { loadOrderCases } from "@sluice/test-support/LoadOrder"

describe("core load order", () => {
  for (const c of loadOrderCases(Path.join(import.meta.dirname, "../src"))) {
    it(`${c.first} loaded first: every public export is defined`, async () => {
      vi.resetModules()
      expect(await c.problems((url) => import(url))).toEqual([])
    })
  }
})
