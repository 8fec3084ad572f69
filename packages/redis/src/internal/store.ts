import { randomUUID } from "node:crypto"
import { InvalidOptions, StoreUnavailable } from "@sluice/core/Errors"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Redis from "effect/persistence/Redis"
import { createClient, ErrorReply } from "redis"
import { type Options, RedisStore } from "../RedisStore.js"

const show = (value: unknown) => (typeof value === "string" ? JSON.stringify(value) : String(value))

const positive = (option: string, value: number | undefined) =>
  value === undefined || (Number.isFinite(value) && value > 0)
    ? undefined
    : new InvalidOptions({ option, value: show(value), expected: "a number > 0" })

/** @internal */
export const validate = (options: Options): InvalidOptions | undefined => {
  if (!/^rediss?:\/\/[^\s]+$/.test(options.url)) {
    return new InvalidOptions({
      option: "redis.url",
      value: "(not shown: it may hold a password)",
      expected: "a redis://host:port or rediss://host:port URL"
    })
  }
  if (options.prefix !== undefined && !/^[^\s]+$/.test(options.prefix)) {
    return new InvalidOptions({ option: "redis.prefix", value: show(options.prefix), expected: "a non-empty word" })
  }
  return (
    positive("redis.waitMs", options.waitMs) ??
    positive("redis.leaseMs", options.leaseMs) ??
    positive("redis.ttlMs", options.ttlMs)
  )
}

/**
 * Replies of a server that cannot serve right now: restarting (LOADING, NOSCRIPT: its script cache is empty), busy,
 * failing over, or refusing writes until its operator acts (MISCONF: it cannot persist; OOM: over maxmemory). They
 * are waited out like a lost connection and end in `StoreUnavailable` past the deadline. Any other error reply
 * (ERR, WRONGTYPE, a script's own error) is a mistake in the command: a defect.
 */
const transientReply = /^(LOADING|BUSY|TRYAGAIN|MASTERDOWN|READONLY|CLUSTERDOWN|NOSCRIPT|MISCONF|OOM)\b/

/** Whether an error means "Redis is not reachable right now" rather than a mistake in the command. */
const transient = (error: Redis.RedisError): boolean =>
  !(error.cause instanceof ErrorReply) || transientReply.test(error.cause.message)

const describe = (error: Redis.RedisError): string =>
  error.cause instanceof Error ? `${error.cause.name}: ${error.cause.message}` : String(error.cause)

/** Where the URL points, without credentials. */
const where = (url: string) => {
  try {
    const parsed = new URL(url)
    return `${parsed.hostname}:${parsed.port || "6379"}`
  } catch {
    return "redis"
  }
}

const connect = (options: Options) =>
  Effect.gen(function* () {
    // Until the first connection, a failure fails the layer; after it, the client reconnects on its own.
    let ready = false
    const client = yield* Effect.acquireRelease(
      Effect.sync(() =>
        createClient({
          url: options.url,
          // Fail a command at once while disconnected (we retry it), instead of queueing it blind.
          disableOfflineQueue: true,
          socket: {
            connectTimeout: 5_000,
            reconnectStrategy: (retries: number, cause: Error) => (ready ? Math.min(50 * 2 ** retries, 1000) : cause)
          }
        })
      ),
      (client) => Effect.ignoreCause(Effect.promise(() => client.close()))
    )
    const runSync = Effect.runSyncWith(yield* Effect.context<never>())
    // node-redis rethrows an `error` event that has no listener; the reconnects are logged by the operations.
    client.on("error", (cause: unknown) => runSync(Effect.logDebug("redis client error", String(cause))))
    client.once("ready", () => {
      ready = true
    })
    yield* Effect.tryPromise({
      try: () => client.connect(),
      catch: (cause) =>
        new StoreUnavailable({
          store: "redis",
          operation: `connect ${where(options.url)}`,
          waitedMs: 0,
          cause: cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)
        })
    })
    const send = <A = unknown>(command: string, ...args: ReadonlyArray<string>) =>
      Effect.tryPromise({
        try: () => client.sendCommand([command, ...args]) as Promise<A>,
        catch: (cause) => new Redis.RedisError({ cause })
      })
    return yield* Redis.make({
      send,
      connect: Effect.fail(new Redis.RedisError({ cause: new Error("reserved connections are not used") })),
      subscribe: () => Effect.fail(new Redis.RedisError({ cause: new Error("subscriptions are not used") }))
    })
  })

/**
 * The process's view of an outage, shared by every operation: one warning when Redis goes away, one line when it is
 * back, and one deadline (`waitMs` from the first failure): once it has passed, every operation fails at once until
 * an operation succeeds again, instead of each waiting `waitMs` of its own.
 */
const makeOutage = (url: string, waitMs: number) => {
  let since: number | undefined
  let expired = false
  return {
    /** Notes a failure; whether the outage is past its deadline is then `expired()`. */
    failed: (operation: string, error: Redis.RedisError) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (since !== undefined) {
          expired = now - since >= waitMs
          return Effect.void
        }
        since = now
        return Effect.logWarning(
          `redis unreachable (${where(url)}): paused, retrying with backoff for up to ${(waitMs / 1000).toFixed(1)} s`
        ).pipe(Effect.annotateLogs({ operation, error: describe(error) }))
      }),
    expired: () => expired,
    since: () => since,
    succeeded: Effect.suspend(() =>
      since === undefined
        ? Effect.void
        : Effect.flatMap(Clock.currentTimeMillis, (now) => {
            const pausedMs = now - (since ?? now)
            since = undefined
            expired = false
            return Effect.logWarning(
              `redis reachable again (${where(url)}): resumed after ${(pausedMs / 1000).toFixed(1)} s`
            )
          })
    )
  }
}

type Outage = ReturnType<typeof makeOutage>

/** Waits between retries of an operation during an outage: exponential from 50 ms, at most 2 s, jittered. */
const backoff = Schedule.min([Schedule.exponential("50 millis"), Schedule.spaced("2 seconds")]).pipe(Schedule.jittered)

/** The failure of an operation that Redis did not answer before the outage's deadline. */
const unavailable = (operation: string, outage: Outage, error: Redis.RedisError) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    Effect.fail(
      new StoreUnavailable({
        store: "redis",
        operation,
        waitedMs: now - (outage.since() ?? now),
        cause: describe(error)
      })
    )
  )

/**
 * `RedisStore.eval`: runs a script, retrying transient failures with {@link backoff} until the shared outage
 * deadline; a command error (a bug, not an outage) is a defect.
 */
const makeEval =
  (redis: Redis.Redis["Service"], outage: Outage): RedisStore["Service"]["eval"] =>
  (operation, script) =>
  (...params) =>
    Effect.gen(function* () {
      const result = yield* redis
        .eval(script)(...params)
        .pipe(
          Effect.tapError((error) => (transient(error) ? outage.failed(operation, error) : Effect.void)),
          Effect.retry({ schedule: backoff, while: (error) => transient(error) && !outage.expired() }),
          Effect.catch((error) => (transient(error) ? unavailable(operation, outage, error) : Effect.die(error)))
        )
      yield* outage.succeeded
      return result
    })

/** @internal */
export const layer = (options: Options): Layer.Layer<RedisStore, StoreUnavailable | InvalidOptions> =>
  Layer.effect(
    RedisStore,
    Effect.gen(function* () {
      const problem = validate(options)
      if (problem !== undefined) return yield* problem
      const redis = yield* connect(options)
      return RedisStore.of({
        prefix: `${options.prefix ?? "sluice"}:`,
        instance: randomUUID().replaceAll("-", "").slice(0, 16),
        // Whole ms: the scripts pass them to PEXPIRE, which answers a fraction with an ERR reply (a defect).
        leaseMs: Math.ceil(options.leaseMs ?? 30_000),
        ttlMs: Math.ceil(options.ttlMs ?? 30 * 24 * 3600_000),
        eval: makeEval(redis, makeOutage(options.url, options.waitMs ?? 60_000))
      })
    })
  )
