/**
 * What every command shares: help and usage errors without escape codes when the output is not a terminal (the
 * test's pipes) or NO_COLOR is set; unknown flags named.
 */
import { describe, expect, it } from "@effect/vitest"
import { sluice } from "../support.js"
import { usageError } from "./cases.js"

describe.concurrent("sluice: help and unknown flags", { timeout: 120_000 }, () => {
  it("--help through a pipe has no escape codes, for the root and every command", async () => {
    for (const [args, env] of [
      [["--help"], {}],
      [["batch", "--help"], { NO_COLOR: "1" }],
      [["chat", "--help"], {}]
    ] as const) {
      const result = await sluice(args, env)
      expect(result.code).toBe(0)
      expect(result.stdout).toContain("sluice")
      expect(result.stdout).not.toContain("\x1b")
      expect(result.stderr).not.toContain("\x1b")
    }
  })

  it("an unknown flag is named, without escape codes, exit 1", async () => {
    const result = await sluice(["batch", "in.jsonl", "-o", "out.jsonl", "--concurency", "4"])
    usageError(result, "unknown flag --concurency", "--help")
  })

  it("a second positional argument (an unquoted prompt) says to quote it", async () => {
    const result = await sluice(["chat", "hello", "there"])
    usageError(result, "unexpected argument there", "quote a prompt")
  })
})
