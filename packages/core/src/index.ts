/**
 * @since 0.1.0
 */
export * as Errors from "./Errors.js"
export * as RateLimitHeaders from "./RateLimitHeaders.js"
export * as Gates from "./Gates.js"
export * as OpenAi from "./OpenAi.js"
export * as OpenAiConfig from "./OpenAiConfig.js"
export * as Credentials from "./Credentials.js"
export * as Retry from "./Retry.js"
export * as ChatCompletions from "./ChatCompletions.js"
export * as Embeddings from "./Embeddings.js"
export * as Models from "./Models.js"
export * as Files from "./Files.js"
export * as Batches from "./Batches.js"
