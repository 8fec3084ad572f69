#!/usr/bin/env node
/**
 * The `sluice` executable.
 *
 * @since 0.1.0
 */
import { main } from "./Cli.js"

main(process.argv).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`sluice: unexpected failure: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(70)
  }
)
