#!/usr/bin/env node
/**
 * The `sluice` executable.
 *
 * @since 0.1.0
 */
import { sizeFor } from "./internal/heap.js"

// Before the command line's modules load: the young generation grows during module loading (internal/heap.ts).
sizeFor(process.argv)
const { main } = await import("./Cli.js")

main(process.argv).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`sluice: unexpected failure: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(70)
  }
)
