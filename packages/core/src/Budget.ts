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
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import type { PlatformError } from "effect/PlatformError"
import type * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import type { BudgetExceeded, InvalidOptions, StoreUnavailable } from "./Errors.js"
import * as FileStore from "./internal/budget/fileStore.js"
import * as MemoryLedger from "./internal/budget/memoryLedger.js"
import * as BudgetOptions from "./internal/budget/options.js"
import * as BudgetService from "./internal/budget/service.js"

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
export class Budget extends Context.Service<
  Budget,
  {
    /** Whether a ceiling applies to the scope (then unknown prices fail closed). */
    readonly enforced: (scope: string) => boolean
    /** Reserves `amount`, released when the `Scope` closes unless settled first. */
    readonly reserve: (
      scope: string,
      amount: Amount
    ) => Effect.Effect<Reservation, BudgetExceeded | StoreUnavailable, Scope.Scope>
    /** Replaces the reservation by the actual charge. Idempotent. A ledger that stays unreachable is logged. */
    readonly settle: (reservation: Reservation, actual: Amount, model?: string) => Effect.Effect<void>
    /** Drops the reservation (the request never reached the server). Idempotent. */
    readonly release: (reservation: Reservation) => Effect.Effect<void>
    readonly spent: (scope: string) => Effect.Effect<Amount, StoreUnavailable>
    /** Ceiling − spent − reserved per unit; `undefined` where no ceiling applies. */
    readonly remaining: (
      scope: string
    ) => Effect.Effect<{ readonly usd?: number; readonly tokens?: number }, StoreUnavailable>
  }
>()("@sluice/core/Budget") {}

/**
 * The running totals of a scope.
 *
 * @since 0.3.0
 * @category models
 */
export interface Totals {
  readonly spentUsd: number
  readonly spentTokens: number
  readonly reservedUsd: number
  readonly reservedTokens: number
}

/**
 * Where the running totals and open reservations live: in this process ({@link memoryLedger}, the default) or
 * shared by every process on one Redis (`@sluice/redis`). Each operation is atomic on its own; each returns the
 * scope's totals after it, for the gauges.
 *
 * @since 0.3.0
 * @category models
 */
export interface Ledger {
  /** Holds the reservation if spent + reserved + it stays within `ceiling`; else holds nothing (`held: false`). */
  readonly reserve: (
    reservation: Reservation,
    ceiling: Ceiling
  ) => Effect.Effect<{ readonly held: boolean; readonly totals: Totals }, StoreUnavailable>
  /** Drops the hold and adds `actual` to spent, once per reservation: `undefined` when already closed. */
  readonly settle: (reservation: Reservation, actual: Amount) => Effect.Effect<Totals | undefined, StoreUnavailable>
  /** Drops the hold: `undefined` when already closed. */
  readonly release: (reservation: Reservation) => Effect.Effect<Totals | undefined, StoreUnavailable>
  readonly totals: (scope: string) => Effect.Effect<Totals, StoreUnavailable>
}

/**
 * The process-local ledger, starting from `charges` (settled before: a JSONL store's content).
 *
 * @since 0.3.0
 * @category stores
 */
export const memoryLedger: (charges?: ReadonlyArray<Charge>) => Ledger = (charges = []) => MemoryLedger.make(charges)

/**
 * Gauge of settled USD per scope.
 *
 * @since 0.1.0
 * @category metrics
 */
export const spentGauge = Metric.gauge("sluice_budget_spent_usd", { description: "Settled spend in USD per scope" })

const reservedDescription = "Reserved worst-case spend of in-flight calls in USD per scope"

/**
 * Gauge of reserved (in-flight, worst case) USD per scope.
 *
 * @since 0.1.0
 * @category metrics
 */
export const reservedGauge = Metric.gauge("sluice_budget_reserved_usd", { description: reservedDescription })

/**
 * A store that keeps nothing beyond the process.
 *
 * @since 0.1.0
 * @category stores
 */
export const memoryStore: Store = { load: Effect.succeed([]), append: () => Effect.void }

/**
 * The budget over a ledger: the process's own by default (from the charges in `store`), or a shared one.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options,
  store: Store = memoryStore,
  ledger?: Ledger
): Effect.Effect<Budget["Service"], InvalidOptions> => BudgetService.build(options, store, ledger)

/**
 * An append-only JSONL file of settled charges. On start the file is summed; a torn last line (a crash mid-write)
 * is cut off so the next append starts on a fresh line.
 *
 * @since 0.1.0
 * @category stores
 */
export const makeFileStore: (path: string) => Effect.Effect<Store, PlatformError, FileSystem.FileSystem> =
  FileStore.make

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
export const validate: (options: Options, prefix?: string) => Result.Result<Options, InvalidOptions> =
  BudgetOptions.validate

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
