import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
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
  readonly gaugesOf: ReturnType<typeof makeGauges>
  /** Reservation ids are per process; a shared ledger qualifies them with its process id. */
  nextId: number
}

const ceilingOf = (options: Options, scope: string): Ceiling =>
  options.ceilings?.[scope] ?? {
    ...(options.ceilingUsd === undefined ? {} : { usd: options.ceilingUsd }),
    ...(options.ceilingTokens === undefined ? {} : { tokens: options.ceilingTokens })
  }

const meter = (book: Book, scope: string, totals: Totals | undefined): Effect.Effect<void> => {
  if (totals === undefined) return Effect.void
  const tagged = book.gaugesOf(scope)
  return Effect.andThen(
    Metric.update(tagged.spent, totals.spentUsd),
    Metric.update(tagged.reserved, totals.reservedUsd)
  )
}

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

const release = (book: Book, reservation: Reservation): Effect.Effect<void> =>
  book.ledger.release(reservation).pipe(
    Effect.catch(unrecorded("release", reservation)),
    Effect.flatMap((totals) => meter(book, reservation.scope, totals))
  )

const settle = (book: Book, reservation: Reservation, actual: Amount, model: string | undefined) =>
  Effect.gen(function* () {
    const totals = yield* book.ledger.settle(reservation, actual).pipe(Effect.catch(unrecorded("settle", reservation)))
    if (totals === undefined) return
    const at = yield* Clock.currentTimeMillis
    yield* book.store.append({
      at,
      scope: reservation.scope,
      usd: actual.usd,
      tokens: actual.tokens,
      ...(model === undefined ? {} : { model })
    })
    yield* meter(book, reservation.scope, totals)
  })

const reserve = (book: Book, scope: string, amount: Amount) =>
  Effect.gen(function* () {
    const ceiling = ceilingOf(book.options, scope)
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

const remaining = (book: Book, scope: string) =>
  Effect.map(book.ledger.totals(scope), (t) => {
    const ceiling = ceilingOf(book.options, scope)
    return {
      ...(ceiling.usd === undefined ? {} : { usd: Math.max(0, ceiling.usd - t.spentUsd - t.reservedUsd) }),
      ...(ceiling.tokens === undefined
        ? {}
        : { tokens: Math.max(0, ceiling.tokens - t.spentTokens - t.reservedTokens) })
    }
  })

/** The budget service over a ledger; settled charges are also appended to `store`. */
export const make = (options: Options, store: Store, ledger: Ledger): Budget["Service"] => {
  const book: Book = { options, store, ledger, gaugesOf: makeGauges(), nextId: 0 }
  return {
    enforced: (scope) => {
      const ceiling = ceilingOf(options, scope)
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
