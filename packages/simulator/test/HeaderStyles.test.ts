import { describe, expect, it } from "@effect/vitest"
import { Config, RateLimits, Simulator } from "@sluice/simulator"
import { Effect } from "effect"
import { chatBody, post } from "./helpers.js"

const rateHeaders = (h: Headers): Record<string, string> => {
  const out: Record<string, string> = {}
  h.forEach((v, k) => {
    if (k.startsWith("x-ratelimit-") || k.startsWith("retry-after")) out[k] = v
  })
  return out
}

/** A simulator on a hand-driven clock, 10 s into a minute. */
const withClock = (config: Config.Config) =>
  Effect.gen(function* () {
    const clock = { now: 1_800_000_000_000 + 10_000 }
    const sim = yield* Simulator.start({ ...config, clock: () => clock.now })
    const chat = (content = "hi") => post(sim.url, "/chat/completions", chatBody(content, { max_tokens: 10 }))
    return { sim, clock, chat }
  })

describe("rate-limit header styles", () => {
  it.effect("openai: remaining = limit − debt and reset = time to refill agree", () =>
    Effect.gen(function* () {
      const { chat } = yield* withClock({ rpm: 600 })
      const first = yield* chat()
      expect(first.headers.get("x-ratelimit-remaining-requests")).toBe("599")
      expect(first.headers.get("x-ratelimit-reset-requests")).toBe("100ms")
    })
  )

  it.effect("scaled-remaining: remaining is the 1 s bucket's room × 60, reset the true refill; same enforcement", () =>
    Effect.gen(function* () {
      const { sim, clock, chat } = yield* withClock({ rpm: 600, tpm: 60_000, headers: { style: "scaled-remaining" } })
      const first = yield* chat() // 3 + 3 + 1 prompt tokens + 10 max_tokens = 17 tokens
      expect(first.status).toBe(200)
      expect(rateHeaders(first.headers)).toEqual({
        "x-ratelimit-limit-requests": "600",
        "x-ratelimit-remaining-requests": "540", // (10 − 1) × 60
        "x-ratelimit-reset-requests": "100ms",
        "x-ratelimit-limit-tokens": "60000",
        "x-ratelimit-remaining-tokens": String((1000 - 17) * 60),
        "x-ratelimit-reset-tokens": "17ms"
      })
      for (let i = 1; i < 10; i++) expect((yield* chat()).status).toBe(200)
      const tenth = yield* post(sim.url, "/models", {})
      expect(tenth.headers.get("x-ratelimit-remaining-requests")).toBe("0")
      expect(tenth.headers.get("x-ratelimit-reset-requests")).toBe("1s")
      const limited = yield* chat()
      expect(limited.status).toBe(429)
      expect(limited.headers.get("x-ratelimit-remaining-requests")).toBe("0")
      clock.now += 200 // the 429 counted against the request bucket too
      const next = yield* chat()
      expect(next.status).toBe(200) // the real rate: one per 100 ms, whatever "remaining: 0" said
      expect((yield* sim.stats).rateLimited).toBe(1)
      expect(RateLimits.scaledRemaining(600, { debt: 10, at: 0 }, 0)).toBe(0)
      expect(RateLimits.scaledRemaining(600, { debt: 5, at: 0 }, 0)).toBe(300)
    })
  )

  it.effect("none: no x-ratelimit-* or retry-after headers at all, and 429s still enforce the limits", () =>
    Effect.gen(function* () {
      const { sim, clock, chat } = yield* withClock({ rpm: 120, headers: { style: "none" } })
      const ok = yield* chat()
      expect(ok.status).toBe(200)
      expect(rateHeaders(ok.headers)).toEqual({})
      expect((yield* chat()).status).toBe(200)
      const limited = yield* chat()
      expect(limited.status).toBe(429)
      expect(JSON.parse(limited.text).error.code).toBe("rate_limit_exceeded")
      expect(rateHeaders(limited.headers)).toEqual({})
      clock.now += 1000
      expect((yield* chat()).status).toBe(200)
      yield* sim.update({ headers: { style: "none", retryAfterMs: true } })
      const hinted = yield* chat()
      expect(hinted.status).toBe(429)
      expect(rateHeaders(hinted.headers)).toEqual({ "retry-after-ms": "500" })
    })
  )

  it.effect("fixed-window: a minute's limit at once, remaining counts down, reset = time to the minute's end", () =>
    Effect.gen(function* () {
      const { sim, clock, chat } = yield* withClock({ rpm: 3, tpm: 1000, headers: { style: "fixed-window" } })
      const seen: Array<Record<string, string>> = []
      for (let i = 0; i < 3; i++) {
        const r = yield* chat()
        expect(r.status).toBe(200)
        seen.push(rateHeaders(r.headers))
      }
      expect(seen.map((h) => h["x-ratelimit-remaining-requests"])).toEqual(["2", "1", "0"])
      expect(seen.map((h) => h["x-ratelimit-remaining-tokens"])).toEqual(["983", "966", "949"])
      expect(seen[0]!["x-ratelimit-reset-requests"]).toBe("50s")
      expect(seen[0]!["x-ratelimit-limit-requests"]).toBe("3")
      clock.now += 20_000
      const limited = yield* chat()
      expect(limited.status).toBe(429)
      expect(JSON.parse(limited.text).error.type).toBe("requests")
      expect(limited.headers.get("retry-after-ms")).toBe("30000")
      expect(limited.headers.get("retry-after")).toBe("30")
      expect(limited.headers.get("x-ratelimit-reset-requests")).toBe("30s")
      clock.now += 30_000 // the next minute
      const fresh = yield* chat()
      expect(fresh.status).toBe(200)
      expect(fresh.headers.get("x-ratelimit-remaining-requests")).toBe("2")
      expect(fresh.headers.get("x-ratelimit-reset-requests")).toBe("1m0s")
      const big = yield* post(sim.url, "/chat/completions", chatBody("hi", { max_tokens: 980 }))
      expect(big.status).toBe(429) // 17 used + 987 > 1000
      expect(JSON.parse(big.text).error.type).toBe("tokens")
      expect((yield* sim.stats).rateLimited).toBe(2)
    })
  )

  it("fixed windows: pure math", () => {
    const t = 120_000 + 59_999
    const a = RateLimits.takeFixed(2, undefined, 2, t)
    expect(a).toEqual({ admitted: true, window: { start: 120_000, used: 2 }, waitMs: 0 })
    expect(RateLimits.takeFixed(2, a.window, 1, t)).toMatchObject({ admitted: false, waitMs: 1 })
    expect(RateLimits.takeFixed(2, a.window, 1, t + 1)).toMatchObject({ admitted: true })
    expect(RateLimits.takeFixed(2, undefined, 3, t).waitMs).toBe(Number.POSITIVE_INFINITY)
  })

  it("an unknown style is refused", () => {
    expect(() => Config.resolve({ headers: { style: "bogus" as never } })).toThrow(/headers.style must be one of/)
  })
})
