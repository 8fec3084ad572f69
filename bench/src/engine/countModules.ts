/**
 * A preload (`node --import`) that counts the modules a program loads from source (each URL once; Node's built-in
 * `node:` modules are not compiled from source and are left out), by package, and writes them as JSON to
 * `BENCH_MODULES_OUT` when the process exits: the engine bench's start-up row says what a 1-line job loads.
 */
import { registerHooks } from "node:module"
import { writeFileSync } from "node:fs"

const loaded = new Map<string, number>()
const seen = new Set<string>()

const packageOf = (url: string) =>
  /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? /packages\/([^/]+)/.exec(url)?.[1] ?? "other"

registerHooks({
  load: (url, context, next) => {
    if (!url.startsWith("node:") && !seen.has(url)) {
      seen.add(url)
      const name = packageOf(url)
      loaded.set(name, (loaded.get(name) ?? 0) + 1)
    }
    return next(url, context)
  }
})

process.on("exit", () => {
  const out = process.env["BENCH_MODULES_OUT"]
  if (out !== undefined) writeFileSync(out, JSON.stringify(Object.fromEntries(loaded)))
})
