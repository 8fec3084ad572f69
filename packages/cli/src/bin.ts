#!/usr/bin/env node
/**
 * The `sluice` executable.
 *
 * @since 0.1.0
 */
import * as Module from "node:module"
import { sizeFor } from "./internal/heap.js"

// Before the command line's modules load: `batch` and `embed` start again with their heap flags (internal/heap.ts).
sizeFor(process.argv)
// V8's compile cache for the modules loaded from here on: a later start of the same install reads the compiled code
// instead of compiling it (decision 0007, "Session 4"; the first start writes it). Node's default directory
// (os.tmpdir()/node-compile-cache, or NODE_COMPILE_CACHE); NODE_DISABLE_COMPILE_CACHE=1 turns it off.
Module.enableCompileCache()
const { main } = await import("./Cli.js")

main(process.argv).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`sluice: unexpected failure: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(70)
  }
)
