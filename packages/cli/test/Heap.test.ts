/**
 * The heap sizing of `sluice batch`/`embed` (internal/heap.ts): which runs size the heap, how the process starts
 * again with the flags V8 reads only at heap creation, and that a user who sizes the heap themselves keeps their own
 * choice. The memory it saves is measured in decision 0007, not here.
 */
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { restartOf, sizes, starts } from "../src/internal/heap.js"

const startFlags = starts["batch"]!.flags

const argv = (...args: ReadonlyArray<string>) => ["/usr/bin/node", "/x/sluice.js", ...args]

describe("heap sizing", () => {
  it("batch and embed size the heap; other commands, and no command, keep V8's defaults", () => {
    for (const command of ["batch", "embed"]) expect(sizes(argv(command, "in.jsonl", "-o", "o"), {}, [])).toBe(true)
    for (const args of [["chat", "hi"], ["--version"], ["merge", "a", "b"], []]) {
      expect(sizes(argv(...args), {}, [])).toBe(false)
    }
  })

  it("a user's own sizing wins: NODE_OPTIONS, node flags, or SLUICE_V8_HEAP=default", () => {
    const batch = argv("batch", "in.jsonl", "-o", "out.jsonl")
    expect(sizes(batch, { NODE_OPTIONS: "--max-semi-space-size=8" }, [])).toBe(false)
    expect(sizes(batch, {}, ["--heap_growing_percent=50"])).toBe(false)
    expect(sizes(batch, { SLUICE_V8_HEAP: "default" }, [])).toBe(false)
    expect(sizes(batch, { NODE_OPTIONS: "--max-old-space-size=4096" }, [])).toBe(true)
  })

  it("the new start keeps node's own flags and the command line, and a MALLOC_ARENA_MAX of the user's", () => {
    const batch = argv("batch", "in.jsonl")
    const restart = restartOf(batch, { A: "1" }, "/usr/bin/node", ["--enable-source-maps"])
    expect(restart.args).toEqual([
      "/usr/bin/node",
      "--enable-source-maps",
      ...startFlags,
      "/x/sluice.js",
      "batch",
      "in.jsonl"
    ])
    expect(restart.env).toEqual({ A: "1", MALLOC_ARENA_MAX: "2" })
    expect(restartOf(batch, { MALLOC_ARENA_MAX: "8" }, "/usr/bin/node", []).env["MALLOC_ARENA_MAX"]).toBe("8")
    // embed: its own heap setting, and large allocations mapped on their own (a user's threshold kept)
    const embed = restartOf(argv("embed", "docs.jsonl"), { A: "1" }, "/usr/bin/node", [])
    expect(embed.args).toEqual([
      "/usr/bin/node",
      "--max-semi-space-size=4",
      "--heap-growing-percent=50",
      "--optimize-for-size",
      "/x/sluice.js",
      "embed",
      "docs.jsonl"
    ])
    expect(embed.env).toEqual({ A: "1", MALLOC_ARENA_MAX: "2", MALLOC_MMAP_THRESHOLD_: "131072" })
    const own = restartOf(argv("embed", "d"), { MALLOC_MMAP_THRESHOLD_: "65536" }, "/usr/bin/node", [])
    expect(own.env["MALLOC_MMAP_THRESHOLD_"]).toBe("65536")
    // Started again, its own flags name a semi-space option: it does not start a third time.
    expect(sizes(batch, {}, [...startFlags])).toBe(false)
  })

  it("a real start: the process starts again in place, once, with its command's flags and malloc settings", () => {
    const probe = fileURLToPath(new URL("./fixtures/heapProbe.ts", import.meta.url))
    const node = ["--conditions=@sluice/source", "--import", "tsx"]
    const { MALLOC_ARENA_MAX: _, MALLOC_MMAP_THRESHOLD_: __, ...env } = process.env
    const run = spawnSync(process.execPath, [...node, probe, "batch", "in.jsonl"], { encoding: "utf8", env })
    expect(run.stderr).toBe("")
    const seen = JSON.parse(run.stdout) as { execArgv: Array<string>; arena: string; starts: number; runtime: [] }
    expect(seen).toMatchObject({ execArgv: [...node, ...startFlags], arena: "2", mmap: null, starts: 2, runtime: [] })
    const embed = JSON.parse(
      spawnSync(process.execPath, [...node, probe, "embed", "d.jsonl"], { encoding: "utf8", env }).stdout
    )
    expect(embed).toMatchObject({
      execArgv: [...node, ...starts["embed"]!.flags],
      arena: "2",
      mmap: "131072",
      starts: 2,
      runtime: []
    })
    const other = JSON.parse(
      spawnSync(process.execPath, [...node, probe, "chat", "hi"], { encoding: "utf8", env }).stdout
    )
    expect(other).toMatchObject({ execArgv: node, starts: 1, runtime: [] })
  })
})
