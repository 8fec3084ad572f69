/**
 * The breaker's default store: fuses in this process, no shared opening.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { Store } from "../../CircuitBreaker.js"

export const memoryStore = (): Store => {
  const fuses = new Map<string, string>()
  return {
    read: (key) => Effect.sync(() => ({ fuse: fuses.get(key) })),
    blow: (key, reason) =>
      Effect.sync(() => {
        if (fuses.has(key)) return false
        fuses.set(key, reason)
        return true
      }),
    open: () => Effect.void,
    clear: (key) => Effect.sync(() => void fuses.delete(key))
  }
}
