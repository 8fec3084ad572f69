/**
 * One budget for every process on one Redis: `--budget-usd X` becomes one ceiling for all of them.
 *
 * Each operation is one Lua script on Redis's own clock (`TIME`), so reservations from any number of processes are
 * serialized by the server and the ceiling is never crossed: a reservation is held only if spent + every process's
 * held reservations + it stays within the ceiling. Settling moves the actual cost to `spent` once per reservation
 * (a retried settle is a no-op). Each process renews a lease (a third of `leaseMs`); the holds of a process whose lease
 * ran out (`kill -9`, a lost machine) are dropped by the next reservation, so a dead worker's budget comes back. When
 * no process renewed for a whole lease (an outage paused them all, or the budget lay idle), every lease gets one more
 * lease first: live processes renew theirs, so an outage longer than the lease does not drop the holds of requests
 * in flight; a dead process's holds are then dropped within two leases.
 *
 * Keys: `<prefix>:budget:<name>:<scope>:spent` / `:held`, `<prefix>:budget:<name>:leases`, each expiring `ttlMs`
 * after its last write.
 *
 * @since 0.3.0
 */
import type * as Budget from "@sluice/core/Budget"
import type { InvalidOptions } from "@sluice/core/Errors"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/budget.js"
import type { RedisStore } from "./RedisStore.js"

/**
 * @since 0.3.0
 * @category models
 */
export interface Options extends Budget.Options {
  /** Which shared budget: processes with the same name on one Redis share one ceiling. Default `"default"`. */
  readonly name?: string | undefined
}

/**
 * The shared ledger of budget `name`, for `Budget.make(options, store, ledger)`; renews this process's lease in the
 * background for as long as the enclosing scope lives.
 *
 * @since 0.3.0
 * @category constructors
 */
export const ledger: (name: string) => Effect.Effect<Budget.Ledger, never, RedisStore | Scope.Scope> = internal.ledger

/**
 * The `Budget` service over the shared ledger (replaces `Budget.layer`).
 *
 * @since 0.3.0
 * @category layers
 */
export const layer: (options: Options) => Layer.Layer<Budget.Budget, InvalidOptions, RedisStore> = internal.layer
