/**
 * A package's public modules and their `internal/` modules import each other. Whichever loads first, no public
 * value may be read while the other is still uninitialised (Node: a TDZ ReferenceError at load; vitest: an
 * undefined export). `loadOrderCases` lists, for every internal module, a case that loads it first and then every
 * public module, and returns the public exports that came out `undefined` (or the error the load threw).
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { pathToFileURL } from "node:url"

const walk = (dir: string): Array<string> =>
  Fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? walk(Path.join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [Path.join(dir, entry.name)]
        : []
  )

/** One case: the internal module to load first, and a check that runs the loads. */
export interface LoadOrderCase {
  readonly first: string
  readonly problems: (load: (url: string) => Promise<Record<string, unknown>>) => Promise<ReadonlyArray<string>>
}

/** The cases for the package whose sources are in `srcDir` (public modules: `srcDir/*.ts` except `bin.ts`). */
export const loadOrderCases = (srcDir: string): ReadonlyArray<LoadOrderCase> => {
  const publics = Fs.readdirSync(srcDir)
    .filter((name) => name.endsWith(".ts") && name !== "bin.ts")
    .map((name) => Path.join(srcDir, name))
  const internals = walk(Path.join(srcDir, "internal"))
  return internals.map((first) => ({
    first: Path.relative(srcDir, first),
    problems: async (load) => {
      const found: Array<string> = []
      try {
        await load(pathToFileURL(first).href)
        for (const file of publics) {
          const exports = await load(pathToFileURL(file).href)
          for (const [key, value] of Object.entries(exports)) {
            if (value === undefined) found.push(`${Path.basename(file)}: ${key}`)
          }
        }
      } catch (error) {
        found.push(`load failed: ${error instanceof Error ? error.message : String(error)}`)
      }
      return found
    }
  }))
}
