/**
 * The bodies of `Credentials`: fingerprints, a source read on every attempt, and the key file that is read again
 * when it changes.
 *
 * @internal
 */
import { createHash } from "node:crypto"
import type * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import type { PlatformError } from "effect/PlatformError"
import * as Redacted from "effect/Redacted"
import * as SynchronizedRef from "effect/SynchronizedRef"
import type { ApiKey, Credentials } from "../Credentials.js"
import { CredentialsUnavailable } from "../Errors.js"

/** @internal */
export const fingerprint = (key: Redacted.Redacted<string>): string =>
  `sha256:${createHash("sha256").update(Redacted.value(key)).digest("hex").slice(0, 12)}`

/** @internal */
export const apiKey = (key: Redacted.Redacted<string>): ApiKey => ({ key, keyId: fingerprint(key) })

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

/** The service of a source read on every attempt; `refresh` reads it once more. */
const everyAttempt = <E, R>(read: Effect.Effect<Redacted.Redacted<string>, E, R>, source: string) => {
  const get = readEvery(read, source)
  return { get, refresh: Effect.asVoid(Effect.result(get)) }
}

/** @internal */
export const fromEffect = <E, R>(
  effect: Effect.Effect<Redacted.Redacted<string>, E, R>,
  source: string
): Effect.Effect<Credentials["Service"], never, R> =>
  Effect.map(Effect.context<R>(), (context) => everyAttempt(Effect.provide(effect, context), source))

/** @internal */
export const fromConfig = (config: Config.Config<Redacted.Redacted<string>>): Effect.Effect<Credentials["Service"]> =>
  Effect.map(Effect.context<never>(), (context) => {
    const provider = Context.getOrUndefined(context, ConfigProvider.ConfigProvider)
    // `parse` looks the value up when it is called, not when its effect runs: suspended, so every get reads it.
    const read = provider === undefined ? config : Effect.suspend(() => config.parse(provider))
    return everyAttempt(read, "config OPENAI_API_KEY")
  })

interface FileState {
  /** The file's modification time, size and inode: a rename over it (the way to rotate) changes the inode. */
  readonly stamp: string
  readonly key: ApiKey
}

/** @internal */
export const fromFile = (path: string): Effect.Effect<Credentials["Service"], never, FileSystem.FileSystem> =>
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
