/**
 * docs/cli.md says what `--help` says: for every command, the flags of its synopsis (the fenced block that starts
 * with `sluice <command>`) are the flags its `--help` lists, with the same placeholder where the synopsis gives one
 * in capitals (`--budget-usd USD`, `--format jsonl|f32`), and every flag of `--help` appears in its section.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { root, sluice } from "./support.js"

const commands = ["batch", "embed", "merge", "chat", "doctor", "simulate", "demo"] as const

/** `--flag` → its placeholder (`""` for a switch), from the FLAGS part of `--help`. */
const helpFlags = (help: string): Map<string, string> => {
  const part = help.split(/^FLAGS$/m)[1]?.split(/^GLOBAL FLAGS$/m)[0] ?? ""
  const flags = new Map<string, string>()
  for (const match of part.matchAll(/^ {2}(--[\w-]+)(?:, -\w)?(?: (\S+))?\s{2,}/gm))
    flags.set(match[1]!, match[2] ?? "")
  return flags
}

/** The section of docs/cli.md about `command`: from its heading to the next. */
const section = (docs: string, command: string): string => {
  const start = docs.search(new RegExp(`^## \`sluice ${command}\``, "m"))
  expect(start, `docs/cli.md has a section for sluice ${command}`).toBeGreaterThanOrEqual(0)
  const rest = docs.slice(start + 1)
  const end = rest.search(/^## /m)
  return end < 0 ? rest : rest.slice(0, end)
}

/** `--flag` → the placeholder the synopsis gives it (`""` for none, or an example value in lower case). */
const synopsisFlags = (text: string, command: string): Map<string, string> => {
  const block = text
    .split(/^```.*$/m)
    .filter((_, i) => i % 2 === 1)
    .find((code) => code.trimStart().startsWith(`sluice ${command}`))
  expect(block, `a synopsis block for sluice ${command}`).toBeDefined()
  const flags = new Map<string, string>()
  for (const match of block!.matchAll(/(?:^|[\s[|])(-o|--[\w-]+)(?: (?!-)([^\s\]]+))?/g)) {
    const flag = match[1] === "-o" ? "--output" : match[1]!
    const value = match[2] === undefined || match[2] === "|" ? "" : match[2]
    flags.set(flag, /^[A-Z/|]+$|\|/.test(value) ? value : "")
  }
  return flags
}

describe("docs/cli.md and --help", { timeout: 120_000 }, () => {
  const docs = Fs.readFileSync(Path.join(root, "docs/cli.md"), "utf8")

  it("every command's synopsis names the flags of its --help, with their placeholders", async () => {
    const helps = await Promise.all(commands.map((command) => sluice([command, "--help"])))
    const problems = commands.flatMap((command, i) => {
      expect(helps[i]!.code).toBe(0)
      const help = helpFlags(helps[i]!.stdout)
      expect(help.size, `sluice ${command} --help lists flags`).toBeGreaterThan(0)
      const text = section(docs, command)
      const synopsis = synopsisFlags(text, command)
      return [
        ...[...help.keys()]
          .filter((flag) => !synopsis.has(flag))
          .map((flag) => `${command}: ${flag} not in the synopsis`),
        ...[...synopsis.keys()].filter((flag) => !help.has(flag)).map((flag) => `${command}: ${flag} not in --help`),
        ...[...synopsis]
          .filter(([flag, value]) => value !== "" && help.has(flag) && help.get(flag) !== value)
          .map(([flag, value]) => `${command}: ${flag} ${value} in the synopsis, ${flag} ${help.get(flag)} in --help`),
        ...[...help.keys()]
          .filter((flag) => flag !== "--output" && !text.includes(`\`${flag}`))
          .map((flag) => `${command}: ${flag} not described in its section`)
      ]
    })
    expect(problems).toEqual([])
  })
})
