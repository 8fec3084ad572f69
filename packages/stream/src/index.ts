/**
 * @since 0.1.0
 */

/**
 * Server-Sent Events decoding and encoding.
 *
 * @since 0.1.0
 */
export * as Sse from "./Sse.js"
