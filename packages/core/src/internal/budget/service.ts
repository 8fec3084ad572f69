import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type { Amount, Budget, Ceiling, Ledger, Options, Reservation, Store, Totals } from "../../Budget.js"
import { BudgetExceeded } from "../../Errors.js"

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

/** The budget service over a ledger; settled charges are also appended to `store`. */
export const make = (options: Options, store: Store, ledger: Ledger): Budget["Service"] => {
  const ceilingOf = (scope: string): Ceiling =>
    options.ceilings?.[scope] ?? {
      ...(options.ceilingUsd === undefined ? {} : { usd: options.ceilingUsd }),
      ...(options.ceilingTokens === undefined ? {} : { tokens: options.ceilingTokens })
    }
  const gaugesOf = makeGauges()
  const meter = (scope: string, totals: Totals | undefined) => {
    if (totals === undefined) return Effect.void
    const tagged = gaugesOf(scope)
    return Effect.andThen(
      Metric.update(tagged.spent, totals.spentUsd),
      Metric.update(tagged.reserved, totals.reservedUsd)
    )
  }
  // Reservation ids are per process; a shared ledger qualifies them with its process id.
  let nextId = 0
  // A release that cannot reach the ledger is harmless (the ledger's lease drops the hold); a settle is spend that
  // the shared ledger will not count.
  const unrecorded = (what: "settle" | "release", reservation: Reservation) => (error: { readonly message: string }) =>
    (what === "settle"
      ? Effect.logError("budget: could not record a charge in the ledger; its hold lapses with the lease")
      : Effect.logDebug("budget: could not release a reservation; the ledger's lease drops it")
    ).pipe(
      Effect.annotateLogs({ scope: reservation.scope, usd: reservation.usd, error: error.message }),
      Effect.as(undefined)
    )

  const release = (reservation: Reservation) =>
    ledger.release(reservation).pipe(
      Effect.catch(unrecorded("release", reservation)),
      Effect.flatMap((totals) => meter(reservation.scope, totals))
    )

  const settle = (reservation: Reservation, actual: Amount, model?: string) =>
    Effect.gen(function* () {
      const totals = yield* ledger.settle(reservation, actual).pipe(Effect.catch(unrecorded("settle", reservation)))
      if (totals === undefined) return
      const at = yield* Clock.currentTimeMillis
      yield* store.append({
        at,
        scope: reservation.scope,
        usd: actual.usd,
        tokens: actual.tokens,
        ...(model === undefined ? {} : { model })
      })
      yield* meter(reservation.scope, totals)
    })

  const reserve = (scope: string, amount: Amount) =>
    Effect.gen(function* () {
      const ceiling = ceilingOf(scope)
      const reservation: Reservation = { id: nextId++, scope, usd: amount.usd, tokens: amount.tokens }
      // The wait for a shared ledger is interruptible; an interruption then releases the reservation, which the
      // ledger may have held before its answer was lost.
      const verdict = yield* Effect.uninterruptibleMask((restore) =>
        restore(ledger.reserve(reservation, ceiling)).pipe(
          Effect.onInterrupt(() => release(reservation)),
          Effect.tap(({ held }) => (held ? Effect.addFinalizer(() => release(reservation)) : Effect.void))
        )
      )
      yield* meter(scope, verdict.totals)
      if (!verdict.held) return yield* refusal(scope, ceiling, verdict.totals, amount)
      return reservation
    })

  const spent = (scope: string) => Effect.map(ledger.totals(scope), (t) => ({ usd: t.spentUsd, tokens: t.spentTokens }))

  const remaining = (scope: string) =>
    Effect.map(ledger.totals(scope), (t) => {
      const ceiling = ceilingOf(scope)
      return {
        ...(ceiling.usd === undefined ? {} : { usd: Math.max(0, ceiling.usd - t.spentUsd - t.reservedUsd) }),
        ...(ceiling.tokens === undefined
          ? {}
          : { tokens: Math.max(0, ceiling.tokens - t.spentTokens - t.reservedTokens) })
      }
    })

  const enforced = (scope: string) => {
    const ceiling = ceilingOf(scope)
    return ceiling.usd !== undefined || ceiling.tokens !== undefined
  }

  return { enforced, reserve, settle, release, spent, remaining }
}
