/**
 * `sluice doctor` with bad input: exit 1, the flag and the value named, nothing sent.
 */
import { describe, expect, it } from "@effect/vitest"
import { sluice } from "../support.js"
import { quietServer, usageError } from "./cases.js"

const server = quietServer()

const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>, ReadonlyArray<string>]> = [
  [
    "an empty model and a base URL that is not one",
    ["doctor", "--model", "", "--base-url", "nope"],
    ['--model "": empty', "--base-url nope: not a URL"]
  ],
  [
    "plain http to another host names --allow-insecure; a missing key file",
    ["doctor", "--base-url", "http://api.example.com/v1", "--api-key-file", "/nonexistent/key"],
    ["--base-url http://api.example.com/v1", "--allow-insecure", "--api-key-file /nonexistent/key"]
  ],
  ["a repeated flag", ["doctor", "--model", "a", "--model", "a"], ["--model is given 2 times"]]
]

describe.concurrent("sluice doctor: bad input", { timeout: 120_000 }, () => {
  for (const [name, args, fragments] of cases) {
    it(name, async () => {
      const result = await sluice(args, server.env())
      usageError(result, ...fragments)
      expect(server.requests).toBe(0)
    })
  }
})
