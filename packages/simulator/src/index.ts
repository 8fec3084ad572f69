/**
 * @sluice/simulator: an OpenAI-compatible HTTP server with real rate-limit semantics and seeded fault injection.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Config from "./Config.js"
/** @since 0.1.0 */
export * as Faults from "./Faults.js"
/** @since 0.1.0 */
export * as RateLimits from "./RateLimits.js"
/** @since 0.1.0 */
export * as Simulator from "./Simulator.js"
/** @since 0.1.0 */
export * as Stats from "./Stats.js"
/** @since 0.3.0 */
export * as Embeddings from "./Embeddings.js"
