import * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type * as Scope from "effect/Scope"
import type { Amount, Budget, Ceiling, Ledger, Options, Reservation, Store, Totals } from "../../Budget.js"
import { BudgetExceeded, type InvalidOptions } from "../../Errors.js"
import * as MemoryLedger from "./memoryLedger.js"
import { validate } from "./options.js"

const reservedDescription = "Reserved worst-case spend of in-flight calls in USD per scope"

/** The gauges of a scope, built once with their attributes (`Metric.withAttributes` would re-key every update). */
const makeGauges = () => {
  const gauges = new Map<string, { readonly spent: Metric.Gauge<number>; readonly reserved: Metric.Gauge<number> }>()
  return (scope: string) => {
    let tagged = gauges.get(scope)
    if (tagged === undefined) {
      tagged = {
        spent: Metric.gauge("sluice_budget_spent_usd", {
          description: "Settled spend in USD per scope",
          attributes: { scope }
        }),
        reserved: Metric.gauge("sluice_budget_reserved_usd", {
          description: reservedDescription,
          attributes: { scope }
        })
      }
      gauges.set(scope, tagged)
    }
    return tagged
  }
}

const refusal = (scope: string, ceiling: Ceiling, t: Totals, amount: Amount): BudgetExceeded =>
  ceiling.usd !== undefined && t.spentUsd + t.reservedUsd + amount.usd > ceiling.usd + 1e-12
    ? new BudgetExceeded({
        scope,
        unit: "usd",
        ceiling: ceiling.usd,
        spent: t.spentUsd,
        reserved: t.reservedUsd,
        requested: amount.usd
      })
    : new BudgetExceeded({
        scope,
        unit: "tokens",
        ceiling: ceiling.tokens ?? 0,
        spent: t.spentTokens,
        reserved: t.reservedTokens,
        requested: amount.tokens
      })

/** One budget: its options, where charges go, the ledger, the gauges and the next reservation id. */
interface Book {
  readonly options: Options
  readonly store: Store
  readonly ledger: Ledger
  /** The memory ledger's synchronous operations when `ledger` is one (no effect per reserve or settle). */
  readonly sync: MemoryLedger.SyncLedger | undefined
  /** The ceiling of a scope without its own entry in `ceilings`. */
  readonly defaultCeiling: Ceiling
  readonly gaugesOf: ReturnType<typeof makeGauges>
  /** Reservation ids are per process; a shared ledger qualifies them with its process id. */
  nextId: number
}

const defaultCeilingOf = (options: Options): Ceiling => ({
  ...(options.ceilingUsd === undefined ? {} : { usd: options.ceilingUsd }),
  ...(options.ceilingTokens === undefined ? {} : { tokens: options.ceilingTokens })
})

const ceilingOf = (book: Book, scope: string): Ceiling => book.options.ceilings?.[scope] ?? book.defaultCeiling

/** Sets the scope's gauges to `totals` (what `Metric.update` does, without an effect per gauge). */
const meterNow = (book: Book, scope: string, totals: Totals | undefined, context: Context.Context<never>): void => {
  if (totals === undefined) return
  const tagged = book.gaugesOf(scope)
  tagged.spent.updateUnsafe(totals.spentUsd, context)
  tagged.reserved.updateUnsafe(totals.reservedUsd, context)
}

const meter = (book: Book, scope: string, totals: Totals | undefined): Effect.Effect<void> =>
  totals === undefined
    ? Effect.void
    : Effect.contextWith((context: Context.Context<never>) => {
        meterNow(book, scope, totals, context)
        return Effect.void
      })

/**
 * A release that cannot reach the ledger is harmless (the ledger's lease drops the hold); a settle is spend that
 * the shared ledger will not count.
 */
const unrecorded = (what: "settle" | "release", reservation: Reservation) => (error: { readonly message: string }) =>
  (what === "settle"
    ? Effect.logError("budget: could not record a charge in the ledger; its hold lapses with the lease")
    : Effect.logDebug("budget: could not release a reservation; the ledger's lease drops it")
  ).pipe(
    Effect.annotateLogs({ scope: reservation.scope, usd: reservation.usd, error: error.message }),
    Effect.as(undefined)
  )

const release = (book: Book, reservation: Reservation): Effect.Effect<void> => {
  const sync = book.sync
  if (sync !== undefined) {
    return Effect.contextWith((context: Context.Context<never>) => {
      meterNow(book, reservation.scope, sync.release(reservation), context)
      return Effect.void
    })
  }
  return book.ledger.release(reservation).pipe(
    Effect.catch(unrecorded("release", reservation)),
    Effect.flatMap((totals) => meter(book, reservation.scope, totals))
  )
}

const chargeOf = (reservation: Reservation, actual: Amount, model: string | undefined, at: number) => ({
  at,
  scope: reservation.scope,
  usd: actual.usd,
  tokens: actual.tokens,
  ...(model === undefined ? {} : { model })
})

/** On the memory ledger: one synchronous step, then the store's append (decision 0014). */
const settleSync = (
  book: Book,
  sync: MemoryLedger.SyncLedger,
  reservation: Reservation,
  actual: Amount,
  model: string | undefined
): Effect.Effect<void> =>
  Clock.clockWith((clock) => {
    const totals = sync.settle(reservation, actual)
    if (totals === undefined) return Effect.void
    const appended = book.store.append(chargeOf(reservation, actual, model, clock.currentTimeMillisUnsafe()))
    return Effect.andThen(appended, meter(book, reservation.scope, totals))
  })

const settle = (book: Book, reservation: Reservation, actual: Amount, model: string | undefined) => {
  if (book.sync !== undefined) return settleSync(book, book.sync, reservation, actual, model)
  return Effect.gen(function* () {
    const totals = yield* book.ledger.settle(reservation, actual).pipe(Effect.catch(unrecorded("settle", reservation)))
    if (totals === undefined) return
    yield* book.store.append(chargeOf(reservation, actual, model, yield* Clock.currentTimeMillis))
    yield* meter(book, reservation.scope, totals)
  })
}

/**
 * On the memory ledger: the hold, the gauges and the release finalizer in one uninterruptible step (nothing to
 * wait for, so nothing to interrupt; decision 0014).
 */
const reserveSync = (
  book: Book,
  sync: MemoryLedger.SyncLedger,
  scope: string,
  amount: Amount
): Effect.Effect<Reservation, BudgetExceeded, Scope.Scope> =>
  Effect.uninterruptible(
    Effect.contextWith((context: Context.Context<never>) => {
      const ceiling = ceilingOf(book, scope)
      const reservation: Reservation = { id: book.nextId++, scope, usd: amount.usd, tokens: amount.tokens }
      const verdict = sync.reserve(reservation, ceiling)
      meterNow(book, scope, verdict.totals, context)
      if (!verdict.held) return Effect.fail(refusal(scope, ceiling, verdict.totals, amount))
      return Effect.as(
        Effect.addFinalizer(() => release(book, reservation)),
        reservation
      )
    })
  )

const reserve = (book: Book, scope: string, amount: Amount) => {
  if (book.sync !== undefined) return reserveSync(book, book.sync, scope, amount)
  return Effect.gen(function* () {
    const ceiling = ceilingOf(book, scope)
    const reservation: Reservation = { id: book.nextId++, scope, usd: amount.usd, tokens: amount.tokens }
    // The wait for a shared ledger is interruptible; an interruption then releases the reservation, which the
    // ledger may have held before its answer was lost.
    const verdict = yield* Effect.uninterruptibleMask((restore) =>
      restore(book.ledger.reserve(reservation, ceiling)).pipe(
        Effect.onInterrupt(() => release(book, reservation)),
        Effect.tap(({ held }) => (held ? Effect.addFinalizer(() => release(book, reservation)) : Effect.void))
      )
    )
    yield* meter(book, scope, verdict.totals)
    if (!verdict.held) return yield* refusal(scope, ceiling, verdict.totals, amount)
    return reservation
  })
}

const remaining = (book: Book, scope: string) =>
  Effect.map(book.ledger.totals(scope), (t) => {
    const ceiling = ceilingOf(book, scope)
    return {
      ...(ceiling.usd === undefined ? {} : { usd: Math.max(0, ceiling.usd - t.spentUsd - t.reservedUsd) }),
      ...(ceiling.tokens === undefined
        ? {}
        : { tokens: Math.max(0, ceiling.tokens - t.spentTokens - t.reservedTokens) })
    }
  })

/** The budget service over a ledger; settled charges are also appended to `store`. */
export const make = (options: Options, store: Store, ledger: Ledger): Budget["Service"] => {
  const book: Book = {
    options,
    store,
    ledger,
    sync: MemoryLedger.syncOf(ledger),
    defaultCeiling: defaultCeilingOf(options),
    gaugesOf: makeGauges(),
    nextId: 0
  }
  return {
    enforced: (scope) => {
      const ceiling = ceilingOf(book, scope)
      return ceiling.usd !== undefined || ceiling.tokens !== undefined
    },
    reserve: (scope, amount) => reserve(book, scope, amount),
    settle: (reservation, actual, model) => settle(book, reservation, actual, model),
    release: (reservation) => release(book, reservation),
    spent: (scope) => Effect.map(ledger.totals(scope), (t) => ({ usd: t.spentUsd, tokens: t.spentTokens })),
    remaining: (scope) => remaining(book, scope)
  }
}

/** `Budget.make`: checks the options, then the budget over `ledger`, else over the charges in `store`. */
export const build = (
  options: Options,
  store: Store,
  ledger: Ledger | undefined
): Effect.Effect<Budget["Service"], InvalidOptions> =>
  Effect.gen(function* () {
    yield* Effect.fromResult(validate(options))
    return make(options, store, ledger ?? MemoryLedger.make(yield* store.load))
  })
