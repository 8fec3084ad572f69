/**
 * `sluice chat` with bad input: exit 1, the flag and the value named, nothing sent.
 */
import { describe, expect, it } from "@effect/vitest"
import { sluice } from "../support.js"
import { quietServer, usageError } from "./cases.js"

const server = quietServer()

const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>, ReadonlyArray<string>]> = [
  ["an empty prompt", ["chat", ""], ['the prompt "" is empty']],
  [
    "a blank prompt, an empty model, a zero --max-tokens",
    ["chat", "   ", "--model", "", "--max-tokens", "0"],
    ['the prompt "   " is empty', '--model "": empty', "--max-tokens 0: out of range; expected a whole number from 1"]
  ],
  [
    "numbers that are not numbers or out of range",
    ["chat", "hi", "--max-tokens", "1.5", "--timeout-seconds", "0", "--max-retries", "-1"],
    [
      "--max-tokens 1.5: not a whole number",
      "--timeout-seconds 0: out of range; expected a whole number from 1 to 3600",
      "--max-retries -1: out of range; expected a whole number from 0 to 10"
    ]
  ],
  [
    "a model with white space, a negative --max-tokens",
    ["chat", "hi", "--model", "gpt 4o", "--max-tokens", "-5"],
    ['--model "gpt 4o": contains white space', "--max-tokens -5"]
  ],
  [
    "plain http to another host names --allow-insecure",
    ["chat", "hi", "--base-url", "http://api.example.com/v1"],
    ["--base-url http://api.example.com/v1", "--allow-insecure"]
  ],
  [
    "a missing --api-key-file",
    ["chat", "hi", "--api-key-file", "/nonexistent/key"],
    ["--api-key-file /nonexistent/key", "cannot read it"]
  ],
  ["a repeated flag", ["chat", "hi", "--model", "a", "--model", "b"], ["--model is given 2 times (a, b)"]],
  ["an unknown --api", ["chat", "hi", "--api", "completions"], ["--api completions: expected chat", "or responses"]]
]

describe.concurrent("sluice chat: bad input", { timeout: 120_000 }, () => {
  for (const [name, args, fragments] of cases) {
    it(name, async () => {
      const result = await sluice(args, server.env())
      usageError(result, ...fragments)
      expect(result.stdout).toBe("")
      expect(server.requests).toBe(0)
    })
  }

  it("--allow-insecure lets plain http to another host through the check", async () => {
    const result = await sluice(
      ["chat", "hi", "--allow-insecure", "--base-url", "http://192.0.2.1:9/v1", "--max-tokens", "0"],
      server.env()
    )
    usageError(result, "--max-tokens 0")
    expect(result.stderr).not.toContain("--base-url")
  })

  it("no key: exit 1 with where a key comes from", async () => {
    const result = await sluice(["chat", "hi"], { OPENAI_BASE_URL: server.url })
    usageError(result, "OPENAI_API_KEY", "--api-key-file")
    expect(server.requests).toBe(0)
  })
})
