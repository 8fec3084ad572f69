/**
 * Real servers on 127.0.0.1 for integration tests: bins (steady, aimock) run as child processes, killed in
 * the scope's finalizer; a tiny `node:http` server for faults the other servers cannot produce.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Net from "node:net"
import { fileURLToPath } from "node:url"
import { Credentials, OpenAi, OpenAiConfig } from "@sluice/core"
import { Effect, Layer, type Scope } from "effect"

export const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url))
export const bin = (name: string) => `${repoRoot}node_modules/.bin/${name}`
export const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))
export const specPath = `${repoRoot}../shared/openai-openapi/openapi.yaml`

export const freePort: Effect.Effect<number> = Effect.async<number>((resume) => {
  const server = Net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address() as Net.AddressInfo
    server.close(() => resume(Effect.succeed(address.port)))
  })
})

const canConnect = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = Net.connect({ port, host: "127.0.0.1" })
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

/** Waits (real time: a child process starting up, not policy logic) until the port accepts connections. */
const waitForPort = (port: number, child: ChildProcess, output: () => string, timeoutMs: number) =>
  Effect.tryPromise({
    try: async () => {
      const until = Date.now() + timeoutMs
      while (Date.now() < until) {
        if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}:\n${output()}`)
        if (await canConnect(port)) return
        await new Promise((r) => setTimeout(r, 100))
      }
      throw new Error(`not listening on ${port} after ${timeoutMs} ms:\n${output()}`)
    },
    catch: (error) => error as Error
  })

export interface Spawned {
  readonly url: string
  readonly port: number
  readonly output: () => string
}

/** Starts `command args` (with `{port}` replaced) and kills it when the scope closes. */
export const spawnServer = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly timeoutMs?: number } = {}
): Effect.Effect<Spawned, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const port = yield* freePort
    let log = ""
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const child = spawn(
          command,
          args.map((arg) => arg.replace("{port}", String(port))),
          { cwd: options.cwd ?? repoRoot, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } }
        )
        child.stdout?.on("data", (data: Buffer) => {
          log += data.toString()
        })
        child.stderr?.on("data", (data: Buffer) => {
          log += data.toString()
        })
        return child
      }),
      (child) =>
        Effect.async<void>((resume) => {
          if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
          child.once("exit", () => resume(Effect.void))
          child.kill("SIGTERM")
          const timer = setTimeout(() => child.kill("SIGKILL"), 2000)
          timer.unref()
        })
    )
    yield* waitForPort(port, child, () => log, options.timeoutMs ?? 20_000)
    return { url: `http://127.0.0.1:${port}`, port, output: () => log }
  })

export const hasSpec = Fs.existsSync(specPath)

/** steady on the OpenAI spec; it rejects invalid requests with 400 (`x-steady-request-valid: false`). */
export const steady = spawnServer(bin("steady"), [
  "--port",
  "{port}",
  "--host",
  "127.0.0.1",
  "--generator-seed=42",
  "-q",
  specPath
])

/** aimock with our fixture config. */
export const aimock = spawnServer(bin("aimock"), ["--config", fixture("aimock.json"), "--port", "{port}"], {
  cwd: fixture("")
})

/** A `node:http` server on loopback with a handler; closed (and its sockets destroyed) with the scope. */
export const httpServer = (
  handler: Http.RequestListener
): Effect.Effect<{ readonly url: string; readonly server: Http.Server }, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly server: Http.Server }>((resume) => {
      const server = Http.createServer(handler)
      server.listen(0, "127.0.0.1", () => {
        const address = server.address() as Net.AddressInfo
        resume(Effect.succeed({ url: `http://127.0.0.1:${address.port}`, server }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

/** A client on `baseUrl` with a static key and no retries unless asked. */
export const client = (
  baseUrl: string,
  options: OpenAiConfig.Options = {},
  credentials: Layer.Layer<Credentials.Credentials> = Credentials.static("sk-test-key-0123456789")
): Layer.Layer<OpenAi.OpenAi> =>
  OpenAi.layer.pipe(
    Layer.provide(OpenAiConfig.layer({ baseUrl, retry: { maxAttempts: 1 }, ...options })),
    Layer.provide(credentials)
  )
