#!/usr/bin/env node
// The `sluice` bin: a committed launcher, so npm links it on `npm ci` before the root `prepare` builds dist/
// (npm skips a bin whose target does not exist yet), and executable in git (tsc emits dist/bin.js as 0644).
import { existsSync } from "node:fs"

const built = new URL("../dist/bin.js", import.meta.url)
if (!existsSync(built)) {
  process.stderr.write(
    "sluice: packages/cli/dist/bin.js is not built yet. Run `npm run build` at the repository root (`npm ci` runs it).\n"
  )
  process.exit(70)
}
await import(built.href)
