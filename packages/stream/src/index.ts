/**
 * @since 0.1.0
 */

/**
 * Server-Sent Events decoding and encoding.
 *
 * @since 0.1.0
 */
export * as Sse from "./Sse.js"

/**
 * Streaming chat completions: the gated, timed, cancellable `stream` call on the core client; decoding,
 * accumulation, text re-chunking, buffering.
 *
 * @since 0.1.0
 */
export * as ChatStream from "./ChatStream.js"

/**
 * Streamed Responses (the Responses API): semantic events, the gated `stream` call, text deltas, the final Response.
 *
 * @since 0.3.0
 */
export * as ResponseStream from "./ResponseStream.js"

/**
 * Adapters to Web `ReadableStream`, Node `Readable` and SSE bytes for relaying.
 *
 * @since 0.1.0
 */
export * as Interop from "./Interop.js"
export * as Batch from "./Batch.js"
export * as Embed from "./Embed.js"

/**
 * The node flags and malloc settings `sluice batch` and `sluice embed` start with, for programs that run the jobs
 * themselves.
 *
 * @since 0.3.0
 */
export * as NodeStart from "./NodeStart.js"
