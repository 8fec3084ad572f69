/**
 * The breaker's default store: fuses in this process, no shared opening.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { Shared, Store } from "../../CircuitBreaker.js"

/** The memory store's read as a plain function (the breaker calls it directly for its own store). */
export interface SyncStore {
  readonly read: (key: string) => Shared
}

const syncStores = new WeakMap<Store, SyncStore>()

/** The synchronous read of `store` when it is a memory store, else `undefined` (a shared store). */
export const syncOf = (store: Store): SyncStore | undefined => syncStores.get(store)

export const memoryStore = (): Store => {
  const fuses = new Map<string, string>()
  const sync: SyncStore = { read: (key) => ({ fuse: fuses.get(key) }) }
  const store: Store = {
    read: (key) => Effect.sync(() => sync.read(key)),
    blow: (key, reason) =>
      Effect.sync(() => {
        if (fuses.has(key)) return false
        fuses.set(key, reason)
        return true
      }),
    open: () => Effect.void,
    clear: (key) => Effect.sync(() => void fuses.delete(key))
  }
  syncStores.set(store, sync)
  return store
}
