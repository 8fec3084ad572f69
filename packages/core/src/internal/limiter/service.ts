/**
 * The body of `RateLimiter.make`: one limiter's state (./limiter.ts) and the service over it; `pause` (a 429
 * closes the gate) and `status` live here, the rest in ./permits.ts and ./observe.ts.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import type * as Scope from "effect/Scope"
import type { InvalidOptions } from "../../Errors.js"
import type { Options, RateLimiter } from "../../RateLimiter.js"
import * as Limiter from "./limiter.js"
import * as MemoryStore from "./memoryStore.js"
import { observe } from "./observe.js"
import { validate } from "./options.js"
import { acquire, settle } from "./permits.js"

const pause = (self: Limiter.Limiter, scope: string, ms: number | undefined) =>
  Effect.gen(function* () {
    // Without a hint the pause is a guess: spread it over ½–1½ × pauseWithoutHintMs, so the job's restarts
    // cannot lock step with another client's periodic requests (decision 0010).
    const guessed = ms === undefined ? self.pauseWithoutHintMs * (0.5 + (yield* Random.next)) : ms
    const duration = Math.min(self.maxPauseMs, Math.max(0, guessed))
    const limits = yield* Limiter.limitsOf(self, scope)
    const now = yield* Clock.currentTimeMillis
    yield* self.store.pause(scope, limits, now + duration, now).pipe(Limiter.logged("close the gate", scope))
    yield* Effect.logWarning("rate limiter: gate closed after 429").pipe(
      Effect.annotateLogs({ scope, pauseMs: duration })
    )
  })

const status = (self: Limiter.Limiter, scope: string) =>
  Effect.flatMap(Limiter.limitsOf(self, scope), (limits) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => self.store.status(scope, limits, now))
  )

export const make = (options: Options): Effect.Effect<RateLimiter["Service"], InvalidOptions, Scope.Scope> =>
  Effect.gen(function* () {
    yield* Effect.fromResult(validate(options))
    const self = yield* Limiter.make(options, options.store ?? (yield* MemoryStore.make))
    return {
      acquire: (scope, cost) => acquire(self, scope, cost),
      settle: (permit, actualTokens) => settle(self, permit, actualTokens),
      observe: (scope, snapshot, permit) => observe(self, scope, snapshot, permit),
      pause: (scope, ms) => pause(self, scope, ms),
      status: (scope) => status(self, scope)
    }
  })
