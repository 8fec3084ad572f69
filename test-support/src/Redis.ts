/**
 * A real `redis-server` for the tests, with nothing to install by hand (decision 0012). Where the binary comes from,
 * first that answers:
 *
 * 1. `SLUICE_REDIS_SERVER=/path/to/redis-server`;
 * 2. a `redis-server` on `PATH` (Debian's `redis-server` package, a developer's own build);
 * 3. Debian's `redis-server` and `redis-tools` packages unpacked into `node_modules/.cache/sluice-redis/` — fetched on
 *    first use with `apt-get download` (no root needed where apt's package lists exist; as root an `apt-get update`
 *    is run first when the download finds nothing) together with those of their library packages that the machine
 *    lacks (`libjemalloc2`, `liblzf1` on a plain Debian), unpacked with `dpkg-deb -x` and run with
 *    `LD_LIBRARY_PATH` pointing at the unpacked libraries. No npm package ships a redis-server binary
 *    (`redis-memory-server` downloads and compiles the sources at install time, which a machine that reaches only
 *    the registries cannot do).
 *
 * When none works, `startRedis` fails and says what each source answered: a Redis test never skips.
 *
 * Every `startRedis()` is its own server: a free 127.0.0.1 port, its own temporary directory (append-only file on,
 * fsync on every write, so a `kill -9` and `restart` keep every acknowledged write), killed on `stop`.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { withLock } from "./internal/lock.js"

/** A redis-server binary and the environment it runs in. */
export interface RedisBinary {
  readonly server: string
  readonly env: NodeJS.ProcessEnv
  readonly source: string
}

/** One running redis-server. */
export interface RedisServer {
  readonly port: number
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  /** Its working directory (the append-only file lives here). */
  readonly dir: string
  readonly pid: () => number | undefined
  /** `kill -9` the server and wait for it to exit; its port and directory are kept for `restart`. */
  readonly kill9: () => Promise<void>
  /** Starts the server again on the same port and directory (after `kill9` or `stop({ keepDir: true })`). */
  readonly restart: () => Promise<void>
  /** Stops the server (SIGTERM, then SIGKILL) and removes its directory. */
  readonly stop: () => Promise<void>
}

const run = (file: string, args: ReadonlyArray<string>, options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) =>
  new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    execFile(file, [...args], { ...options, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stderr: String(stderr) }))
      else resolve({ stdout: String(stdout), stderr: String(stderr) })
    })
  })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const repoRoot = Path.resolve(import.meta.dirname, "..", "..")

/** Where the unpacked Debian packages are kept (`SLUICE_REDIS_CACHE` overrides). */
export const cacheDir = (): string =>
  process.env["SLUICE_REDIS_CACHE"] ?? Path.join(repoRoot, "node_modules", ".cache", "sluice-redis")

const libDirs = (root: string) =>
  ["usr/lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu", "usr/lib/aarch64-linux-gnu", "lib/aarch64-linux-gnu", "usr/lib"]
    .map((dir) => Path.join(root, dir))
    .filter((dir) => Fs.existsSync(dir))

const envWithLibs = (root: string): NodeJS.ProcessEnv => {
  const dirs = libDirs(root)
  const current = process.env["LD_LIBRARY_PATH"]
  return { ...process.env, LD_LIBRARY_PATH: [...dirs, ...(current ? [current] : [])].join(":") }
}

/** Runs `server --version`; the version line, or an error. */
const probe = async (server: string, env: NodeJS.ProcessEnv): Promise<string> =>
  (await run(server, ["--version"], { env })).stdout.trim()

const onPath = async (): Promise<string | undefined> => {
  for (const dir of (process.env["PATH"] ?? "").split(Path.delimiter)) {
    const candidate = Path.join(dir, "redis-server")
    try {
      Fs.accessSync(candidate, Fs.constants.X_OK)
      return candidate
    } catch {}
  }
  return undefined
}

const isInstalled = async (pkg: string): Promise<boolean> => {
  try {
    // dpkg-query's own ${Status} field (not a template placeholder)
    const { stdout } = await run("dpkg-query", ["-W", `-f=${"$"}{Status}`, pkg])
    return stdout.includes("install ok installed")
  } catch {
    return false
  }
}

/** redis-server, redis-tools and the library packages redis-tools depends on that this machine lacks. */
const packagesToFetch = async (): Promise<ReadonlyArray<string>> => {
  const { stdout } = await run("apt-cache", ["depends", "redis-tools"])
  const deps = [...stdout.matchAll(/^\s+Depends: (lib[^\s<>]+)$/gm)].map((m) => m[1] as string)
  const missing: Array<string> = []
  for (const dep of deps) if (!(await isInstalled(dep))) missing.push(dep)
  return ["redis-server", "redis-tools", ...missing]
}

const download = async (into: string): Promise<void> => {
  const attempt = async () => run("apt-get", ["download", ...(await packagesToFetch())], { cwd: into })
  try {
    await attempt()
  } catch (error) {
    // A machine whose apt lists are empty or stale: as root, refresh them once and try again.
    if (process.getuid?.() !== 0) throw error
    await run("apt-get", ["update"])
    await attempt()
  }
}

/** Test files run in parallel workers: one fetches at a time (internal/lock.ts), the others wait and then find it. */
const withFetchLock = <A>(dir: string, body: () => Promise<A>): Promise<A> => withLock(`${dir}.lock`, body)

/** Debian's packages, fetched and unpacked into the cache on first use; the binary in the cache after that. */
const fromDebian = async (): Promise<RedisBinary> => {
  const root = Path.join(cacheDir(), "root")
  const server = Path.join(root, "usr", "bin", "redis-server")
  if (!Fs.existsSync(server)) {
    await withFetchLock(root, async () => {
      if (Fs.existsSync(server)) return
      const work = Fs.mkdtempSync(Path.join(cacheDir(), "fetch-"))
      try {
        const debs = Path.join(work, "debs")
        const unpacked = Path.join(work, "root")
        Fs.mkdirSync(debs)
        Fs.chmodSync(work, 0o755)
        Fs.chmodSync(debs, 0o777) // apt's sandbox user `_apt` writes the downloads
        await download(debs)
        for (const deb of Fs.readdirSync(debs).filter((f) => f.endsWith(".deb"))) {
          await run("dpkg-deb", ["-x", Path.join(debs, deb), unpacked])
        }
        Fs.rmSync(root, { recursive: true, force: true })
        Fs.renameSync(unpacked, root) // atomic: a half-unpacked tree is never seen as the cache
      } finally {
        Fs.rmSync(work, { recursive: true, force: true })
      }
    })
  }
  const env = envWithLibs(root)
  const { stdout } = await run("ldd", [server], { env })
  const missing = stdout.split("\n").filter((line) => line.includes("not found"))
  if (missing.length > 0) throw new Error(`unpacked redis-server lacks libraries: ${missing.join("; ").trim()}`)
  return { server, env, source: `Debian's packages unpacked in ${root}` }
}

let found: Promise<RedisBinary> | undefined

/** Finds (and on first use fetches) a redis-server that runs; cached for the process. */
export const redisBinary = (): Promise<RedisBinary> => {
  found ??= (async () => {
    const answers: Array<string> = []
    const explicit = process.env["SLUICE_REDIS_SERVER"]
    const candidates: Array<() => Promise<RedisBinary | undefined>> = [
      async () => (explicit ? { server: explicit, env: process.env, source: "SLUICE_REDIS_SERVER" } : undefined),
      async () => {
        const path = await onPath()
        return path === undefined ? undefined : { server: path, env: process.env, source: `PATH (${path})` }
      },
      fromDebian
    ]
    for (const candidate of candidates) {
      try {
        const binary = await candidate()
        if (binary === undefined) continue
        await probe(binary.server, binary.env)
        return binary
      } catch (error) {
        answers.push(String((error as { stderr?: string }).stderr || (error as Error).message).trim())
      }
    }
    throw new Error(
      `no redis-server could be found or fetched: ${answers.join(" | ")}. Set SLUICE_REDIS_SERVER=/path/to/redis-server, ` +
        "or install Debian's redis-server package."
    )
  })()
  found.catch(() => {
    found = undefined
  })
  return found
}

/** A port that was free a moment ago on 127.0.0.1. */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject()))
    })
  })

/** Sends `PING` and resolves true on `+PONG`. */
const ping = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = Net.connect({ host: "127.0.0.1", port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once("error", () => done(false))
    socket.once("connect", () => socket.write("PING\r\n"))
    socket.once("data", (data) => done(data.toString().startsWith("+PONG")))
  })

const live = new Set<ChildProcess>()
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL")
})

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once("exit", () => resolve()))

/** Options of {@link startRedis}. */
export interface StartOptions {
  /** Extra `redis-server` arguments (`["--maxmemory", "1mb"]`). */
  readonly args?: ReadonlyArray<string>
}

/** A redis-server on 127.0.0.1:`port` keeping its data (append-only, fsync always) and log in `dir`. */
const serverArgs = (port: number, dir: string, extra: ReadonlyArray<string>): Array<string> => [
  ...["--bind", "127.0.0.1", "--port", String(port), "--dir", dir, "--daemonize", "no", "--save", ""],
  ...["--appendonly", "yes", "--appendfsync", "always", "--logfile", Path.join(dir, "redis.log")],
  ...extra
]

/** Spawns the server and waits (10 s at most) for its `PING`; kills it and fails with its log's tail otherwise. */
const launchServer = async (
  binary: Awaited<ReturnType<typeof redisBinary>>,
  port: number,
  dir: string,
  extra: ReadonlyArray<string>
): Promise<ChildProcess> => {
  const started = spawn(binary.server, serverArgs(port, dir, extra), { env: binary.env, stdio: "ignore" })
  live.add(started)
  started.once("exit", () => live.delete(started))
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (started.exitCode !== null) break
    if (await ping(port)) return started
    await sleep(25)
  }
  started.kill("SIGKILL")
  const logFile = Path.join(dir, "redis.log")
  const log = Fs.existsSync(logFile) ? Fs.readFileSync(logFile, "utf8") : ""
  throw new Error(`redis-server (${binary.source}) did not answer on 127.0.0.1:${port}: ${log.slice(-800)}`)
}

/**
 * Starts a redis-server on a free 127.0.0.1 port with its own temporary directory; resolves once it answers `PING`.
 * Call `stop()` in the test's teardown.
 */
export const startRedis = async (options: StartOptions = {}): Promise<RedisServer> => {
  const binary = await redisBinary()
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sluice-redis-"))
  const extra = options.args ?? []
  let child: ChildProcess | undefined
  let port = 0
  for (let tries = 0; child === undefined; tries++) {
    port = await freePort()
    // Another process may take the port between freePort and the bind: then take another one.
    child = await launchServer(binary, port, dir, extra).catch((error: unknown) => {
      if (tries >= 4) throw error
      return undefined
    })
  }
  const kill = async (signal: NodeJS.Signals) => {
    const current = child
    if (current === undefined) return
    current.kill(signal)
    await exited(current)
    child = undefined
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    pid: () => child?.pid,
    kill9: () => kill("SIGKILL"),
    restart: async () => {
      await kill("SIGKILL")
      child = await launchServer(binary, port, dir, extra)
    },
    stop: async () => {
      const current = child
      if (current !== undefined) {
        const timer = setTimeout(() => current.kill("SIGKILL"), 2_000)
        await kill("SIGTERM")
        clearTimeout(timer)
      }
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
