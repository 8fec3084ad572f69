/**
 * Where the API key comes from. The client reads `get` on every attempt (so a rotated key is picked up by
 * the next attempt) and calls `refresh` once after a 401. Keys stay `Redacted` end to end; `keyId` is a
 * short SHA-256 fingerprint that is safe to log and to use as a limiter scope.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as SynchronizedRef from "effect/SynchronizedRef"
import type { PlatformError } from "effect/PlatformError"
import { CredentialsUnavailable } from "./Errors.js"

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
export const fingerprint = (key: Redacted.Redacted<string>): string =>
  `sha256:${createHash("sha256").update(Redacted.value(key)).digest("hex").slice(0, 12)}`

/**
 * Wraps a key with its fingerprint.
 *
 * @since 0.1.0
 * @category constructors
 */
export const apiKey = (key: Redacted.Redacted<string>): ApiKey => ({ key, keyId: fingerprint(key) })

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
 * The `get` of a source read on every call: fails on an empty key, and fingerprints a key only when it differs
 * from the last one read (the same key read again returns the `ApiKey` made for it, so a per-attempt read of an
 * unchanged key does no SHA-256; a rotated key is fingerprinted on its first read).
 */
const readEvery = <E, R>(
  read: Effect.Effect<Redacted.Redacted<string>, E, R>,
  source: string
): Effect.Effect<ApiKey, CredentialsUnavailable, R> => {
  let last: ApiKey | undefined
  return read.pipe(
    Effect.mapError(() => new CredentialsUnavailable({ source, message: `could not read the API key from ${source}` })),
    Effect.flatMap((key) => {
      const value = Redacted.value(key)
      if (last !== undefined && Redacted.value(last.key) === value) return Effect.succeed(last)
      if (value.trim().length === 0) {
        return Effect.fail(new CredentialsUnavailable({ source, message: `the API key from ${source} is empty` }))
      }
      last = apiKey(key)
      return Effect.succeed(last)
    })
  )
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
  Layer.effect(
    Credentials,
    Effect.map(Effect.context<R>(), (context) => {
      const get = readEvery(Effect.provide(effect, context), options?.source ?? "effect")
      return { get, refresh: Effect.asVoid(Effect.result(get)) }
    })
  )

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
): Layer.Layer<Credentials> =>
  Layer.effect(
    Credentials,
    Effect.map(Effect.context<never>(), (context) => {
      const provider = Context.getOrUndefined(context, ConfigProvider.ConfigProvider)
      // `parse` looks the value up when it is called, not when its effect runs: suspended, so every get reads it.
      const read = provider === undefined ? config : Effect.suspend(() => config.parse(provider))
      const get = readEvery(read, "config OPENAI_API_KEY")
      return { get, refresh: Effect.asVoid(Effect.result(get)) }
    })
  )

interface FileState {
  /** The file's modification time, size and inode: a rename over it (the way to rotate) changes the inode. */
  readonly stamp: string
  readonly key: ApiKey
}

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
  Layer.effect(
    Credentials,
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const state = yield* SynchronizedRef.make<FileState | undefined>(undefined)
      const source = `file ${path}`
      const unavailable = (error: PlatformError | string) =>
        new CredentialsUnavailable({
          source,
          message: `could not read the API key from ${path}: ${typeof error === "string" ? error : error.reason._tag}`
        })
      const stat = Effect.mapError(fs.stat(path), unavailable)
      const read = (stamp: string) =>
        Effect.mapError(fs.readFileString(path), unavailable).pipe(
          Effect.flatMap((text) => {
            const trimmed = text.trim()
            return trimmed.length === 0
              ? Effect.fail(unavailable("the file is empty"))
              : Effect.succeed<FileState>({ stamp, key: apiKey(Redacted.make(trimmed)) })
          })
        )
      const load = (force: boolean) =>
        SynchronizedRef.modifyEffect(state, (current) =>
          Effect.flatMap(stat, (stats) => {
            const mtime = Option.getOrUndefined(stats.mtime)?.getTime()
            const stamp = `${mtime}:${stats.size}:${Option.getOrUndefined(stats.ino)}`
            if (!force && current !== undefined && current.stamp === stamp) {
              return Effect.succeed([current.key, current] as const)
            }
            // A rewrite in place (truncate, then write) leaves the file empty for a moment: with a key already
            // read, keep using it (the next attempt reads the file again) rather than stop the caller.
            if (Number(stats.size) === 0 && current !== undefined) {
              return Effect.as(
                Effect.logWarning(`the key file ${path} is empty; keeping the key read before until it has content`),
                [current.key, current] as const
              )
            }
            return Effect.map(read(stamp), (next) => [next.key, next] as const)
          })
        )
      return { get: load(false), refresh: Effect.asVoid(load(true)) }
    })
  )
