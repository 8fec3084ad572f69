/**
 * Spending ceilings. Before a request is sent its worst-case cost (estimated prompt + maximum output, priced)
 * is reserved; if spent + reserved + this request would cross the ceiling the call fails with
 * `BudgetExceeded` and nothing is sent. Afterwards the reservation is settled to the actual cost from the
 * response's usage, or released when the request never reached the server. Reservations are scoped: closing
 * the call's `Scope` without settling releases it, so interruption never leaks budget.
 *
 * Ceilings are in USD and, optionally, tokens, per scope (one `"global"` scope by default). Settled charges go
 * to a store: memory, or an append-only JSONL file that is summed on start so a resumed job keeps its spend.
 *
 * @since 0.1.0
 */
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Clock, Context, Effect, Either, Layer, Metric, Ref } from "effect"
import type * as Scope from "effect/Scope"
import { BudgetExceeded, type InvalidOptions } from "./Errors.js"
import * as Check from "./internal/options.js"

/**
 * An amount of spend.
 *
 * @since 0.1.0
 * @category models
 */
export interface Amount {
  readonly usd: number
  readonly tokens: number
}

/**
 * A ceiling; an absent field is not limited.
 *
 * @since 0.1.0
 * @category models
 */
export interface Ceiling {
  readonly usd?: number
  readonly tokens?: number
}

/**
 * A reservation held for one call.
 *
 * @since 0.1.0
 * @category models
 */
export interface Reservation extends Amount {
  readonly id: number
  readonly scope: string
}

/**
 * One settled charge, as stored.
 *
 * @since 0.1.0
 * @category models
 */
export interface Charge extends Amount {
  readonly at: number
  readonly scope: string
  readonly model?: string
}

/**
 * Where settled charges are kept.
 *
 * @since 0.1.0
 * @category models
 */
export interface Store {
  /** Every charge settled before (summed on start). */
  readonly load: Effect.Effect<ReadonlyArray<Charge>>
  readonly append: (charge: Charge) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** USD ceiling of the `"global"` scope (and of any scope without its own entry in `ceilings`). */
  readonly ceilingUsd?: number
  /** Token ceiling, likewise. */
  readonly ceilingTokens?: number
  /** Ceilings for named scopes. */
  readonly ceilings?: Readonly<Record<string, Ceiling>>
}

/**
 * The budget.
 *
 * @since 0.1.0
 * @category services
 */
export class Budget extends Context.Tag("@sluice/core/Budget")<
  Budget,
  {
    /** Whether a ceiling applies to the scope (then unknown prices fail closed). */
    readonly enforced: (scope: string) => boolean
    /** Reserves `amount`, released when the `Scope` closes unless settled first. */
    readonly reserve: (scope: string, amount: Amount) => Effect.Effect<Reservation, BudgetExceeded, Scope.Scope>
    /** Replaces the reservation by the actual charge. Idempotent. */
    readonly settle: (reservation: Reservation, actual: Amount, model?: string) => Effect.Effect<void>
    /** Drops the reservation (the request never reached the server). Idempotent. */
    readonly release: (reservation: Reservation) => Effect.Effect<void>
    readonly spent: (scope: string) => Effect.Effect<Amount>
    /** Ceiling − spent − reserved per unit; `undefined` where no ceiling applies. */
    readonly remaining: (scope: string) => Effect.Effect<{ readonly usd?: number; readonly tokens?: number }>
  }
>() {}

interface Ledger {
  readonly spentUsd: number
  readonly spentTokens: number
  readonly reservedUsd: number
  readonly reservedTokens: number
}

const emptyLedger: Ledger = { spentUsd: 0, spentTokens: 0, reservedUsd: 0, reservedTokens: 0 }

/**
 * Gauge of settled USD per scope.
 *
 * @since 0.1.0
 * @category metrics
 */
export const spentGauge = Metric.gauge("sluice_budget_spent_usd", { description: "Settled spend in USD per scope" })

/**
 * Gauge of reserved (in-flight, worst case) USD per scope.
 *
 * @since 0.1.0
 * @category metrics
 */
export const reservedGauge = Metric.gauge("sluice_budget_reserved_usd", {
  description: "Reserved worst-case spend of in-flight calls in USD per scope"
})

/**
 * A store that keeps nothing beyond the process.
 *
 * @since 0.1.0
 * @category stores
 */
export const memoryStore: Store = { load: Effect.succeed([]), append: () => Effect.void }

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options, store: Store = memoryStore): Effect.Effect<Budget["Type"], InvalidOptions> =>
  Effect.gen(function* () {
    yield* validate(options)
    const ceilingOf = (scope: string): Ceiling =>
      options.ceilings?.[scope] ?? {
        ...(options.ceilingUsd === undefined ? {} : { usd: options.ceilingUsd }),
        ...(options.ceilingTokens === undefined ? {} : { tokens: options.ceilingTokens })
      }
    const initial = new Map<string, Ledger>()
    for (const charge of yield* store.load) {
      const ledger = initial.get(charge.scope) ?? emptyLedger
      initial.set(charge.scope, {
        ...ledger,
        spentUsd: ledger.spentUsd + charge.usd,
        spentTokens: ledger.spentTokens + charge.tokens
      })
    }
    const ledgers = yield* Ref.make(initial)
    const open = yield* Ref.make(new Map<number, Reservation>())
    const nextId = yield* Ref.make(0)

    // The gauges of a scope, tagged once (tagging builds a new metric key, hashed on every update).
    const gauges = new Map<string, { readonly spent: typeof spentGauge; readonly reserved: typeof reservedGauge }>()
    const gaugesOf = (scope: string) => {
      let tagged = gauges.get(scope)
      if (tagged === undefined) {
        tagged = {
          spent: spentGauge.pipe(Metric.tagged("scope", scope)),
          reserved: reservedGauge.pipe(Metric.tagged("scope", scope))
        }
        gauges.set(scope, tagged)
      }
      return tagged
    }
    const meter = (scope: string) =>
      Effect.flatMap(Ref.get(ledgers), (map) => {
        const ledger = map.get(scope) ?? emptyLedger
        const tagged = gaugesOf(scope)
        return Effect.zipRight(
          Metric.update(tagged.spent, ledger.spentUsd),
          Metric.update(tagged.reserved, ledger.reservedUsd)
        )
      })

    // Both maps are only touched inside `Ref.modify` / `Ref.update` (synchronous, one fiber at a time), so they
    // are updated in place: no copy per call, which with many calls in flight would cost O(n) each.
    const updateLedger = (scope: string, f: (ledger: Ledger) => Ledger) =>
      Ref.update(ledgers, (map) => map.set(scope, f(map.get(scope) ?? emptyLedger)))

    /** Removes an open reservation; `false` when it was already settled or released. */
    const close = (reservation: Reservation) => Ref.modify(open, (map) => [map.delete(reservation.id), map] as const)

    const release = (reservation: Reservation) =>
      Effect.gen(function* () {
        if (!(yield* close(reservation))) return
        yield* updateLedger(reservation.scope, (l) => ({
          ...l,
          reservedUsd: l.reservedUsd - reservation.usd,
          reservedTokens: l.reservedTokens - reservation.tokens
        }))
        yield* meter(reservation.scope)
      })

    const settle = (reservation: Reservation, actual: Amount, model?: string) =>
      Effect.gen(function* () {
        if (!(yield* close(reservation))) return
        yield* updateLedger(reservation.scope, (l) => ({
          spentUsd: l.spentUsd + actual.usd,
          spentTokens: l.spentTokens + actual.tokens,
          reservedUsd: l.reservedUsd - reservation.usd,
          reservedTokens: l.reservedTokens - reservation.tokens
        }))
        const at = yield* Clock.currentTimeMillis
        yield* store.append({
          at,
          scope: reservation.scope,
          usd: actual.usd,
          tokens: actual.tokens,
          ...(model === undefined ? {} : { model })
        })
        yield* meter(reservation.scope)
      })

    const reserve = (scope: string, amount: Amount) =>
      Effect.gen(function* () {
        const ceiling = ceilingOf(scope)
        const id = yield* Ref.getAndUpdate(nextId, (n) => n + 1)
        const reservation: Reservation = { id, scope, usd: amount.usd, tokens: amount.tokens }
        const refused = yield* Effect.uninterruptible(
          Effect.gen(function* () {
            const verdict = yield* Ref.modify(ledgers, (map) => {
              const l = map.get(scope) ?? emptyLedger
              if (ceiling.usd !== undefined && l.spentUsd + l.reservedUsd + amount.usd > ceiling.usd + 1e-12) {
                return [
                  new BudgetExceeded({
                    scope,
                    unit: "usd",
                    ceiling: ceiling.usd,
                    spent: l.spentUsd,
                    reserved: l.reservedUsd,
                    requested: amount.usd
                  }),
                  map
                ] as const
              }
              if (ceiling.tokens !== undefined && l.spentTokens + l.reservedTokens + amount.tokens > ceiling.tokens) {
                return [
                  new BudgetExceeded({
                    scope,
                    unit: "tokens",
                    ceiling: ceiling.tokens,
                    spent: l.spentTokens,
                    reserved: l.reservedTokens,
                    requested: amount.tokens
                  }),
                  map
                ] as const
              }
              const next = map.set(scope, {
                ...l,
                reservedUsd: l.reservedUsd + amount.usd,
                reservedTokens: l.reservedTokens + amount.tokens
              })
              return [undefined, next] as const
            })
            if (verdict !== undefined) return verdict
            yield* Ref.update(open, (map) => map.set(id, reservation))
            yield* Effect.addFinalizer(() => release(reservation))
            return undefined
          })
        )
        if (refused !== undefined) return yield* refused
        yield* meter(scope)
        return reservation
      })

    const spent = (scope: string) =>
      Effect.map(Ref.get(ledgers), (map) => {
        const l = map.get(scope) ?? emptyLedger
        return { usd: l.spentUsd, tokens: l.spentTokens }
      })

    const remaining = (scope: string) =>
      Effect.map(Ref.get(ledgers), (map) => {
        const l = map.get(scope) ?? emptyLedger
        const ceiling = ceilingOf(scope)
        return {
          ...(ceiling.usd === undefined ? {} : { usd: Math.max(0, ceiling.usd - l.spentUsd - l.reservedUsd) }),
          ...(ceiling.tokens === undefined
            ? {}
            : { tokens: Math.max(0, ceiling.tokens - l.spentTokens - l.reservedTokens) })
        }
      })

    const enforced = (scope: string) => {
      const ceiling = ceilingOf(scope)
      return ceiling.usd !== undefined || ceiling.tokens !== undefined
    }

    return Budget.of({ enforced, reserve, settle, release, spent, remaining })
  })

const isCharge = (value: unknown): value is Charge => {
  if (typeof value !== "object" || value === null) return false
  const c = value as Record<string, unknown>
  return typeof c["scope"] === "string" && typeof c["usd"] === "number" && typeof c["tokens"] === "number"
}

/**
 * An append-only JSONL file of settled charges. On start the file is summed; a torn last line (a crash mid-write)
 * is cut off so the next append starts on a fresh line.
 *
 * @since 0.1.0
 * @category stores
 */
export const makeFileStore = (path: string): Effect.Effect<Store, PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const lock = yield* Effect.makeSemaphore(1)
    const charges: Array<Charge> = []
    if (yield* fs.exists(path)) {
      const text = yield* fs.readFileString(path)
      const end = text.lastIndexOf("\n") + 1
      if (end < text.length) {
        yield* Effect.logWarning("budget file: dropping a torn last line").pipe(Effect.annotateLogs({ path }))
        yield* fs.truncate(path, Buffer.byteLength(text.slice(0, end)))
      }
      for (const line of text.slice(0, end).split("\n")) {
        if (line.trim().length === 0) continue
        try {
          const parsed: unknown = JSON.parse(line)
          if (isCharge(parsed)) charges.push(parsed)
        } catch {
          yield* Effect.logWarning("budget file: skipping an unreadable line").pipe(Effect.annotateLogs({ path }))
        }
      }
    }
    return {
      load: Effect.succeed(charges),
      append: (charge) =>
        lock.withPermits(1)(
          fs
            .writeFileString(path, `${JSON.stringify(charge)}\n`, { flag: "a" })
            .pipe(
              Effect.catchAll((error) =>
                Effect.logError("budget file: could not append a charge").pipe(
                  Effect.annotateLogs({ path, error: error.message })
                )
              )
            )
        )
    }
  })

/**
 * A budget in memory.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Budget, InvalidOptions> => Layer.effect(Budget, make(options))

/**
 * Checks the options: every ceiling (`ceilingUsd`, `ceilingTokens`, each of `ceilings`) is a finite number ≥ 0
 * (0 refuses every request with `BudgetExceeded`; a negative or NaN ceiling is a mistake, not a budget). `prefix`
 * is how the caller names them (`budget` in `Gates.layerDefaults`).
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (options: Options, prefix = "budget"): Either.Either<Options, InvalidOptions> => {
  const problem = Check.first(
    Check.number(`${prefix}.ceilingUsd`, options.ceilingUsd, { atLeast: 0 }),
    Check.number(`${prefix}.ceilingTokens`, options.ceilingTokens, { atLeast: 0 }),
    ...Object.entries(options.ceilings ?? {}).flatMap(([scope, ceiling]) => [
      Check.number(`${prefix}.ceilings.${scope}.usd`, ceiling.usd, { atLeast: 0 }),
      Check.number(`${prefix}.ceilings.${scope}.tokens`, ceiling.tokens, { atLeast: 0 })
    ])
  )
  return problem === undefined ? Either.right(options) : Either.left(problem)
}

/**
 * A budget whose settled charges are appended to `path` (JSONL) and summed on start.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFile = (
  path: string,
  options: Options
): Layer.Layer<Budget, PlatformError | InvalidOptions, FileSystem.FileSystem> =>
  Layer.effect(
    Budget,
    Effect.flatMap(makeFileStore(path), (store) => make(options, store))
  )
