/**
 * @since 0.1.0
 */

/**
 * The `sluice` command line: batch, chat, doctor, simulate, demo.
 *
 * @since 0.1.0
 */
export * as Cli from "./Cli.js"
