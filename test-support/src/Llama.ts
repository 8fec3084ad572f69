/**
 * A real llama.cpp `llama-server` for the peer suite, with nothing to install by hand and nothing downloaded but npm
 * packages:
 *
 * - the source is the llama.cpp release that the `node-llama-cpp` npm package bundles as a git bundle
 *   (`llama/gitRelease.bundle`), fetched with `npm pack` and cloned into a cache directory;
 * - the server is built there with the machine's cmake and g++ (~9 minutes on two cores), once per llama.cpp commit:
 *   later runs, and every clone on the machine, reuse it;
 * - the model is a tiny llama with seeded random weights and GPT-2's tokenizer (from the bundle's vocab-only
 *   `models/ggml-vocab-gpt-2.gguf`), written by `internal/gguf.ts`: its text is noise, but the HTTP surface, SSE
 *   streaming, usage, grammar-constrained JSON output and tool-call parsing are llama.cpp's own.
 *
 * The cache is `SLUICE_CACHE_DIR`, else `$XDG_CACHE_HOME/sluice`, else `~/.cache/sluice`. `SLUICE_LLAMA_SERVER` names a
 * prebuilt `llama-server` to use instead of building one.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { readMetadata, stringArray, tinyLlama } from "./internal/gguf.js"
import { withLock } from "./internal/lock.js"

const cacheRoot = (): string =>
  process.env["SLUICE_CACHE_DIR"] ??
  Path.join(process.env["XDG_CACHE_HOME"] ?? Path.join(Os.homedir(), ".cache"), "sluice")

const run = (command: string, args: ReadonlyArray<string>, cwd?: string) =>
  new Promise<string>((resolve, reject) =>
    execFile(command, [...args], { cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      error
        ? reject(new Error(`${command} ${args.join(" ")} failed: ${stderr.slice(-2_000) || error.message}`))
        : resolve(stdout)
    )
  )

/** The node-llama-cpp release whose bundled llama.cpp source is built (3.21.1: newer ones break `npm ci` here). */
export const NODE_LLAMA_CPP = "3.21.1"

/**
 * The git bundle of llama.cpp's source inside the node-llama-cpp package, fetched with `npm pack` (the registry's
 * integrity check applies) into the cache rather than installed: as a dependency it would pull its prebuilt native
 * binaries, CUDA and Vulkan builds included, into every `npm ci`, and the suite needs only the source.
 */
const bundlePath = async (): Promise<string> => {
  const dir = Path.join(cacheRoot(), "node-llama-cpp", NODE_LLAMA_CPP)
  const bundle = Path.join(dir, "package", "llama", "gitRelease.bundle")
  if (Fs.existsSync(bundle)) return bundle
  Fs.mkdirSync(dir, { recursive: true })
  const name = (
    await run("npm", ["pack", `node-llama-cpp@${NODE_LLAMA_CPP}`, "--silent", "--pack-destination", dir])
  ).trim()
  await run("tar", ["xzf", Path.join(dir, name.split("\n").pop() ?? ""), "-C", dir, "package/llama/gitRelease.bundle"])
  if (!Fs.existsSync(bundle))
    throw new Error(`node-llama-cpp@${NODE_LLAMA_CPP} has no llama.cpp source bundle at ${bundle}`)
  return bundle
}

/** What a build needs, in one place: the source tree and where the server binary and model go. */
export interface Artifacts {
  readonly commit: string
  readonly source: string
  readonly server: string
  readonly model: string
  readonly template: string
}

const artifactsOf = async (): Promise<Artifacts> => {
  const bundle = await withLock(Path.join(cacheRoot(), "node-llama-cpp.lock"), bundlePath, { pollMs: 1_000 })
  const heads = await run("git", ["bundle", "list-heads", bundle])
  const commit = heads.split(/\s/)[0] ?? ""
  if (!/^[0-9a-f]{40}$/.test(commit)) throw new Error(`cannot read the commit of ${bundle}: ${heads}`)
  const dir = Path.join(cacheRoot(), "llama.cpp", commit.slice(0, 12))
  return {
    commit,
    source: Path.join(dir, "src"),
    server: process.env["SLUICE_LLAMA_SERVER"] ?? Path.join(dir, "bin", "llama-server"),
    model: Path.join(dir, `tiny-llama-gpt2-${MODEL_VERSION}.gguf`),
    template: Path.join(dir, "src", "models", "templates", "Qwen-Qwen2.5-7B-Instruct.jinja")
  }
}

const buildServer = async (artifacts: Artifacts, log: (line: string) => void): Promise<void> => {
  const build = Path.join(artifacts.source, "build")
  log(`building llama-server ${artifacts.commit.slice(0, 12)} from node-llama-cpp's bundled source (~9 min, once)`)
  await run("cmake", [
    "-S",
    artifacts.source,
    "-B",
    build,
    "-DCMAKE_BUILD_TYPE=Release",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DBUILD_SHARED_LIBS=OFF"
  ])
  await run("cmake", [
    "--build",
    build,
    "--target",
    "llama-server",
    "-j",
    String(Math.max(1, Os.availableParallelism()))
  ])
  Fs.mkdirSync(Path.dirname(artifacts.server), { recursive: true })
  Fs.copyFileSync(Path.join(build, "bin", "llama-server"), `${artifacts.server}.tmp`)
  Fs.chmodSync(`${artifacts.server}.tmp`, 0o755)
  Fs.renameSync(`${artifacts.server}.tmp`, artifacts.server)
  Fs.rmSync(build, { recursive: true, force: true })
}

/** Bumped whenever the model's design changes, so that a cached model of an older design is not reused. */
const MODEL_VERSION = 2

/**
 * The tiny model: GPT-2's tokenizer, 2 layers of 64, seeded noise, and a few bigrams so that it takes part in the
 * protocol instead of only babbling. After a newline it writes `<tool_call>` and, at the `>`, prefers to stop over a
 * newline. So with `tool_choice: "required"` (where llama.cpp's grammar forbids stopping before a call) it opens a
 * Qwen/Hermes-style tool call whose JSON arguments the grammar makes valid, and stops after it; with `"auto"` or no
 * tools it answers the text `<tool_call>` and stops (finish_reason "stop"); under a JSON-schema grammar it writes
 * valid JSON; with no newline before the answer it babbles until `max_tokens`.
 */
const tinyModel = (vocabFile: string): Buffer => {
  const vocab = readMetadata(Fs.readFileSync(vocabFile))
  const tokens = stringArray(vocab.get("tokenizer.ggml.tokens"))
  const id = (token: string) => {
    const index = tokens.indexOf(token)
    if (index < 0) throw new Error(`GPT-2's vocabulary has no token ${JSON.stringify(token)}`)
    return index
  }
  const [newline, open, tool, underscore, call, close] = ["Ċ", "<", "tool", "_", "call", ">"].map(id) as [
    number,
    number,
    number,
    number,
    number,
    number
  ]
  const eos = vocab.get("tokenizer.ggml.eos_token_id")
  if (eos?.type !== "u32") throw new Error("GPT-2's vocabulary names no end-of-text token")
  return tinyLlama(vocab, {
    vocab: tokens.length,
    embedding: 64,
    heads: 4,
    feedForward: 128,
    layers: 2,
    context: 4096,
    bigrams: [
      [newline, open, 5],
      [open, tool, 5],
      [tool, underscore, 5],
      [underscore, call, 5],
      [call, close, 5],
      [close, eos.value, 5],
      [close, newline, 4]
    ]
  })
}

/**
 * The server binary, the template and the tiny model, built or written if the cache lacks them. Safe to call from
 * several processes at once.
 */
export const ensure = async (log: (line: string) => void = () => {}): Promise<Artifacts> => {
  const artifacts = await artifactsOf()
  const ready = () =>
    Fs.existsSync(artifacts.server) && Fs.existsSync(artifacts.model) && Fs.existsSync(artifacts.template)
  if (ready()) return artifacts
  await withLock(
    Path.join(Path.dirname(artifacts.source), "lock"),
    async () => {
      if (ready()) return
      if (!Fs.existsSync(Path.join(artifacts.source, "CMakeLists.txt"))) {
        Fs.rmSync(artifacts.source, { recursive: true, force: true })
        await run("git", ["clone", "--quiet", await bundlePath(), artifacts.source])
      }
      if (!Fs.existsSync(artifacts.server)) await buildServer(artifacts, log)
      if (!Fs.existsSync(artifacts.model)) {
        const model = tinyModel(Path.join(artifacts.source, "models", "ggml-vocab-gpt-2.gguf"))
        Fs.writeFileSync(`${artifacts.model}.tmp`, model)
        Fs.renameSync(`${artifacts.model}.tmp`, artifacts.model)
      }
    },
    { pollMs: 1_000 }
  )
  return artifacts
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as Net.AddressInfo
      server.close(() => resolve(address.port))
    })
  })

/** A running llama-server on loopback. */
export interface Server {
  readonly baseUrl: string
  readonly port: number
  readonly process: ChildProcess
  readonly log: () => string
  readonly stop: () => Promise<void>
}

/** Starts llama-server with the tiny model on a free 127.0.0.1 port and waits until `/health` answers 200. */
export const start = async (
  options: { readonly slots?: number; readonly log?: (line: string) => void } = {}
): Promise<Server> => {
  const artifacts = await ensure(options.log)
  const port = await freePort()
  const child = spawn(
    artifacts.server,
    [
      ...["-m", artifacts.model, "--host", "127.0.0.1", "--port", String(port), "-c", "4096"],
      ...["--jinja", "--chat-template-file", artifacts.template, "-np", String(options.slots ?? 2), "--no-webui"]
    ],
    { stdio: ["ignore", "pipe", "pipe"] }
  )
  let output = ""
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-20_000)
  }
  child.stdout.on("data", append)
  child.stderr.on("data", append)
  const baseUrl = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`llama-server exited with ${child.exitCode}:\n${output}`)
    const healthy = await fetch(`${baseUrl}/health`).then(
      (r) => r.ok,
      () => false
    )
    if (healthy) break
    if (Date.now() > deadline) {
      child.kill("SIGKILL")
      throw new Error(`llama-server did not become healthy within 60 s:\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  return {
    baseUrl,
    port,
    process: child,
    log: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once("exit", () => resolve())
        child.kill("SIGTERM")
        setTimeout(() => child.kill("SIGKILL"), 5_000).unref()
      })
  }
}
