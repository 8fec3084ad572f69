/**
 * `sluice simulate` with bad flags: exit 1, the flag and the value named, no server started.
 */
import { describe, expect, it } from "@effect/vitest"
import { sluice } from "../support.js"
import { usageError } from "./cases.js"

const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>, ReadonlyArray<string>]> = [
  [
    "out-of-range numbers",
    ["--port", "70000", "--rpm", "0", "--tpm", "-1", "--seed", "-1", "--quota-usd", "-1"],
    [
      "--port 70000: out of range; expected a whole number from 0 to 65535",
      "--rpm 0: out of range",
      "--tpm -1: out of range",
      "--seed -1: out of range",
      "--quota-usd -1: out of range; expected a number at least 0"
    ]
  ],
  [
    "values that are not numbers; an empty key in --keys",
    ["--port", "http", "--rpm", "1.5", "--keys", "sk-a,,sk-b"],
    ["--port http: not a whole number", "--rpm 1.5: not a whole number", "--keys: an empty key"]
  ],
  ["a total fault rate above 1", ["--faults", "2"], ["--faults 2: the total rate is out of range", "from 0 to 1"]],
  ["an unknown fault kind", ["--faults", "boom=0.1"], ['--faults: cannot read "boom=0.1"', "reset"]],
  ["fault rates adding up to more than 1", ["--faults", "500=0.6,503=0.6"], ["add up to 1.2, more than 1"]],
  ["an empty --faults", ["--faults", ""], ['--faults "": empty']]
]

describe.concurrent("sluice simulate: bad flags", { timeout: 120_000 }, () => {
  for (const [name, args, fragments] of cases) {
    it(name, async () => {
      const result = await sluice(["simulate", ...args])
      usageError(result, ...fragments, "Nothing was started")
      expect(result.stdout).not.toContain("listening")
    })
  }
})
