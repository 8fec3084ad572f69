/**
 * What the client (`OpenAi`) uses of the transport: the `Transport` of the context, or undici from its
 * configuration; the body reader under the size cap; header lookup. The transports themselves live in
 * `internal/transport/` behind the public `Transport` module.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { Resolved } from "../OpenAiConfig.js"
import { Transport as TransportService } from "../Transport.js"
import * as Undici from "./transport/lazyUndici.js"

export type { Part, Request as WireRequest, Response as WireResponse, SendOptions } from "../Transport.js"
export { encodeMultipart } from "./transport/attempt.js"
export { readBody } from "./transport/body.js"
export { make } from "./transport/lazyUndici.js"

/** @internal */
export type Transport = TransportService["Service"]

/**
 * The `Transport` in the context; without one, undici with `config`'s pool, proxy and `allowInsecure` (its
 * agents live as long as the scope), loaded only then (`transport/lazyUndici.ts`).
 *
 * @internal
 */
export const fromContext = (config: Resolved): Effect.Effect<TransportService["Service"], never, Scope.Scope> =>
  Effect.flatMap(Effect.serviceOption(TransportService), (found) =>
    Option.isSome(found) ? Effect.succeed(found.value) : Undici.fromConfig(config)
  )

/** @internal */
export const header = (headers: Readonly<Record<string, string>>, name: string): string | undefined => headers[name]
