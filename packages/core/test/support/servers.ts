/**
 * Real servers on 127.0.0.1 for integration tests: bins (steady, aimock) run as child processes, killed in
 * the scope's finalizer; a tiny `node:http` server for faults the other servers cannot produce.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as Http from "node:http"
import * as Net from "node:net"
import { fileURLToPath } from "node:url"
import { Credentials, OpenAi, OpenAiConfig } from "@sluice/core"
import { Effect, Layer, type Scope } from "effect"

export const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url))
export const bin = (name: string) => `${repoRoot}node_modules/.bin/${name}`
export const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))
/** The OpenAI spec subset steady serves: committed, derived from the public spec by scripts/openapi-subset.ts. */
export const specPath = fixture("openai-openapi.subset.yaml")
/** The full public spec, when it lies beside the clone: only the subset's drift check reads it. */
export const fullSpecPath = `${repoRoot}../shared/openai-openapi/openapi.yaml`

export const freePort: Effect.Effect<number> = Effect.async<number>((resume) => {
  const server = Net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address() as Net.AddressInfo
    server.close(() => resume(Effect.succeed(address.port)))
  })
})

class ExitedBeforeReady extends Error {}

/**
 * Waits (real time: a child process starting up, not policy logic) until the child prints `ready`, the line a
 * server prints once it listens. Unlike connecting to the port, this cannot mistake another process that took the
 * port for ours.
 */
const waitForReady = (child: ChildProcess, output: () => string, ready: RegExp, timeoutMs: number) =>
  Effect.async<RegExpMatchArray, Error>((resume) => {
    const done = () => {
      clearTimeout(timer)
      child.stdout?.off("data", check)
      child.stderr?.off("data", check)
      child.off("exit", exited)
    }
    // Registered after the listeners that collect the output, so `output()` already holds the new data.
    const check = () => {
      const match = output().match(ready)
      if (match === null) return
      done()
      resume(Effect.succeed(match))
    }
    const exited = (code: number | null) => {
      done()
      resume(Effect.fail(new ExitedBeforeReady(`exited with ${code} before it was ready:\n${output()}`)))
    }
    const timer = setTimeout(() => {
      done()
      resume(Effect.fail(new Error(`not ready (${ready.source}) after ${timeoutMs} ms:\n${output()}`)))
    }, timeoutMs)
    child.stdout?.on("data", check)
    child.stderr?.on("data", check)
    child.once("exit", exited)
    if (child.exitCode !== null) return exited(child.exitCode)
    check()
    return Effect.sync(done)
  })

export interface Spawned {
  readonly url: string
  readonly port: number
  readonly output: () => string
}

/**
 * Starts `command args` and kills it when the scope closes. `ready` is what the server prints once it listens; when
 * it has a capture group, that is the port the server chose itself (start it on port 0: nothing can race for it).
 * Otherwise `{port}` in `args` is replaced with a free port; if another process takes that port before the server
 * binds it, the server exits and is started again on a new one.
 */
export const spawnServer = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly ready: RegExp; readonly cwd?: string; readonly timeoutMs?: number }
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
    const match = yield* waitForReady(child, () => log, options.ready, options.timeoutMs ?? 20_000)
    const listening = match[1] === undefined ? port : Number(match[1])
    return { url: `http://127.0.0.1:${listening}`, port: listening, output: () => log }
  }).pipe(
    Effect.retry({
      while: (error) => error instanceof ExitedBeforeReady && args.some((arg) => arg.includes("{port}")),
      times: 2
    })
  )

/** steady on the OpenAI spec; it rejects invalid requests with 400 (`x-steady-request-valid: false`). */
export const steady = spawnServer(
  bin("steady"),
  ["--port", "{port}", "--host", "127.0.0.1", "--generator-seed=42", "-q", "--log-format", "text", specPath],
  // steady reports the port it was given, not the one it bound: it gets a free port and is told it. Its ready line
  // differs by log format ("Server listening at …" when it detects CI=true and logs for CI), so the format is
  // pinned to text and both lines are accepted.
  { ready: /(?:Ready to accept requests on|Server listening at) http:\/\/127\.0\.0\.1:/ }
)

/** aimock with our fixture config, on a port it picks itself. */
export const aimock = spawnServer(bin("aimock"), ["--config", fixture("aimock.json"), "--port", "0"], {
  ready: /listening on http:\/\/127\.0\.0\.1:(\d+)\s/,
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
