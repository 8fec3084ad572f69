/**
 * The body of `Tokens.make`: the exact counter, or (by default) the UTF-8 byte bound for estimates with the exact
 * counter kept for `count`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { Options, Tokens } from "../Tokens.js"
import * as Internal from "./tokenizer.js"

/** @internal */
export const make = (options: Options): Effect.Effect<Tokens["Service"]> =>
  Effect.map(
    Internal.makeExact({
      defaultMaxOutputTokens: options.defaultMaxOutputTokens ?? 4096,
      cacheCapacity: options.cacheCapacity ?? 1024,
      cacheMinLength: options.cacheMinLength ?? 256
    }),
    (exact) => {
      if (options.exact === true) return exact
      const defaultMaxOutputTokens = options.defaultMaxOutputTokens ?? 4096
      return {
        count: exact.count,
        estimate: (request) => Effect.sync(() => Internal.estimateBound(request, defaultMaxOutputTokens))
      }
    }
  )
