/**
 * The undici transport, loaded on first use: nothing that imports `@sluice/core` loads undici (about 110 modules,
 * 0.7 MB minified) until a client builds the undici transport. A program on `Transport.layerFetch()` never loads
 * it, and a bundler puts it in a chunk of its own, which such a bundle never reads.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Resolved } from "../../OpenAiConfig.js"
import type { Transport } from "../../Transport.js"
import type { Settings } from "./undici.js"

const load = Effect.promise(() => import("./undici.js"))

/**
 * undici with `settings` (its agents live as long as the scope).
 *
 * @internal
 */
export const make = (settings: Settings): Effect.Effect<Transport["Service"], never, Scope.Scope> =>
  Effect.flatMap(load, (undici) => undici.make(settings))

/**
 * undici with `config`'s pool, proxy and `allowInsecure`.
 *
 * @internal
 */
export const fromConfig = (config: Resolved): Effect.Effect<Transport["Service"], never, Scope.Scope> =>
  Effect.flatMap(load, (undici) => undici.make(undici.settingsOf(config)))
