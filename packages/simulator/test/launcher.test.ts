/**
 * The committed bin launchers (packages/simulator/bin/sluice-simulator.js, and the CLI's packages/cli/bin/sluice.js;
 * both run packages/simulator/bin/launcher.js) run by a Node older than Effect 4 needs, as a plain shell whose system Node is 20 does:
 * they run themselves again with the workspace's Node (node_modules/.bin/node), pass signals on, and say which Node
 * they need when there is none. The old Node is played by the Node running the tests with process.versions.node
 * set to 20.20.2 by a preload, which deletes its variable so that the relaunched process runs as itself; there (the
 * launcher passes its Node flags on) the preload notes which Node runs it.
 */
import { execFile, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "@effect/vitest"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const simulator = Path.join(root, "packages/simulator/bin/sluice-simulator.js")
const cli = Path.join(root, "packages/cli/bin/sluice.js")

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sluice-launcher-"))
const preload = Path.join(dir, "old-node.cjs")
const relaunches = Path.join(dir, "relaunches.txt")
Fs.writeFileSync(
  preload,
  `if (process.env.SLUICE_TEST_OLD_NODE === "1") {
  delete process.env.SLUICE_TEST_OLD_NODE
  Object.defineProperty(process.versions, "node", { value: "20.20.2" })
} else if (process.env.SLUICE_NODE_RELAUNCHED === "1") {
  require("node:fs").appendFileSync(${JSON.stringify(relaunches)}, process.execPath + "\\n")
}
`
)
const workspaceNode = Fs.realpathSync(Path.join(root, "node_modules/.bin/node"))
const relaunched = () => {
  const lines = Fs.existsSync(relaunches) ? Fs.readFileSync(relaunches, "utf8").split("\n").filter(Boolean) : []
  Fs.rmSync(relaunches, { force: true })
  return lines.map((line) => Fs.realpathSync(line))
}

const oldNode = (launcher: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) => ({
  file: process.execPath,
  args: ["--require", preload, launcher, ...args],
  options: { cwd: root, env: { ...process.env, SLUICE_TEST_OLD_NODE: "1", ...env } }
})

const run = (launcher: string, args: ReadonlyArray<string>, env?: Record<string, string>) => {
  const { file, args: argv, options } = oldNode(launcher, args, env)
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(file, argv, { ...options, timeout: 20_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr })
    )
  )
}

describe("bin launchers on an older Node", () => {
  afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

  it("the preload plays an old Node: without a workspace Node the launcher says which Node it needs", async () => {
    // SLUICE_NODE_RELAUNCHED=1: as if this already were the relaunched process, so the workspace Node is no way out
    const result = await run(simulator, ["--help"], { SLUICE_NODE_RELAUNCHED: "1" })
    expect(result.code).toBe(1)
    expect(result.stdout).toBe("")
    expect(result.stderr).toContain("sluice-simulator needs Node.js >= 22.19")
    expect(result.stderr).toContain("runs on Node 20.20.2")
    expect(relaunched()).toEqual([])
  })

  it("sluice-simulator and sluice run themselves again with the workspace's Node", async () => {
    const help = await run(simulator, ["--help"])
    expect(help).toMatchObject({ code: 0, stderr: "" })
    expect(help.stdout).toContain("Usage: sluice-simulator")
    expect(relaunched()).toEqual([workspaceNode])
    const version = await run(cli, ["--version"])
    expect(version).toMatchObject({ code: 0, stderr: "" })
    const { version: expected } = JSON.parse(Fs.readFileSync(Path.join(root, "packages/cli/package.json"), "utf8")) as {
      readonly version: string
    }
    expect(version.stdout.trim()).toBe(expected)
    expect(relaunched()).toEqual([workspaceNode])
  })

  it("a signal sent to the launcher reaches the relaunched process, whose exit it mirrors", async () => {
    const { file, args, options } = oldNode(simulator, ["--port", "0"])
    const child = spawn(file, args, { ...options, stdio: ["ignore", "pipe", "pipe"] })
    const url = await new Promise<string>((resolve, reject) => {
      let out = ""
      child.stdout.on("data", (d) => {
        out += String(d)
        const match = /http:\/\/127\.0\.0\.1:\d+\/v1/.exec(out)
        if (match) resolve(match[0])
      })
      child.once("exit", (code) => reject(new Error(`exited ${code} before printing its URL`)))
    })
    expect((await fetch(`${url.replace(/\/v1$/, "")}/__sim/stats`)).status).toBe(200)
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal }))
    )
    child.kill("SIGTERM")
    expect(await exit).toEqual({ code: 0, signal: null })
    expect(relaunched()).toEqual([workspaceNode])
    // the relaunched simulator stopped too: nothing listens on its port any more
    await expect(fetch(`${url.replace(/\/v1$/, "")}/__sim/stats`)).rejects.toThrow()
  })
})
