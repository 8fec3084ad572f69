/**
 * The embeddings cache: an LMDB environment (memory-mapped B+tree, one file) of `model · dimensions · sha256(text)`
 * → float32 bytes. Reads are synchronous map lookups; writes are batched into transactions by lmdb-js.
 *
 * @internal
 */
import { createHash } from "node:crypto"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Fs from "node:fs/promises"
import { Effect, type Scope } from "effect"
import type { RootDatabase } from "lmdb"

/** @internal */
export interface Store {
  readonly path: string
  readonly has: (key: string) => boolean
  readonly get: (key: string) => Float32Array | undefined
  /** Resolves once the write is committed (visible to `get`). */
  readonly put: (key: string, vector: Float32Array) => Promise<unknown>
}

/**
 * The key of one text: model, dimensions (0 = the model's own) and the text's SHA-256.
 *
 * @internal
 */
export const keyOf = (model: string, dimensions: number | undefined, text: string): string =>
  `${model}\u0000${dimensions ?? 0}\u0000${createHash("sha256").update(text).digest("base64url")}`

const wrap = (path: string, db: RootDatabase<Buffer, string>): Store => ({
  path,
  has: (key) => db.doesExist(key),
  get: (key) => {
    const bytes = db.getBinary(key)
    if (bytes === undefined || bytes.length % 4 !== 0) return undefined
    const vector = new Float32Array(bytes.length / 4)
    new Uint8Array(vector.buffer).set(bytes)
    return vector
  },
  put: (key, vector) => db.put(key, Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength))
})

/**
 * Opens (creates) the store in `dir`; closed, after its pending writes, when the scope closes.
 *
 * @internal
 */
export const open_ = (dir: string): Effect.Effect<Store, string, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        await Fs.mkdir(dir, { recursive: true })
        // Loaded here, not at the top: @sluice/stream's other modules should not load a native addon.
        const { open } = await import("lmdb")
        return open<Buffer, string>({ path: Path.join(dir, "embeddings.mdb"), encoding: "binary", compression: false })
      },
      catch: (error) => (error instanceof Error ? error.message : String(error))
    }),
    (db) => Effect.promise(() => db.close())
  ).pipe(Effect.map((db) => wrap(dir, db)))

/**
 * A store for one run only (in-run deduplication without a cache), removed when the scope closes.
 *
 * @internal
 */
export const temporary: Effect.Effect<Store, string, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "sluice-embed-"))),
  (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
).pipe(Effect.flatMap(open_))
