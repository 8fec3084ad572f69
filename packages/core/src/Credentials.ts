/**
 * Where the API key comes from. The client reads `get` on every attempt (so a rotated key is picked up by
 * the next attempt) and calls `refresh` once after a 401. Keys stay `Redacted` end to end; `keyId` is a
 * short SHA-256 fingerprint that is safe to log and to use as a limiter scope.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type { CredentialsUnavailable } from "./Errors.js"
import * as internal from "./internal/credentials.js"

/**
 * A key and its fingerprint.
 *
 * @since 0.1.0
 * @category models
 */
export interface ApiKey {
  readonly key: Redacted.Redacted<string>
  /** `sha256:` + the first 12 hex digits of the key's SHA-256: identifies a key without revealing it. */
  readonly keyId: string
}

/**
 * @since 0.1.0
 * @category services
 */
export class Credentials extends Context.Service<
  Credentials,
  {
    /** The key to use now. Cheap: called on every attempt. */
    readonly get: Effect.Effect<ApiKey, CredentialsUnavailable>
    /** Drop anything cached and read the source again (called after a 401). */
    readonly refresh: Effect.Effect<void, CredentialsUnavailable>
  }
>()("@sluice/core/Credentials") {}

/**
 * The fingerprint of a key.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fingerprint: (key: Redacted.Redacted<string>) => string = internal.fingerprint

/**
 * Wraps a key with its fingerprint.
 *
 * @since 0.1.0
 * @category constructors
 */
export const apiKey: (key: Redacted.Redacted<string>) => ApiKey = internal.apiKey

/**
 * A fixed key.
 *
 * @since 0.1.0
 * @category layers
 */
export const staticKey = (key: Redacted.Redacted<string> | string): Layer.Layer<Credentials> => {
  const value = apiKey(typeof key === "string" ? Redacted.make(key) : key)
  return Layer.succeed(Credentials, { get: Effect.succeed(value), refresh: Effect.void })
}
export {
  /**
   * A fixed key (`Credentials.static(key)`).
   *
   * @since 0.1.0
   * @category layers
   */
  staticKey as static
}

/**
 * A key computed by an effect (a secrets manager, a token exchange). `get` runs it on every call; wrap it in
 * `Effect.cachedWithTTL` if it is expensive. `refresh` is a no-op: the next `get` re-runs it anyway.
 *
 * @since 0.1.0
 * @category layers
 */
export const fromEffect = <E, R>(
  effect: Effect.Effect<Redacted.Redacted<string>, E, R>,
  options?: { readonly source?: string }
): Layer.Layer<Credentials, never, R> =>
  Layer.effect(Credentials, internal.fromEffect(effect, options?.source ?? "effect"))

/**
 * `OPENAI_API_KEY` from the `ConfigProvider` (the environment by default), read once per attempt. The provider
 * is the one in the layer's context when it was built, else the caller's (as with {@link fromEffect}, without
 * copying the context on every read).
 *
 * @since 0.1.0
 * @category layers
 */
export const fromConfig = (
  config: Config.Config<Redacted.Redacted<string>> = Config.Redacted("OPENAI_API_KEY")
): Layer.Layer<Credentials> => Layer.effect(Credentials, internal.fromConfig(config))

/**
 * A key kept in a file (a mounted Kubernetes secret, a file a rotation job rewrites). The file is read again
 * when its modification time, size or inode changes and on `refresh`; its content is trimmed. A missing file, or an
 * empty one before any key was read, fails with `CredentialsUnavailable` naming the path, never the content; a
 * file found empty after a key was read (a rewrite in place caught between truncate and write) keeps the key
 * read before, with a warning, and is read again on the next attempt. The file is read through Effect's
 * `FileSystem` (on Node, `NodeFileSystem.layer` from `@effect/platform-node`).
 *
 * @since 0.1.0
 * @category layers
 */
export const fromFile = (path: string): Layer.Layer<Credentials, never, FileSystem.FileSystem> =>
  Layer.effect(Credentials, internal.fromFile(path))
