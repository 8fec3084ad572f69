import * as Budget from "@sluice/core/Budget"
import type { InvalidOptions } from "@sluice/core/Errors"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Redis from "effect/persistence/Redis"
import type { Options } from "../RedisBudget.js"
import { RedisStore } from "../RedisStore.js"

/*
 * Keys of budget `name`, scope `s` (prefix `p`):
 *   p:budget:name:s:spent   hash usd, tokens (HINCRBYFLOAT)           expires ttlMs after the last write
 *   p:budget:name:s:held    hash reservationId → "usd tokens instance"  expires ttlMs after the last write
 *   p:budget:name:leases    hash instance → lease end (server ms)     expires ttlMs after the last write
 *   p:budget:name:closed:id a reservation already settled or released (retries are no-ops)
 * Every script reads the time with TIME (Redis's clock, not a client's) and returns
 * [flag, spentUsd, spentTokens, reservedUsd, reservedTokens] as strings (a Lua number reply would be truncated).
 */
const prelude = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function spent(key)
  local v = redis.call('HMGET', key, 'usd', 'tokens')
  return tonumber(v[1] or '0'), tonumber(v[2] or '0')
end
-- The holds of a scope; with live, the holds of every other process (one without a lease: it ran out, whoever
-- noticed first) are dropped.
local function held(key, live)
  local all = redis.call('HGETALL', key)
  local usd, tokens = 0, 0
  for i = 1, #all, 2 do
    local u, k, inst = string.match(all[i + 1], '^(%S+) (%S+) (%S+)$')
    if live ~= nil and not live[inst] then
      redis.call('HDEL', key, all[i])
    else
      usd = usd + tonumber(u)
      tokens = tokens + tonumber(k)
    end
  end
  return usd, tokens
end
local function reply(flag, su, st, ru, rt)
  return { flag, tostring(su), tostring(st), tostring(ru), tostring(rt) }
end
-- Renews this process's lease, deletes the leases that ran out and returns the set of processes that still hold
-- one. A deleted lease is how a later reservation, in any scope, knows the process is dead (a heartbeat may be the
-- first to notice). The field '~seen' is when any process last touched the leases: when nobody did for a whole
-- lease (every process was paused by an outage, or the budget lay idle), no lease is judged now: each gets one more
-- lease to come back and renew it.
local function renew(key, instance, lease, ttl)
  local all = redis.call('HGETALL', key)
  local seen = tonumber(redis.call('HGET', key, '~seen') or '0')
  local grace = now - seen > lease
  local live = { [instance] = true }
  for i = 1, #all, 2 do
    local field, ends = all[i], tonumber(all[i + 1])
    if field ~= '~seen' then
      if grace then
        if ends < now + lease then redis.call('HSET', key, field, now + lease) end
        live[field] = true
      elseif ends < now then
        redis.call('HDEL', key, field)
      else
        live[field] = true
      end
    end
  end
  redis.call('HSET', key, instance, now + lease, '~seen', now)
  redis.call('PEXPIRE', key, ttl)
  return live
end
`

/**
 * KEYS spent, held, leases, closed; ARGV id, instance, usd, tokens, ceilingUsd|'', ceilingTokens|'', leaseMs, ttlMs.
 * A reservation already closed (released while its reply was lost, then retried) is not held again.
 */
const reserveLua = `${prelude}
local live = renew(KEYS[3], ARGV[2], tonumber(ARGV[7]), ARGV[8])
local ru, rt = held(KEYS[2], live)
local su, st = spent(KEYS[1])
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return reply(1, su, st, ru, rt) end
if redis.call('EXISTS', KEYS[4]) == 1 then return reply(0, su, st, ru, rt) end
local usd, tokens = tonumber(ARGV[3]), tonumber(ARGV[4])
if (ARGV[5] ~= '' and su + ru + usd > tonumber(ARGV[5]) + 1e-12) or (ARGV[6] ~= '' and st + rt + tokens > tonumber(ARGV[6])) then
  return reply(0, su, st, ru, rt)
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3] .. ' ' .. ARGV[4] .. ' ' .. ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[8])
return reply(1, su, st, ru + usd, rt + tokens)
`

/** KEYS spent, held, closed; ARGV id, usd|'' (release), tokens, ttlMs, closedTtlMs. */
const closeLua = `${prelude}
local first = redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[5])
redis.call('HDEL', KEYS[2], ARGV[1])
if first and ARGV[2] ~= '' then
  redis.call('HINCRBYFLOAT', KEYS[1], 'usd', ARGV[2])
  redis.call('HINCRBYFLOAT', KEYS[1], 'tokens', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
local su, st = spent(KEYS[1])
local ru, rt = held(KEYS[2], nil)
return reply(first and 1 or 0, su, st, ru, rt)
`

/** KEYS spent, held. */
const totalsLua = `${prelude}
local su, st = spent(KEYS[1])
local ru, rt = held(KEYS[2], nil)
return reply(1, su, st, ru, rt)
`

/** KEYS leases; ARGV instance, leaseMs, ttlMs. */
const leaseLua = `${prelude}
renew(KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3])
return reply(1, 0, 0, 0, 0)
`

type Reply = readonly [number, string, string, string, string]

const keyScript = (lua: string, keys: number) =>
  Redis.script((...params: ReadonlyArray<string>) => params, { lua, numberOfKeys: keys }).withReturnType<Reply>()

const reserveScript = keyScript(reserveLua, 4)
const closeScript = keyScript(closeLua, 3)
const totalsScript = keyScript(totalsLua, 2)
const leaseScript = keyScript(leaseLua, 1)

const totalsOf = (reply: Reply): Budget.Totals => ({
  spentUsd: Number(reply[1]),
  spentTokens: Number(reply[2]),
  reservedUsd: Number(reply[3]),
  reservedTokens: Number(reply[4])
})

/** The keys of one named budget, and a reservation's id in them (unique across processes). */
const keysOf = (store: RedisStore["Service"], name: string) => {
  const base = `${store.prefix}budget:${name}:`
  const id = (reservation: Budget.Reservation) => `${store.instance}:${reservation.id}`
  return {
    spent: (scope: string) => `${base}${scope}:spent`,
    held: (scope: string) => `${base}${scope}:held`,
    leases: `${base}leases`,
    id,
    closed: (reservation: Budget.Reservation) => `${base}closed:${id(reservation)}`
  }
}

type Keys = ReturnType<typeof keysOf>

/** An amount as a script argument: `""` for none. */
const arg = (value: number | undefined): string => (value === undefined ? "" : String(value))

/** Holds a reservation's worst case, unless it would cross the ceiling. */
const reserveWith = (store: RedisStore["Service"], keys: Keys): Budget.Ledger["reserve"] => {
  const reserve = store.eval("budget.reserve", reserveScript)
  return (reservation, ceiling) =>
    Effect.map(
      reserve(
        keys.spent(reservation.scope),
        keys.held(reservation.scope),
        keys.leases,
        keys.closed(reservation),
        keys.id(reservation),
        store.instance,
        String(reservation.usd),
        String(reservation.tokens),
        arg(ceiling.usd),
        arg(ceiling.tokens),
        String(store.leaseMs),
        String(store.ttlMs)
      ),
      (reply) => ({ held: reply[0] === 1, totals: totalsOf(reply) })
    )
}

/** Drops a reservation's hold, adding `actual` to the spend (settle) or nothing (release); once per reservation. */
const closeWith = (store: RedisStore["Service"], keys: Keys, operation: string) => {
  const close = store.eval(operation, closeScript)
  const closedTtl = String(Math.max(store.leaseMs * 4, 3_600_000))
  return (reservation: Budget.Reservation, actual: Budget.Amount | undefined) =>
    Effect.map(
      close(
        keys.spent(reservation.scope),
        keys.held(reservation.scope),
        keys.closed(reservation),
        keys.id(reservation),
        arg(actual?.usd),
        arg(actual?.tokens),
        String(store.ttlMs),
        closedTtl
      ),
      (reply) => (reply[0] === 1 ? totalsOf(reply) : undefined)
    )
}

/**
 * Heartbeat: this process's lease, renewed at a third of its length while the budget is in use. A killed process
 * stops renewing; the next reservation after its lease ends drops its holds.
 */
const heartbeat = (store: RedisStore["Service"], keys: Keys) => {
  const renew = store.eval("budget.lease", leaseScript)(
    keys.leases,
    store.instance,
    String(store.leaseMs),
    String(store.ttlMs)
  )
  return Effect.forkScoped(
    renew.pipe(Effect.ignore, Effect.repeat(Schedule.spaced(Math.max(1, Math.floor(store.leaseMs / 3)))))
  )
}

/** @internal */
export const ledger = (name: string): Effect.Effect<Budget.Ledger, never, RedisStore | Scope.Scope> =>
  Effect.gen(function* () {
    const store = yield* RedisStore
    const keys = keysOf(store, name)
    const totals = store.eval("budget.totals", totalsScript)
    const settle = closeWith(store, keys, "budget.settle")
    const release = closeWith(store, keys, "budget.release")
    yield* heartbeat(store, keys)
    return {
      reserve: reserveWith(store, keys),
      settle,
      release: (reservation) => release(reservation, undefined),
      totals: (scope) => Effect.map(totals(keys.spent(scope), keys.held(scope)), totalsOf)
    } satisfies Budget.Ledger
  })

/** @internal */
export const layer = (options: Options): Layer.Layer<Budget.Budget, InvalidOptions, RedisStore> =>
  Layer.effect(
    Budget.Budget,
    Effect.flatMap(ledger(options.name ?? "default"), (shared) => Budget.make(options, Budget.memoryStore, shared))
  )
