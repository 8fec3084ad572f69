import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it, vi } from "@effect/vitest"

// Batch.ts and its internal/batch modules import each other. Whichever loads first, no public value may be read
// while the other is still uninitialised (Node: a TDZ ReferenceError at load; vitest: an undefined export).
const dir = Path.join(import.meta.dirname, "../src/internal/batch")
const modules = Fs.readdirSync(dir).filter((name) => name.endsWith(".ts"))

describe("Batch load order", () => {
  for (const name of modules) {
    it(`internal/batch/${name} loaded before Batch: every export of Batch is defined`, async () => {
      vi.resetModules()
      await import(`../src/internal/batch/${name.replace(/\.ts$/, ".js")}`)
      const Batch = await import("../src/Batch.js")
      const undefinedExports = Object.entries(Batch)
        .filter(([, value]) => value === undefined)
        .map(([key]) => key)
      expect(undefinedExports).toEqual([])
    })
  }
})
