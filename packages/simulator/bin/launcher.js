// The launcher behind both committed bins (`sluice-simulator` here, `sluice` in @sluice/cli, which imports it as
// `@sluice/simulator/launcher`): one copy of the Node check, the relaunch and the signal passing.
// A bin is committed (not emitted into dist/) so npm links it on `npm ci` before the root `prepare` builds dist/
// (npm skips a bin whose target does not exist yet), and is executable in git (tsc emits dist/bin.js as 0644).
// Effect 4 and undici 8 need Node >= 22.19 (the packages' engines): run by an older `node` (a plain shell whose
// system Node is older), the bin runs itself again with the Node of a `node` devDependency in a node_modules above
// it (this repository pins one; npm scripts and npx put it first on PATH), or else says which Node it needs.
// Plain JavaScript that Node 20 can run: nothing here may need a newer Node or a build.
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

/**
 * Runs the built command of a bin, on a Node that is new enough.
 *
 * @param {{ readonly name: string, readonly bin: string, readonly built: string, readonly package: string }} options
 *   `name`: the command as the user types it; `bin`: the bin's `import.meta.url`; `built`: the built entry point
 *   relative to the bin (`"../dist/bin.js"`); `package`: the package's folder as said in messages
 *   (`"packages/cli"`).
 */
export const launch = async (options) => {
  const [major, minor] = process.versions.node.split(".").map(Number)
  if (major < 22 || (major === 22 && minor < 19)) return relaunch(options)
  const built = new URL(options.built, options.bin)
  if (!existsSync(built)) {
    process.stderr.write(
      `${options.name}: ${options.package}/dist/bin.js is not built yet. Run \`npm run build\` at the repository root (\`npm ci\` runs it).\n`
    )
    process.exit(70)
  }
  await import(built.href)
}

/** The Node of a `node` devDependency in a node_modules above `file`, or `undefined`. */
const workspaceNode = (file) => {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const node = [join(dir, "node_modules/.bin/node"), join(dir, "node_modules/node/bin/node")].find((candidate) =>
      existsSync(candidate)
    )
    if (node !== undefined) return node
  }
  return undefined
}

const relaunch = ({ name, bin }) => {
  const self = fileURLToPath(bin)
  const node = workspaceNode(self)
  if (node === undefined || process.env.SLUICE_NODE_RELAUNCHED === "1") {
    process.stderr.write(
      `${name} needs Node.js >= 22.19 (Effect 4, undici 8), but runs on Node ${process.versions.node} (${process.execPath}). Install Node 22.19 or newer (24 LTS), or run it through npm (\`npx --no-install ${name}\`) in a project that pins a newer \`node\` devDependency.\n`
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
    process.stderr.write(`${name}: could not run ${node}: ${error.message}\n`)
    process.exit(1)
  })
  child.on("exit", (code, signal) => {
    if (signal === null) process.exit(code ?? 1)
    process.removeAllListeners(signal)
    process.kill(process.pid, signal)
  })
}
