/**
 * @since 0.1.0
 */
export * as Errors from "./Errors.js"
export * as RateLimitHeaders from "./RateLimitHeaders.js"
export * as Gates from "./Gates.js"
