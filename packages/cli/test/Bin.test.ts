/**
 * The installed bins, as npm links them on `npm ci`: `sluice` and `sluice-simulator` must point at files that exist
 * before the build (npm skips a bin whose target is missing when it links, and `prepare` builds dist/ after that)
 * and that are executable (tsc writes dist/bin.js as 0644). Run here as a user does: node_modules/.bin, built dist/.
 */
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { root } from "./support.js"

const packages = ["packages/cli", "packages/simulator"]

const run = (file: string, args: ReadonlyArray<string>) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(file, [...args], { cwd: root, timeout: 20_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr })
    )
  )

describe("bins", () => {
  for (const dir of packages) {
    const manifest = JSON.parse(Fs.readFileSync(Path.join(root, dir, "package.json"), "utf8")) as {
      readonly bin: Record<string, string>
      readonly files: ReadonlyArray<string>
    }
    for (const [name, target] of Object.entries(manifest.bin)) {
      it(`${name}: a committed, executable launcher outside dist/, shipped in the package`, () => {
        const file = Path.join(root, dir, target)
        expect(target.replace(/^\.\//, "").startsWith("dist/")).toBe(false)
        expect(Fs.readFileSync(file, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true)
        expect(Fs.statSync(file).mode & 0o111).toBe(0o111)
        expect(manifest.files).toContain(target.replace(/^\.\//, "").split("/")[0])
      })
    }
  }

  it("node_modules/.bin/sluice and sluice-simulator run the built commands", async () => {
    const linked = (name: string) => {
      const file = Path.join(root, "node_modules/.bin", name)
      if (!Fs.existsSync(file)) throw new Error(`${file} is not linked: run \`npm ci\` at the repository root`)
      return file
    }
    const version = await run(linked("sluice"), ["--version"])
    expect(version.stderr).toBe("")
    expect(version.stdout.trim()).toBe("0.1.0")
    const help = await run(linked("sluice-simulator"), ["--help"])
    expect(help.stdout).toContain("Usage: sluice-simulator")
  })
})
