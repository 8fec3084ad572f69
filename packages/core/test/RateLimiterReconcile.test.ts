/**
 * Headers that disagree cannot hold a job below the allowed rate without a 429 to show for it, and 429s pull an
 * optimistic reading back to the truth. Each property runs a job of `concurrency` workers through the limiter
 * against a model server under `TestClock`: the server enforces the limits the simulator enforces (per-minute
 * limits over ~1 s windows, or a fixed per-minute window as gateways do) and reports them in one header style.
 */
import { describe, expect, it } from "@effect/vitest"
import { RateLimits } from "@sluice/simulator"
import { Clock, Effect, Fiber, Random, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as RateLimiter from "../src/RateLimiter.js"
import * as RateLimitHeaders from "../src/RateLimitHeaders.js"

const scope = "key:gpt-4o-mini"

type Style = "openai" | "scaled-remaining" | "fixed-window" | "reset-to-next-unit"

interface Reply {
  readonly admitted: boolean
  readonly headers: Record<string, string>
}

interface Server {
  readonly handle: (tokens: number, now: number) => Reply
}

const duration = RateLimits.formatDuration

/**
 * A server with `rpm` / `tpm` enforced like the simulator's, reporting its state in `style`:
 * - `openai`: consistent: `remaining = limit − debt`, `reset = debt / rate`;
 * - `scaled-remaining`: `remaining` is the one-second window's fill scaled to the minute, `reset` the truth;
 * - `reset-to-next-unit`: `remaining` is the truth, `reset` the time until one more unit fits (too optimistic);
 * - `fixed-window`: enforced per fixed minute window; `remaining` is what the window has left, `reset` the time
 *   to its end, 429s carry `retry-after`.
 */
const makeServer = (style: Style, limits: { readonly rpm: number; readonly tpm: number }): Server => {
  if (style === "fixed-window") return fixedWindow(limits)
  let buckets: RateLimits.KeyBuckets = { requests: RateLimits.empty(0), tokens: RateLimits.empty(0) }
  const report = (limit: number, bucket: RateLimits.Bucket, now: number) => {
    const drained = RateLimits.drain(limit, bucket, now)
    const window = RateLimits.windowSize(limit)
    switch (style) {
      case "scaled-remaining":
        return {
          remaining: Math.floor(limit * Math.max(0, 1 - drained.debt / window)),
          reset: RateLimits.resetMs(limit, bucket, now)
        }
      case "reset-to-next-unit":
        return {
          remaining: RateLimits.remaining(limit, bucket, now),
          reset: Math.max(0, drained.debt + 1 - window) / RateLimits.ratePerMs(limit)
        }
      default:
        return { remaining: RateLimits.remaining(limit, bucket, now), reset: RateLimits.resetMs(limit, bucket, now) }
    }
  }
  return {
    handle: (tokens, now) => {
      const admission = RateLimits.admit({ rpm: limits.rpm, tpm: limits.tpm }, buckets, tokens, now)
      buckets = admission.buckets
      const requests = report(limits.rpm, buckets.requests, now)
      const tokenReport = report(limits.tpm, buckets.tokens, now)
      return {
        admitted: admission.admitted,
        headers: {
          "x-ratelimit-limit-requests": String(limits.rpm),
          "x-ratelimit-remaining-requests": String(requests.remaining),
          "x-ratelimit-reset-requests": duration(requests.reset),
          "x-ratelimit-limit-tokens": String(limits.tpm),
          "x-ratelimit-remaining-tokens": String(tokenReport.remaining),
          "x-ratelimit-reset-tokens": duration(tokenReport.reset)
        }
      }
    }
  }
}

const fixedWindow = (limits: { readonly rpm: number; readonly tpm: number }): Server => {
  let window = 0
  let requests = 0
  let tokens = 0
  return {
    handle: (cost, now) => {
      const current = Math.floor(now / 60_000)
      if (current !== window) {
        window = current
        requests = 0
        tokens = 0
      }
      const admitted = requests + 1 <= limits.rpm && tokens + cost <= limits.tpm
      if (admitted) {
        requests++
        tokens += cost
      }
      const reset = duration((window + 1) * 60_000 - now)
      return {
        admitted,
        headers: {
          "x-ratelimit-limit-requests": String(limits.rpm),
          "x-ratelimit-remaining-requests": String(limits.rpm - requests),
          "x-ratelimit-reset-requests": reset,
          "x-ratelimit-limit-tokens": String(limits.tpm),
          "x-ratelimit-remaining-tokens": String(limits.tpm - tokens),
          "x-ratelimit-reset-tokens": reset,
          ...(admitted ? {} : { "retry-after-ms": String((window + 1) * 60_000 - now) })
        }
      }
    }
  }
}

/** The hint `Gates` hands `pause` on a 429: `retry-after(-ms)`, else the reset of the exhausted bucket. */
const pauseHint = (snapshot: RateLimitHeaders.RateLimitSnapshot): number | undefined => {
  if (snapshot.retryAfterMs !== undefined) return snapshot.retryAfterMs
  const resets: Array<number> = []
  if (snapshot.remainingRequests === 0 && snapshot.resetRequestsMs !== undefined) resets.push(snapshot.resetRequestsMs)
  if (snapshot.remainingTokens === 0 && snapshot.resetTokensMs !== undefined) resets.push(snapshot.resetTokensMs)
  return resets.length === 0 ? undefined : Math.max(...resets)
}

interface Job {
  readonly style: Style
  readonly rpm: number
  readonly tpm: number
  readonly tokens: number
  readonly concurrency: number
  readonly latencyMs: number
  readonly horizonMs: number
  /** Another client on the same key, without a limiter: one request of `tokens` every `everyMs`. */
  readonly other?: { readonly everyMs: number } | undefined
}

interface Outcome {
  /** Times of the job's successes and 429s. */
  readonly ok: Array<number>
  readonly limited: Array<number>
}

/** Runs the job for `horizonMs` of test time. */
const runJob = (job: Job) =>
  Effect.gen(function* () {
    const server = makeServer(job.style, job)
    const limiter = yield* RateLimiter.make()
    const outcome: Outcome = { ok: [], limited: [] }
    const worker = Effect.gen(function* () {
      while ((yield* Clock.currentTimeMillis) < job.horizonMs) {
        const permit = yield* limiter.acquire(scope, { requests: 1, tokens: job.tokens })
        yield* Effect.sleep(job.latencyMs)
        const now = yield* Clock.currentTimeMillis
        const reply = server.handle(job.tokens, now)
        const snapshot = RateLimitHeaders.parse(reply.headers, now)
        yield* limiter.observe(scope, snapshot, permit)
        if (reply.admitted) outcome.ok.push(now)
        else {
          outcome.limited.push(now)
          yield* limiter.pause(scope, pauseHint(snapshot))
        }
      }
    })
    const other = job.other
    const fibers = yield* Effect.forEach(Array.from({ length: job.concurrency }), () => Effect.forkChild(worker))
    if (other !== undefined) {
      const background = Effect.gen(function* () {
        while ((yield* Clock.currentTimeMillis) < job.horizonMs) {
          server.handle(job.tokens, yield* Clock.currentTimeMillis)
          yield* Effect.sleep(other.everyMs)
        }
      })
      fibers.push(yield* Effect.forkChild(background))
    }
    for (let t = 0; t < job.horizonMs + 60_000; t += 25) {
      yield* TestClock.adjust(25)
      if (fibers.every((fiber) => fiber.pollUnsafe() !== undefined)) break
    }
    yield* Fiber.joinAll(fibers)
    return outcome
  }).pipe(Random.withSeed(JSON.stringify(job))) // the limiter's jittered pauses: one job, one run

/** Successes the limits allow over `[from, to)` (ms), for `tokens` a request: the binding bucket's rate. */
const allowed = (job: Job, from: number, to: number) => (Math.min(job.rpm, job.tpm / job.tokens) * (to - from)) / 60_000

const within = (times: ReadonlyArray<number>, from: number, to: number) =>
  times.filter((t) => t >= from && t < to).length

const int = (minimum: number, maximum: number) => Schema.Int.check(Schema.isBetween({ minimum, maximum }))

const jobShape = {
  rpm: int(120, 1200),
  tpm: int(20_000, 200_000),
  tokens: int(20, 600),
  concurrency: int(4, 32),
  latencyMs: int(20, 800)
}

/** A minute of warm-up (learning the limits), then two minutes measured. */
const horizonMs = 180_000
const measuredFrom = 60_000

describe("RateLimiter reconciles disagreeing headers", () => {
  it.effect.prop(
    "a single job runs at ≥ 90 % of the true limit whatever the header style (≥ 80 % when they agree), ≤ 2 % 429s",
    [Schema.Literals(["openai", "scaled-remaining", "fixed-window"]), Schema.Struct(jobShape)],
    ([style, shape]) =>
      Effect.scoped(
        Effect.gen(function* () {
          // Enough workers to saturate the binding limit despite the latency (otherwise the job, not the limiter,
          // is the bottleneck and the fraction means nothing).
          const perSecond = Math.min(shape.rpm, shape.tpm / shape.tokens) / 60
          const concurrency = Math.max(shape.concurrency, Math.ceil(((perSecond * shape.latencyMs) / 1000) * 2) + 1)
          const job: Job = { style, ...shape, concurrency, horizonMs }
          const outcome = yield* runJob(job)
          const ok = within(outcome.ok, measuredFrom, horizonMs)
          const limited = within(outcome.limited, measuredFrom, horizonMs)
          const fair = allowed(job, measuredFrom, horizonMs)
          // Consistent headers: 75 % (their correction counts the job's in-flight requests a second time, since the
          // server saw them later than the limiter admitted them: up to ~20 % at latency ≈ the request interval).
          // Disagreeing headers: 90 %; before the reconciliation, scaled-remaining ran at 11-18 %.
          expect(ok).toBeGreaterThanOrEqual((style === "openai" ? 0.75 : 0.9) * fair)
          // Never above the limit beyond one window's burst (the server would have refused it).
          expect(ok).toBeLessThanOrEqual(fair * 1.02 + Math.max(shape.rpm, shape.tpm / shape.tokens) / 60 + 1)
          expect(limited).toBeLessThanOrEqual(Math.max(2, 0.02 * (ok + limited)))
        })
      ),
    { arbitrary: { runs: 16 }, timeout: 120_000 }
  )
})

type Shape = { readonly [K in keyof typeof jobShape]: number }

/** A job sharing its key with a client without a limiter that sends `otherPercent` % of the binding limit. */
const sharing = (style: Style, shape: Shape, otherPercent: number) =>
  Effect.gen(function* () {
    const perMinute = Math.min(shape.rpm, shape.tpm / shape.tokens)
    const concurrency = Math.max(shape.concurrency, Math.ceil(((perMinute / 60) * shape.latencyMs) / 1000) * 2 + 1)
    const everyMs = Math.ceil(60_000 / ((perMinute * otherPercent) / 100))
    const job: Job = { style, ...shape, concurrency, horizonMs, other: { everyMs } }
    const outcome = yield* runJob(job)
    const sent = within(outcome.ok, measuredFrom, horizonMs) + within(outcome.limited, measuredFrom, horizonMs)
    const limited = within(outcome.limited, measuredFrom, horizonMs)
    // The reading may be wrong (`reset-to-next-unit` hides the other client's share): the job learns it
    // from 429s, whose pause closes the gate; it never sends beyond the whole limit plus a burst in flight.
    expect(sent).toBeLessThanOrEqual(allowed(job, measuredFrom, horizonMs) * 1.02 + perMinute / 60 + concurrency)
    // The other client has no limiter and, as on the simulator, its refused requests count against the key:
    // some 429s are its doing whatever the job reads. The pause after each keeps them to a bounded share.
    // Measured over 80 runs: at most 39 % (a rude co-tenant on a 2-request/s key).
    expect(limited).toBeLessThanOrEqual(Math.max(3, 0.5 * sent))
  })

describe("RateLimiter lets 429s correct an optimistic reading", () => {
  it.effect.prop(
    "sharing the key with a client that has no limiter: never above the true limit, 429s ≤ 50 % of what it sent",
    [
      Schema.Literals(["openai", "reset-to-next-unit", "scaled-remaining", "fixed-window"]),
      Schema.Struct(jobShape),
      int(10, 50)
    ],
    ([style, shape, otherPercent]) => Effect.scoped(sharing(style, shape, otherPercent)),
    { arbitrary: { runs: 24 }, timeout: 120_000 }
  )

  // Found by the property (seed 8826025511688655): the other client sends every 1,700 ms, and a fixed 1 s pause
  // plus the local bucket's refill after it made the job's cycle 1,700 ms too: every request of the job arrived
  // 20 ms after the other's, into a full one-second token window — 70 sent, 70 refused, 0 answered in two minutes.
  // A pause without a hint is now spread over ½–1½ s, so the two clients cannot lock step.
  it.effect("a co-tenant whose period matches the pause cycle does not starve the job (regression)", () =>
    Effect.scoped(
      sharing("reset-to-next-unit", { rpm: 120, tpm: 41_682, tokens: 425, concurrency: 4, latencyMs: 20 }, 36)
    )
  )
})
