import * as Effect from "effect/Effect"
import type { Amount, Ceiling, Charge, Ledger, Reservation, Totals } from "../../Budget.js"

const empty: Totals = { spentUsd: 0, spentTokens: 0, reservedUsd: 0, reservedTokens: 0 }

/** Whether `amount` on top of `totals` stays within `ceiling` (USD with a 1e-12 tolerance for float sums). */
export const fits = (totals: Totals, amount: Amount, ceiling: Ceiling): boolean =>
  (ceiling.usd === undefined || totals.spentUsd + totals.reservedUsd + amount.usd <= ceiling.usd + 1e-12) &&
  (ceiling.tokens === undefined || totals.spentTokens + totals.reservedTokens + amount.tokens <= ceiling.tokens)

/** The memory ledger's operations as plain functions (the budget calls them directly for its own ledger). */
export interface SyncLedger {
  readonly reserve: (reservation: Reservation, ceiling: Ceiling) => { readonly held: boolean; readonly totals: Totals }
  readonly settle: (reservation: Reservation, actual: Amount) => Totals | undefined
  readonly release: (reservation: Reservation) => Totals | undefined
}

const syncLedgers = new WeakMap<Ledger, SyncLedger>()

/** The synchronous operations of `ledger` when it is a memory ledger, else `undefined` (a shared one). */
export const syncOf = (ledger: Ledger): SyncLedger | undefined => syncLedgers.get(ledger)

/**
 * The process-local ledger: one mutable `Totals` per scope and the open reservations by id. Every operation is
 * synchronous inside one `Effect.sync`, so two fibers never interleave within one.
 */
export const make = (charges: ReadonlyArray<Charge>): Ledger => {
  const totals = new Map<string, Totals>()
  for (const charge of charges) {
    const t = totals.get(charge.scope) ?? empty
    totals.set(charge.scope, { ...t, spentUsd: t.spentUsd + charge.usd, spentTokens: t.spentTokens + charge.tokens })
  }
  const open = new Map<number, Reservation>()
  const of = (scope: string) => totals.get(scope) ?? empty

  const close = (reservation: Reservation, actual: Amount | undefined): Totals | undefined => {
    if (!open.delete(reservation.id)) return undefined
    const t = of(reservation.scope)
    const next: Totals = {
      spentUsd: t.spentUsd + (actual?.usd ?? 0),
      spentTokens: t.spentTokens + (actual?.tokens ?? 0),
      reservedUsd: t.reservedUsd - reservation.usd,
      reservedTokens: t.reservedTokens - reservation.tokens
    }
    totals.set(reservation.scope, next)
    return next
  }

  const sync: SyncLedger = {
    reserve: (reservation, ceiling) => {
      const t = of(reservation.scope)
      if (!fits(t, reservation, ceiling)) return { held: false, totals: t }
      const next: Totals = {
        ...t,
        reservedUsd: t.reservedUsd + reservation.usd,
        reservedTokens: t.reservedTokens + reservation.tokens
      }
      totals.set(reservation.scope, next)
      open.set(reservation.id, reservation)
      return { held: true, totals: next }
    },
    settle: (reservation, actual) => close(reservation, actual),
    release: (reservation) => close(reservation, undefined)
  }
  const ledger: Ledger = {
    reserve: (reservation, ceiling) => Effect.sync(() => sync.reserve(reservation, ceiling)),
    settle: (reservation, actual) => Effect.sync(() => sync.settle(reservation, actual)),
    release: (reservation) => Effect.sync(() => sync.release(reservation)),
    totals: (scope) => Effect.sync(() => of(scope))
  }
  syncLedgers.set(ledger, sync)
  return ledger
}
