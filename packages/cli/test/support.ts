/**
 * Running `sluice` as a user does — a child process — from the TypeScript sources (tsx, with the workspace's
 * source condition: no stale dist/), and simulators that are closed after each test.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach } from "@effect/vitest"
import { Simulator } from "@sluice/simulator"

export const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../../..")
const bin = Path.join(root, "packages/cli/src/bin.ts")

export interface Result {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Starts `sluice args…` with no key or base URL from the outer environment, only `env`'s. */
export const start = (args: ReadonlyArray<string>, env: Record<string, string> = {}): ChildProcess =>
  spawn(process.execPath, ["--conditions=@sluice/source", "--import", "tsx", bin, ...args], {
    cwd: root,
    env: { ...process.env, OPENAI_API_KEY: "", OPENAI_BASE_URL: "", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })

/** Collects a child's output until it closes. */
export const finish = (child: ChildProcess): Promise<Result> =>
  new Promise((resolve) => {
    let stdout = ""
    let stderr = ""
    child.stdout!.on("data", (chunk) => {
      stdout += chunk
    })
    child.stderr!.on("data", (chunk) => {
      stderr += chunk
    })
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }))
  })

export const sluice = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Result> =>
  finish(start(args, env))

const servers: Array<Simulator.Server> = []

/** A simulator on loopback, closed after the test. */
export const simulator = async (config: Parameters<typeof Simulator.startServer>[0]): Promise<Simulator.Server> => {
  const server = await Simulator.startServer(config)
  servers.push(server)
  return server
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()))
})
