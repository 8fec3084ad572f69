/**
 * A headless Chromium for the browser tests (core's run report, the chat-relay example), with nothing to install by
 * hand: the Chromium that `@sparticuz/chromium` ships inside its npm package (a devDependency, so `npm ci` brings
 * it), unpacked to the OS temp directory on first use (~2 s, then reused), or else a system Chromium where one
 * exists. `SLUICE_CHROMIUM=/path/to/chromium` picks one explicitly. When none launches, `launch` fails and says what
 * each source answered and how to get one: a browser test never skips.
 */
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Os from "node:os"
import * as Path from "node:path"
import { type Browser, chromium } from "playwright-core"
import { withLock } from "./internal/lock.js"

/**
 * Flags that launch headless here (root, no GPU, no network besides loopback). Playwright gives every launch a fresh
 * temporary profile (--user-data-dir) of its own and removes it on close.
 */
export const args: ReadonlyArray<string> = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

/** Where Debian, Ubuntu and Chrome's packages put their browser. */
const systemPaths = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable"
]

/**
 * Test files run in parallel workers, and `@sparticuz/chromium` takes a file that exists for a finished one: one
 * worker unpacks at a time (internal/lock.ts: a lock directory in the OS temp folder, shared by every clone on the
 * machine, taken over when its holder is gone).
 */
const withChromiumLock = <A>(body: () => Promise<A>): Promise<A> =>
  withLock(Path.join(Os.tmpdir(), "sluice-chromium.lock"), body)

/** `chromium --version`'s answer ("Chromium 153.0.8010.0"), or undefined when it does not run. */
const versionOf = (path: string) =>
  new Promise<string | undefined>((resolve) =>
    execFile(path, ["--version"], { timeout: 30_000 }, (error, stdout) => resolve(error ? undefined : stdout.trim()))
  )

/**
 * The npm package's Chromium, unpacked. The package reuses any file already at that place, so one left half-written
 * by an interrupted run, or by another version of the package (its major is Chromium's), is unpacked again.
 */
const fromNpm = (): Promise<string> =>
  withChromiumLock(async () => {
    const { default: Chromium } = await import("@sparticuz/chromium")
    const manifest = Path.join(Path.dirname(createRequire(import.meta.url).resolve("@sparticuz/chromium")), "..")
    const major = (
      JSON.parse(Fs.readFileSync(Path.join(manifest, "package.json"), "utf8")) as { version: string }
    ).version.split(".")[0]
    const usable = (version: string | undefined) => version?.startsWith(`Chromium ${major}.`) === true
    const path = await Chromium.executablePath()
    if (usable(await versionOf(path))) return path
    Fs.rmSync(path, { force: true })
    const again = await Chromium.executablePath()
    const version = await versionOf(again)
    if (usable(version)) return again
    throw new Error(
      `${again} was unpacked but \`${again} --version\` answers ${version ?? "nothing"}, not Chromium ${major}`
    )
  })

interface Source {
  readonly name: string
  readonly path: () => Promise<string>
}

const sources = (): ReadonlyArray<Source> => {
  const explicit = process.env["SLUICE_CHROMIUM"]
  if (explicit !== undefined && explicit !== "")
    return [{ name: `SLUICE_CHROMIUM=${explicit}`, path: async () => explicit }]
  return [
    { name: "@sparticuz/chromium (npm devDependency)", path: fromNpm },
    ...systemPaths.map((path) => ({
      name: `system Chromium ${path}`,
      path: async () => {
        if (!Fs.existsSync(path)) throw new Error("not installed")
        return path
      }
    }))
  ]
}

/** Launches headless Chromium from the first source that works; fails naming every source tried and its answer. */
export const launch = async (): Promise<Browser> => {
  const failures: Array<string> = []
  for (const source of sources()) {
    try {
      const executablePath = await source.path()
      return await chromium.launch({ executablePath, args: [...args] })
    } catch (error) {
      failures.push(`  ${source.name}: ${(error instanceof Error ? error.message : String(error)).split("\n")[0]}`)
    }
  }
  throw new Error(
    [
      "No headless Chromium could be launched for this browser test. Tried:",
      ...failures,
      "Get one: `npm ci` at the repository root installs @sparticuz/chromium (the browser ships inside the package);",
      "or install a system Chromium (`apt-get install chromium` on Debian); or set SLUICE_CHROMIUM to a Chromium binary."
    ].join("\n")
  )
}
