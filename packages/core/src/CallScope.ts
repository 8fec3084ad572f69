/**
 * Where a call is counted: the key it sends with, its model, the limiter / breaker / concurrency scope
 * (`keyId:model` unless `Gates.Options.scopeOf` says otherwise) and the budget scope (`"global"` unless
 * `budgetScopeOf` says otherwise). Built once, at admission, by {@link make}, and carried on the `Call`
 * as a value: no gate builds a scope string of its own or parses one back.
 *
 * @since 0.3.0
 */
import * as internal from "./internal/scope.js"

/**
 * @since 0.3.0
 * @category models
 */
export interface CallScope {
  /** The non-secret fingerprint of the key the call (or its latest attempt) sends with. */
  readonly keyId: string
  readonly model: string | undefined
  /** The rate limiter, circuit breaker and concurrency scope. */
  readonly key: string
  /** The budget scope. */
  readonly budget: string
}

/**
 * What a scope is built from: at least the key fingerprint and the model (a `Gates.CallInfo`).
 *
 * @since 0.3.0
 * @category models
 */
export interface Identity {
  readonly keyId: string
  readonly model: string | undefined
}

/**
 * Custom scope keys (`Gates.Options`); each defaults as described in the module docs.
 *
 * @since 0.3.0
 * @category models
 */
export interface Resolvers<I extends Identity = Identity> {
  readonly scopeOf?: ((info: I) => string) | undefined
  readonly budgetScopeOf?: ((info: I) => string) | undefined
}

/**
 * The default limiter scope key: `keyId:model`, or `keyId:-` without a model.
 *
 * @since 0.3.0
 * @category constructors
 */
export const defaultKey: (keyId: string, model: string | undefined) => string = internal.defaultKey

/**
 * The scope of a call.
 *
 * @since 0.3.0
 * @category constructors
 */
export const make: <I extends Identity>(info: I, resolvers?: Resolvers<I>) => CallScope = internal.make

/**
 * The scope of an attempt that sends with `keyId` (a key rotated in after a 401 has limits and a breaker of its
 * own); the same scope when the key did not change. The budget scope stays the call's.
 *
 * @since 0.3.0
 * @category constructors
 */
export const withKey: <I extends Identity>(
  scope: CallScope,
  info: I,
  keyId: string,
  resolvers?: Resolvers<I>
) => CallScope = internal.withKey
