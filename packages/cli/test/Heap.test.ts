/**
 * The heap sizing of `sluice batch`/`embed` (internal/heap.ts): which runs get V8's run-time flags, and that a user
 * who sizes the heap themselves keeps their own choice. The memory it saves is measured in decision 0007, not here.
 */
import { describe, expect, it } from "@effect/vitest"
import { flagsFor } from "../src/internal/heap.js"

const argv = (...args: ReadonlyArray<string>) => ["/usr/bin/node", "/x/sluice.js", ...args]

describe("heap sizing", () => {
  it("batch and embed get the young-generation and old-generation flags", () => {
    for (const command of ["batch", "embed"]) {
      expect(flagsFor(argv(command, "in.jsonl", "-o", "out.jsonl"), {}, [])).toEqual([
        "--semi-space-growth-factor=1",
        "--heap-growing-percent=100"
      ])
    }
  })

  it("other commands, and no command, keep V8's defaults", () => {
    for (const args of [["chat", "hi"], ["--version"], ["merge", "a", "b"], []]) {
      expect(flagsFor(argv(...args), {}, [])).toEqual([])
    }
  })

  it("a user's own sizing wins: NODE_OPTIONS, node flags, or SLUICE_V8_HEAP=default", () => {
    const batch = argv("batch", "in.jsonl", "-o", "out.jsonl")
    expect(flagsFor(batch, { NODE_OPTIONS: "--max-semi-space-size=8" }, [])).toEqual([])
    expect(flagsFor(batch, {}, ["--heap_growing_percent=50"])).toEqual([])
    expect(flagsFor(batch, { SLUICE_V8_HEAP: "default" }, [])).toEqual([])
    expect(flagsFor(batch, { NODE_OPTIONS: "--max-old-space-size=4096" }, [])).toHaveLength(2)
  })
})
