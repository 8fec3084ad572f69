import type * as RateLimiter from "@sluice/core/RateLimiter"
import * as Effect from "effect/Effect"
import * as Redis from "effect/persistence/Redis"
import { RedisStore } from "../RedisStore.js"

/*
 * One hash per scope, p:limit:<key id>:<model>: rd/ra (request bucket debt and the server ms it was measured at,
 * in the future while the gate is closed), td/ta (tokens), pu (gate closed until), lr/lt (the per-minute limits the
 * last process that knew them passed: a process that has not learned them yet, one whose server sends no headers,
 * is paced by them too). The math is core's
 * internal/gates/bucket.ts, on Redis's clock (TIME): every process takes from the same buckets. The hash expires
 * two minutes after its last write (a drained bucket and an open gate are the same as no hash).
 * ARGV of every script: requests limit | '', tokens limit | '', burst factor, then the operation's own.
 */
const prelude = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local key = KEYS[1]
local factor = tonumber(ARGV[3])
local v = redis.call('HMGET', key, 'rd', 'ra', 'td', 'ta', 'pu', 'lr', 'lt')
local known = { r = tonumber(ARGV[1]), t = tonumber(ARGV[2]) }
local limits = { r = known.r or tonumber(v[6] or ''), t = known.t or tonumber(v[7] or '') }
local state = {
  r = { debt = tonumber(v[1] or '0'), at = tonumber(v[2] or now) },
  t = { debt = tonumber(v[3] or '0'), at = tonumber(v[4] or now) },
  pu = tonumber(v[5] or '0')
}
local function drain(limit, b)
  if now <= b.at then return b end
  return { debt = math.max(0, b.debt - (now - b.at) * limit / 60000), at = now }
end
local function burst(limit) return limit / 60 * factor end
local function wait(limit, b, cost)
  local d = drain(limit, b)
  local excess = d.debt + cost - math.max(burst(limit), cost)
  local frozen = math.max(0, d.at - now)
  if excess <= 1e-9 then return frozen end
  return frozen + excess / (limit / 60000)
end
local function adjust(limit, b, delta)
  local d = drain(limit, b)
  return { debt = math.min(limit, math.max(0, d.debt + delta)), at = d.at }
end
local function save()
  redis.call('HSET', key, 'rd', tostring(state.r.debt), 'ra', tostring(state.r.at),
    'td', tostring(state.t.debt), 'ta', tostring(state.t.at), 'pu', tostring(state.pu))
  if known.r ~= nil then redis.call('HSET', key, 'lr', tostring(known.r)) end
  if known.t ~= nil then redis.call('HSET', key, 'lt', tostring(known.t)) end
  -- PEXPIRE takes whole ms: a fractional pause (a hint-less 429's is drawn at random) would be an ERR reply.
  redis.call('PEXPIRE', key, math.ceil(120000 + math.max(0, state.pu - now)))
end
`

/** ARGV 4, 5: requests, tokens → [1, '0'] admitted, [0, waitMs] wait. */
const takeLua = `${prelude}
local cost = { r = tonumber(ARGV[4]), t = tonumber(ARGV[5]) }
local w = math.max(0, state.pu - now)
for _, u in ipairs({ 'r', 't' }) do
  if limits[u] ~= nil then w = math.max(w, wait(limits[u], state[u], cost[u])) end
end
if w > 0 then return { 0, tostring(w) } end
for _, u in ipairs({ 'r', 't' }) do
  if limits[u] ~= nil then state[u] = adjust(limits[u], state[u], cost[u]) end
end
save()
return { 1, '0' }
`

/** ARGV 4, 5: delta requests, delta tokens (negative refunds). */
const adjustLua = `${prelude}
local delta = { r = tonumber(ARGV[4]), t = tonumber(ARGV[5]) }
for _, u in ipairs({ 'r', 't' }) do
  if limits[u] ~= nil then state[u] = adjust(limits[u], state[u], delta[u]) end
end
save()
return { 1, '0' }
`

/** ARGV 4, 5: the debts' floors ('' = none). */
const floorLua = `${prelude}
local floor = { r = tonumber(ARGV[4]), t = tonumber(ARGV[5]) }
for _, u in ipairs({ 'r', 't' }) do
  if limits[u] ~= nil and floor[u] ~= nil then
    local d = drain(limits[u], state[u])
    if d.debt < floor[u] then d = { debt = math.min(limits[u], floor[u]), at = d.at } end
    state[u] = d
  end
end
save()
return { 1, '0' }
`

/** ARGV 4: how long the gate closes, ms (on Redis's clock: a client's "until" would carry its clock's skew). */
const pauseLua = `${prelude}
local untilMs = now + tonumber(ARGV[4])
state.pu = math.max(state.pu, untilMs)
for _, u in ipairs({ 'r', 't' }) do
  if limits[u] ~= nil then
    local d = drain(limits[u], state[u])
    state[u] = { debt = math.min(limits[u], math.max(d.debt, burst(limits[u]))), at = math.max(d.at, untilMs) }
  end
end
save()
return { 1, '0' }
`

/** → [now, remaining requests | '', remaining tokens | '', paused ms left]. */
const statusLua = `${prelude}
local left = {}
for _, u in ipairs({ 'r', 't' }) do
  if limits[u] ~= nil then left[u] = tostring(math.max(0, limits[u] - drain(limits[u], state[u]).debt)) else left[u] = '' end
end
return { tostring(now), left.r, left.t, tostring(math.max(0, state.pu - now)) }
`

const script = (lua: string) =>
  Redis.script((...params: ReadonlyArray<string>) => params, { lua, numberOfKeys: 1 }).withReturnType<
    ReadonlyArray<number | string>
  >()

const takeScript = script(takeLua)
const adjustScript = script(adjustLua)
const floorScript = script(floorLua)
const pauseScript = script(pauseLua)
const statusScript = script(statusLua)

const limitArgs = (limits: RateLimiter.EffectiveLimits) => [
  limits.requests === undefined ? "" : String(limits.requests),
  limits.tokens === undefined ? "" : String(limits.tokens),
  String(limits.burstFactor)
]

/**
 * The limiter's store on Redis. The limiter's `nowMs` is ignored: every script reads Redis's clock (only `pause`
 * takes the length of its pause from it, and `status` reports `pausedUntilMs` on the caller's clock).
 *
 * @internal
 */
export const store: Effect.Effect<RateLimiter.Store, never, RedisStore> = Effect.gen(function* () {
  const redis = yield* RedisStore
  const keyOf = (scope: string) => `${redis.prefix}limit:${scope}`
  const take = redis.eval("limiter.take", takeScript)
  const adjust = redis.eval("limiter.adjust", adjustScript)
  const floor = redis.eval("limiter.floor", floorScript)
  const pause = redis.eval("limiter.pause", pauseScript)
  const status = redis.eval("limiter.status", statusScript)
  return {
    take: (scope, limits, cost) =>
      Effect.map(
        take(keyOf(scope), ...limitArgs(limits), String(cost.requests), String(cost.tokens)),
        (reply): RateLimiter.Decision =>
          Number(reply[0]) === 1 ? { _tag: "Admitted" } : { _tag: "Wait", waitMs: Number(reply[1]) }
      ),
    adjust: (scope, limits, delta) =>
      Effect.asVoid(adjust(keyOf(scope), ...limitArgs(limits), String(delta.requests), String(delta.tokens))),
    floor: (scope, limits, debts) =>
      Effect.asVoid(
        floor(
          keyOf(scope),
          ...limitArgs(limits),
          debts.requests === undefined ? "" : String(debts.requests),
          debts.tokens === undefined ? "" : String(debts.tokens)
        )
      ),
    pause: (scope, limits, untilMs, nowMs) =>
      Effect.asVoid(pause(keyOf(scope), ...limitArgs(limits), String(Math.max(0, Math.ceil(untilMs - nowMs))))),
    status: (scope, limits, nowMs) =>
      Effect.map(status(keyOf(scope), ...limitArgs(limits)), (reply) => {
        const pausedMs = Number(reply[3])
        return {
          limits,
          remainingRequests: reply[1] === "" ? undefined : Number(reply[1]),
          remainingTokens: reply[2] === "" ? undefined : Number(reply[2]),
          pausedUntilMs: pausedMs > 0 ? nowMs + pausedMs : 0
        }
      })
  } satisfies RateLimiter.Store
})
