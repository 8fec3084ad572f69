import type * as Http from "node:http"
import { describe, expect, it } from "@effect/vitest"
import { Errors, OpenAi, Retry } from "@sluice/core"
import { Duration, Effect, Fiber, Random, Ref, TestClock } from "effect"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import * as fc from "effect/FastCheck"
import { client, httpServer } from "./support/servers.js"

const serverError = new Errors.ServerError({ status: 500, message: "boom" })
const rateLimited = (retryAfterMs?: number) =>
  new Errors.RateLimited({ status: 429, message: "slow", ...(retryAfterMs === undefined ? {} : { retryAfterMs }) })

/**
 * The delays the policy chooses for a sequence of errors, stepping the schedule like the retry driver does
 * (the clock advances to each decision's start), without sleeping. Stops where the policy stops.
 */
const delaysOf = (policy: Retry.Policy, errors: ReadonlyArray<Errors.OpenAiError>, seed: ReadonlyArray<number>) =>
  Effect.gen(function* () {
    const schedule = Retry.schedule(policy)
    let state = schedule.initial
    let now = 0
    const delays: Array<number> = []
    for (const error of errors) {
      const [next, delay, decision] = yield* schedule.step(now, error, state)
      if (ScheduleDecision.isDone(decision)) break
      state = next
      delays.push(Duration.toMillis(delay))
      now = Math.max(now, ScheduleIntervals.start(decision.intervals))
    }
    return delays
  }).pipe(Effect.withRandom(Random.fixed(seed as [number, ...Array<number>])))

const policyArb = fc.record({
  maxAttempts: fc.integer({ min: 1, max: 10 }),
  baseDelayMs: fc.integer({ min: 1, max: 2000 }),
  maxDelayMs: fc.integer({ min: 1, max: 60_000 }),
  maxHintMs: fc.integer({ min: 0, max: 120_000 }),
  deadlineMs: fc.integer({ min: 1, max: 3_600_000 })
})
const seedArb = fc.array(fc.double({ min: 0, max: 0.999_999, noNaN: true }), { minLength: 1, maxLength: 5 })

describe("Retry", () => {
  it.effect.prop(
    "every delay is within [0, min(cap, base·2^n)] when no hint is given, and attempts never exceed max",
    [policyArb, seedArb, fc.integer({ min: 1, max: 20 })],
    ([policy, seed, failures]) =>
      Effect.gen(function* () {
        const delays = yield* delaysOf(
          policy,
          Array.from({ length: failures }, () => serverError),
          seed
        )
        expect(delays.length).toBeLessThanOrEqual(policy.maxAttempts - 1)
        delays.forEach((delay, n) => {
          expect(delay).toBeGreaterThanOrEqual(0)
          expect(delay).toBeLessThanOrEqual(Retry.ceilingMs(policy, n) + 1e-6)
        })
        expect(delays.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(policy.deadlineMs + 1e-6)
      })
  )

  it.effect.prop(
    "a hint within maxHintMs is honoured (delay ≥ hint); a longer one stops at once",
    [policyArb, seedArb, fc.integer({ min: 0, max: 200_000 })],
    ([policy, seed, hint]) =>
      Effect.gen(function* () {
        const delays = yield* delaysOf({ ...policy, deadlineMs: 10_000_000 }, [rateLimited(hint)], seed)
        if (policy.maxAttempts === 1 || hint > policy.maxHintMs) expect(delays).toEqual([])
        else {
          expect(delays.length).toBe(1)
          expect(delays[0]).toBeGreaterThanOrEqual(hint)
          expect(delays[0]).toBe(Math.max(hint, delays[0]!))
        }
      })
  )

  it.effect.prop("non-retryable errors are never retried", [policyArb, seedArb], ([policy, seed]) =>
    Effect.gen(function* () {
      for (const error of [
        new Errors.QuotaExceeded({ status: 429, message: "q" }),
        new Errors.BadRequest({ status: 400, message: "b" }),
        new Errors.AuthenticationFailed({ status: 401, message: "a" }),
        new Errors.RateLimited({ status: 429, message: "no", shouldRetry: false })
      ]) {
        expect(yield* delaysOf(policy, [error], seed)).toEqual([])
      }
    })
  )

  it.effect("full jitter: Random 0.5 gives half the ceiling, capped at maxDelayMs", () =>
    Effect.gen(function* () {
      const policy = Retry.policy({ baseDelayMs: 1000, maxDelayMs: 5000, maxAttempts: 6 })
      const delays = yield* delaysOf(
        policy,
        Array.from({ length: 5 }, () => serverError),
        [0.5]
      )
      expect(delays).toEqual([500, 1000, 2000, 2500, 2500])
    })
  )

  it.effect("retry runs the effect maxAttempts times under TestClock, waiting the hint", () =>
    Effect.gen(function* () {
      const calls = yield* Ref.make(0)
      const policy = Retry.policy({ maxAttempts: 3, baseDelayMs: 100, maxHintMs: 10_000 })
      const fiber = yield* Ref.updateAndGet(calls, (n) => n + 1).pipe(
        Effect.flatMap(() => Effect.fail(rateLimited(2000))),
        Retry.retry(policy),
        Effect.flip,
        Effect.withRandom(Random.fixed([0.5])),
        Effect.fork
      )
      yield* TestClock.adjust("1999 millis")
      expect(yield* Ref.get(calls)).toBe(1)
      yield* TestClock.adjust("1 millis")
      expect(yield* Ref.get(calls)).toBe(2)
      yield* TestClock.adjust("2 seconds")
      const error = yield* Fiber.join(fiber)
      expect(yield* Ref.get(calls)).toBe(3)
      expect(error._tag).toBe("RateLimited")
    })
  )

  it.effect("a hint above maxHintMs fails fast with the error carrying it", () =>
    Effect.gen(function* () {
      const calls = yield* Ref.make(0)
      const error = yield* Ref.update(calls, (n) => n + 1).pipe(
        Effect.zipRight(Effect.fail(rateLimited(120_000))),
        Retry.retry(Retry.defaults),
        Effect.flip
      )
      expect(yield* Ref.get(calls)).toBe(1)
      expect(error._tag === "RateLimited" && error.retryAfterMs).toBe(120_000)
    })
  )
})

describe("deterministic refusals are sent once (real loopback servers)", () => {
  // A policy that would retry quickly (real time, a few ms) if it retried at all.
  const eager = { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 2 }
  const chat = Effect.flatMap(OpenAi.OpenAi, (o) =>
    o.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], max_tokens: 5 })
  )
  const counting = (respond: (response: Http.ServerResponse) => void) =>
    Effect.gen(function* () {
      const hits = { count: 0 }
      const { url } = yield* httpServer((request, response) => {
        hits.count++
        request.resume()
        respond(response)
      })
      return { url, hits }
    })

  it.scoped("a body over maxResponseBytes (announced or chunked) is requested exactly once and not retryable", () =>
    Effect.gen(function* () {
      const big = "x".repeat(64 * 1024)
      const announced = yield* counting((response) => {
        response.writeHead(200, { "content-type": "application/json", "content-length": String(big.length) })
        response.end(big)
      })
      const chunked = yield* counting((response) => {
        response.writeHead(200, { "content-type": "application/json" })
        response.write(big.slice(0, 32 * 1024))
        response.end(big.slice(32 * 1024))
      })
      for (const server of [announced, chunked]) {
        const error = yield* Effect.flip(
          chat.pipe(Effect.provide(client(`${server.url}/v1`, { retry: eager, maxResponseBytes: 16 * 1024 })))
        )
        expect(error._tag).toBe("ResponseDecodeFailed")
        expect(error.retryable).toBe(false)
        expect(error.message).toContain("exceeds 16384 bytes")
        expect(server.hits.count).toBe(1)
      }
    })
  )

  it.scoped("response headers over undici's limit are requested exactly once", () =>
    Effect.gen(function* () {
      const server = yield* counting((response) => {
        response.writeHead(200, { "content-type": "application/json", "x-junk": "j".repeat(20 * 1024) })
        response.end("{}")
      })
      const error = yield* Effect.flip(chat.pipe(Effect.provide(client(`${server.url}/v1`, { retry: eager }))))
      expect(error._tag).toBe("ResponseDecodeFailed")
      expect(error.retryable).toBe(false)
      expect(server.hits.count).toBe(1)
    })
  )

  it.scopedLive("4xx other than 408/409/429 is sent once, even with x-should-retry: true; 408 is retried", () =>
    Effect.gen(function* () {
      for (const status of [400, 404, 413, 415, 418, 422]) {
        const server = yield* counting((response) => {
          response.writeHead(status, { "content-type": "application/json", "x-should-retry": "true" })
          response.end(JSON.stringify({ error: { message: `no (${status})` } }))
        })
        const error = yield* Effect.flip(chat.pipe(Effect.provide(client(`${server.url}/v1`, { retry: eager }))))
        expect(error.retryable).toBe(false)
        expect(server.hits.count).toBe(1)
      }
      const timeout = yield* counting((response) => {
        response.writeHead(408)
        response.end()
      })
      yield* Effect.flip(chat.pipe(Effect.provide(client(`${timeout.url}/v1`, { retry: eager }))))
      expect(timeout.hits.count).toBe(eager.maxAttempts)
    })
  )

  it.scoped("a 307 to another host is not followed, names the host, is sent once, and the key goes nowhere", () =>
    Effect.gen(function* () {
      const elsewhere = yield* counting((response) => {
        response.writeHead(200)
        response.end("{}")
      })
      const target = new URL(elsewhere.url)
      const server = yield* counting((response) => {
        response.writeHead(307, { location: `http://localhost:${target.port}/v1/chat/completions` })
        response.end()
      })
      const error = yield* Effect.flip(chat.pipe(Effect.provide(client(`${server.url}/v1`, { retry: eager }))))
      expect(error._tag).toBe("Redirected")
      if (error._tag !== "Redirected") return
      expect(error.status).toBe(307)
      expect(error.locationHost).toBe(`localhost:${target.port}`)
      expect(error.sameHost).toBe(false)
      expect(error.retryable).toBe(false)
      expect(error.message).toContain(`307 (redirect) to localhost:${target.port}`)
      expect(error.message).toContain("not followed")
      expect(error.message).not.toContain("sk-test")
      expect(server.hits.count).toBe(1)
      expect(elsewhere.hits.count).toBe(0)
    })
  )
})
