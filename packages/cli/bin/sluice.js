#!/usr/bin/env node
// The `sluice` bin: a committed launcher, so npm links it on `npm ci` before the root `prepare` builds dist/
// (npm skips a bin whose target does not exist yet), and executable in git (tsc emits dist/bin.js as 0644).
// Effect 4 and undici 8 need Node >= 22.19 (the package's engines): run by an older `node` (a plain shell whose
// system Node is older), it runs itself again with the Node of a `node` devDependency in a node_modules above it
// (this repository pins one; npm scripts and npx put it first on PATH), or else says which Node it needs.
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const [major, minor] = process.versions.node.split(".").map(Number)
if (major < 22 || (major === 22 && minor < 19)) {
  const self = fileURLToPath(import.meta.url)
  let node
  for (let dir = dirname(self); node === undefined && dir !== dirname(dir); dir = dirname(dir)) {
    node = [join(dir, "node_modules/.bin/node"), join(dir, "node_modules/node/bin/node")].find((file) =>
      existsSync(file)
    )
  }
  if (node === undefined || process.env.SLUICE_NODE_RELAUNCHED === "1") {
    process.stderr.write(
      `sluice needs Node.js >= 22.19 (Effect 4, undici 8), but runs on Node ${process.versions.node} (${process.execPath}). Install Node 22.19 or newer (24 LTS), or run it through npm (\`npx --no-install sluice\`) in a project that pins a newer \`node\` devDependency.\n`
    )
    process.exit(1)
  }
  const args = [...process.execArgv, self, ...process.argv.slice(2)]
  const child = spawn(node, args, { stdio: "inherit", env: { ...process.env, SLUICE_NODE_RELAUNCHED: "1" } })
  // A terminal's Ctrl-C reaches both processes already (a second SIGINT would mean "exit now"): other signals, and
  // a SIGINT sent to this process alone (no terminal), are passed on.
  const terminal = process.stdin.isTTY || process.stdout.isTTY || process.stderr.isTTY
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => {
      if (!(terminal && signal === "SIGINT")) child.kill(signal)
    })
  }
  child.on("error", (error) => {
    process.stderr.write(`sluice: could not run ${node}: ${error.message}\n`)
    process.exit(1)
  })
  child.on("exit", (code, signal) => {
    if (signal === null) process.exit(code ?? 1)
    process.removeAllListeners(signal)
    process.kill(process.pid, signal)
  })
} else {
  const built = new URL("../dist/bin.js", import.meta.url)
  if (!existsSync(built)) {
    process.stderr.write(
      "sluice: packages/cli/dist/bin.js is not built yet. Run `npm run build` at the repository root (`npm ci` runs it).\n"
    )
    process.exit(70)
  }
  await import(built.href)
}
