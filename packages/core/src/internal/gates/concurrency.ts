/**
 * The body of `Concurrency`: a global `Semaphore` and, with `perScope`, one per scope; both resizable.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as SynchronizedRef from "effect/SynchronizedRef"
import type { Concurrency, Options } from "../../Concurrency.js"
import type { InvalidOptions } from "../../Errors.js"
import * as Check from "../options.js"

export const validate = (options: Options, prefix = "concurrency"): Result.Result<Options, InvalidOptions> => {
  const problem = Check.first(
    Check.integer(`${prefix}.permits`, options.permits, 1),
    Check.integer(`${prefix}.perScope`, options.perScope, 1)
  )
  return problem === undefined ? Result.succeed(options) : Result.fail(problem)
}

interface Gate {
  readonly state: SynchronizedRef.SynchronizedRef<{ readonly permits: number; readonly perScope: number | undefined }>
  readonly global: Semaphore.Semaphore
  readonly scopes: SynchronizedRef.SynchronizedRef<Map<string, Semaphore.Semaphore>>
}

/** The scope's own semaphore (made on first use), or `undefined` without a per-scope limit. */
const scopeSemaphore = (gate: Gate, scope: string): Effect.Effect<Semaphore.Semaphore | undefined> =>
  Effect.flatMap(SynchronizedRef.get(gate.state), ({ perScope }) =>
    perScope === undefined
      ? Effect.succeed(undefined)
      : SynchronizedRef.modifyEffect(gate.scopes, (map) => {
          const existing = map.get(scope)
          if (existing !== undefined) return Effect.succeed([existing, map] as const)
          return Effect.map(Semaphore.make(perScope), (fresh) => [fresh, new Map(map).set(scope, fresh)] as const)
        })
  )

// Waiting is interruptible; once taken, the release is registered before anything can interrupt
// (`takeScoped`), so a permit can never leak. Without a per-scope limit (the default) an attempt takes the global
// permit alone, and the state is read in place rather than through an effect of its own (decision 0014).
const acquire = (gate: Gate, scope: string): Effect.Effect<void, never, Scope.Scope> =>
  Effect.suspend(() =>
    SynchronizedRef.getUnsafe(gate.state).perScope === undefined
      ? gate.global.takeScoped(1)
      : Effect.andThen(gate.global.takeScoped(1), takeOwn(gate, scope))
  )

const takeOwn = (gate: Gate, scope: string): Effect.Effect<void, never, Scope.Scope> =>
  Effect.flatMap(scopeSemaphore(gate, scope), (own) => (own === undefined ? Effect.void : own.takeScoped(1)))

const resize = (gate: Gate, permits: number) =>
  Effect.andThen(
    Effect.fromResult(validate({ permits })),
    SynchronizedRef.updateEffect(gate.state, (s) => Effect.as(gate.global.resize(permits), { ...s, permits }))
  )

const resizePerScope = (gate: Gate, permits: number) =>
  Effect.andThen(
    Effect.fromResult(validate({ perScope: permits })),
    SynchronizedRef.updateEffect(gate.state, (s) =>
      Effect.flatMap(SynchronizedRef.get(gate.scopes), (map) =>
        Effect.as(
          Effect.forEach(map.values(), (semaphore) => semaphore.resize(permits), { discard: true }),
          { ...s, perScope: permits }
        )
      )
    )
  )

export const make = (options: Options): Effect.Effect<Concurrency["Service"], InvalidOptions> =>
  Effect.gen(function* () {
    yield* Effect.fromResult(validate(options))
    const gate: Gate = {
      state: yield* SynchronizedRef.make({ permits: options.permits ?? 64, perScope: options.perScope }),
      global: yield* Semaphore.make(options.permits ?? 64),
      scopes: yield* SynchronizedRef.make(new Map<string, Semaphore.Semaphore>())
    }
    return {
      acquire: (scope) => acquire(gate, scope),
      withPermit:
        (scope) =>
        <A, E, R>(self: Effect.Effect<A, E, R>) =>
          Effect.scoped(Effect.andThen(acquire(gate, scope), self)),
      resize: (permits) => resize(gate, permits),
      resizePerScope: (permits) => resizePerScope(gate, permits),
      permits: Effect.map(SynchronizedRef.get(gate.state), (s) => s.permits)
    }
  })
