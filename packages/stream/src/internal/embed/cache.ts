/**
 * The embeddings cache: one SQLite database (Node's built-in `node:sqlite`) with a table of
 * `model · dimensions · sha256(text)` → float32 bytes. Lookups are prepared primary-key reads; writes are grouped
 * into one transaction per turn of the event loop. WAL journal, `synchronous = NORMAL`: a committed write survives
 * the process being killed. SQLite reads through a bounded page cache (no memory map), so the process's memory
 * does not grow with the store (LMDB's map did: +250 MB RSS for 50 MB of vectors; decision 0008).
 *
 * @internal
 */
import { hash } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import type { DatabaseSync } from "node:sqlite"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/** @internal */
export interface Store {
  readonly path: string
  readonly has: (key: Key) => boolean
  readonly get: (key: Key) => Float32Array | undefined
  /** Resolves once the write is committed (visible to `get`, and on disk for the OS). */
  readonly put: (key: Key, vector: Float32Array) => Promise<void>
}

/**
 * The key of one text: model, dimensions (0 = the model's own) and the text's SHA-256.
 *
 * @internal
 */
export const keyOf = (model: string, dimensions: number | undefined, text: string): Key => ({
  model,
  dimensions: dimensions ?? 0,
  // one-shot: no Hash object per text
  hash: hash("sha256", text, "buffer")
})

/** @internal */
export interface Key {
  readonly model: string
  /** 0: the model's own. */
  readonly dimensions: number
  /** SHA-256 of the text. */
  readonly hash: Uint8Array
}

/** A key as one string, for maps. @internal */
export const idOf = (key: Key): string =>
  `${key.model}\u0000${key.dimensions}\u0000${Buffer.from(key.hash).toString("base64")}`

/**
 * The page cache: 4 MiB (a negative `cache_size` is KiB). It fills once the store is larger and stays resident for
 * the run; 16 MiB until session 4, with no measured difference in CPU at 100,000 documents (decision 0013).
 */
const cacheKiB = 4 * 1024

interface Pending {
  readonly key: Key
  readonly bytes: Uint8Array
  readonly done: () => void
  readonly fail: (error: unknown) => void
}

const wrap = (path: string, db: DatabaseSync): Store & { readonly close: () => Promise<void> } => {
  const where = "model = ? AND dimensions = ? AND hash = ?"
  const has = db.prepare(`SELECT 1 AS hit FROM vectors WHERE ${where}`)
  const get = db.prepare(`SELECT vector FROM vectors WHERE ${where}`)
  const put = db.prepare("INSERT OR REPLACE INTO vectors (model, dimensions, hash, vector) VALUES (?, ?, ?, ?)")
  let pending: Array<Pending> = []
  let scheduled: Promise<void> | undefined
  const flush = () => {
    const batch = pending
    pending = []
    scheduled = undefined
    try {
      db.exec("BEGIN")
      for (const { key, bytes } of batch) put.run(key.model, key.dimensions, key.hash, bytes)
      db.exec("COMMIT")
      for (const write of batch) write.done()
    } catch (error) {
      if (db.isTransaction) db.exec("ROLLBACK")
      for (const write of batch) write.fail(error)
    }
  }
  return {
    path,
    has: (key) => has.get(key.model, key.dimensions, key.hash) !== undefined,
    get: (key) => {
      const row = get.get(key.model, key.dimensions, key.hash) as { vector?: Uint8Array } | undefined
      const bytes = row?.vector
      if (bytes === undefined || bytes.length % 4 !== 0) return undefined
      // the row's bytes are a fresh copy of the blob: the vector is a view of them when they are aligned
      if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)
      const vector = new Float32Array(bytes.length / 4)
      new Uint8Array(vector.buffer).set(bytes)
      return vector
    },
    put: (key, vector) =>
      new Promise<void>((done, fail) => {
        pending.push({ key, bytes: new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength), done, fail })
        scheduled ??= new Promise<void>((resolve) =>
          setImmediate(() => {
            flush()
            resolve()
          })
        )
      }),
    close: async () => {
      if (scheduled !== undefined) await scheduled
      if (pending.length > 0) flush()
      db.close()
    }
  }
}

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
        // Loaded here, not at the top: @sluice/stream's other modules do not need SQLite.
        const { DatabaseSync } = await import("node:sqlite")
        const path = Path.join(dir, "embeddings.sqlite")
        const db = new DatabaseSync(path)
        db.exec(
          // A rowid table with a separate key index: lookups walk the compact index, not pages of vectors.
          `PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
           PRAGMA cache_size = -${cacheKiB};
           CREATE TABLE IF NOT EXISTS vectors (
             model TEXT NOT NULL, dimensions INTEGER NOT NULL, hash BLOB NOT NULL, vector BLOB NOT NULL,
             UNIQUE (model, dimensions, hash))`
        )
        return wrap(dir, db)
      },
      catch: (error) => (error instanceof Error ? error.message : String(error))
    }),
    (store) => Effect.promise(() => store.close())
  )

/**
 * A store for one run only (in-run deduplication without a cache), removed when the scope closes.
 *
 * @internal
 */
export const temporary: Effect.Effect<Store, string, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "sluice-embed-"))),
  (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
).pipe(Effect.flatMap(open_))
