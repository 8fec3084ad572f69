/**
 * Every `npx …` command in README.md and docs/*.md names a bin this workspace provides and says `--no-install`:
 * without it, a name npx cannot find locally (a bin not linked yet, a typo) is fetched from the public registry
 * and run.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { root } from "./support.js"

const readJson = (path: string) => JSON.parse(Fs.readFileSync(path, "utf8")) as Record<string, unknown>

const binsOf = (manifest: Record<string, unknown>): Array<string> => {
  const bin = manifest["bin"]
  if (typeof bin === "string") return [String(manifest["name"]).replace(/^@[^/]+\//, "")]
  return bin !== null && typeof bin === "object" ? Object.keys(bin) : []
}

/** The workspaces' own bins and those of the root's devDependencies. */
const provided = (): Map<string, string> => {
  const rootManifest = readJson(Path.join(root, "package.json"))
  const bins = new Map<string, string>()
  for (const workspace of rootManifest["workspaces"] as Array<string>) {
    const manifest = readJson(Path.join(root, workspace, "package.json"))
    for (const bin of binsOf(manifest)) bins.set(bin, `workspace ${workspace}`)
  }
  for (const dependency of Object.keys(rootManifest["devDependencies"] as Record<string, string>)) {
    const manifest = readJson(Path.join(root, "node_modules", dependency, "package.json"))
    for (const bin of binsOf(manifest)) bins.set(bin, `devDependency ${dependency}`)
  }
  return bins
}

const documents = (): Array<string> => [
  "README.md",
  ...Fs.readdirSync(Path.join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`)
]

/** Code: the lines of fenced blocks and the inline code spans outside them. */
const code = (text: string): Array<string> =>
  text
    .split(/^```.*$/m)
    .flatMap((part, i) => (i % 2 === 1 ? part.split("\n") : [...part.matchAll(/`([^`]+)`/g)].map((match) => match[1]!)))

/** A piece of code that runs npx (after an optional `$ ` prompt and `NAME=value` assignments), up to a comment. */
const commands = (text: string): Array<string> =>
  code(text).flatMap((piece) => {
    const match = /^(?:\$\s+)?(?:[A-Z_][A-Z0-9_]*=\S*\s+)*npx\s+([^#]*)/.exec(piece.trim())
    return match === null ? [] : [`npx ${match[1]!.replace(/\s+/g, " ").trim()}`]
  })

describe("npx commands in the docs", () => {
  const bins = provided()
  const found = documents().flatMap((doc) =>
    commands(Fs.readFileSync(Path.join(root, doc), "utf8")).map((command) => ({ doc, command }))
  )

  it("finds the commands (the extractor works)", () => {
    expect(found.length).toBeGreaterThanOrEqual(8)
    expect(found.map(({ command }) => command)).toContain("npx --no-install sluice --help")
  })

  it("each says --no-install and names a bin of this workspace", () => {
    const wrong = found.flatMap(({ doc, command }) => {
      const words = command.split(/\s+/)
      if (words[1] !== "--no-install") return [`${doc}: ${command} (no --no-install right after npx)`]
      const bin = words[2]
      if (bin === undefined || !bins.has(bin)) return [`${doc}: ${command} (${bin} is no bin of this workspace)`]
      return []
    })
    expect(wrong).toEqual([])
  })
})
