/**
 * @since 0.3.0
 */

/**
 * @since 0.3.0
 */
export * as RedisBreaker from "./RedisBreaker.js"
/**
 * @since 0.3.0
 */
export * as RedisBudget from "./RedisBudget.js"
/**
 * @since 0.3.0
 */
export * as RedisStore from "./RedisStore.js"
/**
 * @since 0.3.0
 */
export * as RedisLimiter from "./RedisLimiter.js"
