/**
 * What the command line itself answers before any command runs: help, version and usage errors (exit codes, which
 * stream, no ANSI when the output is not a terminal).
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { root, sluice } from "./support.js"

const ansi = /\x1b\[/

describe("sluice usage", () => {
  it("--help lists every command on stdout, exit 0, without ANSI when piped", async () => {
    const result = await sluice(["--help"])
    expect(result.code).toBe(0)
    for (const command of ["batch", "chat", "doctor", "simulate", "demo"]) expect(result.stdout).toContain(command)
    expect(result.stdout).not.toMatch(ansi)
    expect(result.stderr).toBe("")
  }, 60_000)

  it("--version prints the bare version, the package's", async () => {
    const result = await sluice(["--version"])
    const manifest = JSON.parse(Fs.readFileSync(Path.join(root, "packages/cli/package.json"), "utf8")) as {
      readonly version: string
    }
    expect(result.code).toBe(0)
    expect(result.stdout).toBe(`${manifest.version}\n`)
  }, 60_000)

  it("a missing or a repeated flag: exit 1, named on stderr, nothing on stdout", async () => {
    const missing = await sluice(["batch", "in.jsonl"])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain("--output")
    expect(missing.stdout).toBe("")
    const repeated = await sluice(["batch", "in.jsonl", "-o", "out.jsonl", "--concurrency", "1", "--concurrency", "2"])
    expect(repeated.code).toBe(1)
    expect(repeated.stderr).toContain("--concurrency")
    expect(repeated.stderr).not.toMatch(ansi)
    expect(repeated.stdout).toBe("")
  }, 60_000)
})
