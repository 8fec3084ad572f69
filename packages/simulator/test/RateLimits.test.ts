import { describe, expect, it } from "@effect/vitest"
import { RateLimits } from "@sluice/simulator"

const goDuration = /^(\d+h)?(\d+m)?(\d+(\.\d+)?s|\d+ms)$/

describe("RateLimits.formatDuration", () => {
  it("formats like Go durations", () => {
    expect(RateLimits.formatDuration(0)).toBe("0s")
    expect(RateLimits.formatDuration(17)).toBe("17ms")
    expect(RateLimits.formatDuration(16.2)).toBe("17ms")
    expect(RateLimits.formatDuration(1000)).toBe("1s")
    expect(RateLimits.formatDuration(1500)).toBe("1.5s")
    expect(RateLimits.formatDuration(8640)).toBe("8.64s")
    expect(RateLimits.formatDuration(360_000)).toBe("6m0s")
    expect(RateLimits.formatDuration(3_723_500)).toBe("1h2m3.5s")
    for (const ms of [1, 99.5, 999, 1001, 59_999, 60_000, 61_250, 7_200_000]) {
      expect(RateLimits.formatDuration(ms)).toMatch(goDuration)
    }
  })
})

describe("RateLimits buckets (explicit times)", () => {
  const t0 = 1_000_000

  it("a per-minute limit of 600 admits 10 at once, then one every 100 ms", () => {
    let bucket = RateLimits.empty(t0)
    for (let i = 0; i < 10; i++) {
      const d = RateLimits.take(600, bucket, 1, t0)
      expect(d.admitted).toBe(true)
      bucket = d.bucket
    }
    const rejected = RateLimits.take(600, bucket, 1, t0)
    expect(rejected.admitted).toBe(false)
    expect(rejected.waitMs).toBeCloseTo(100, 6)
    expect(RateLimits.take(600, bucket, 1, t0 + 99).admitted).toBe(false)
    const later = RateLimits.take(600, bucket, 1, t0 + 100)
    expect(later.admitted).toBe(true)
    // continuous refill: after 1 s the whole window is available again
    expect(RateLimits.remaining(600, bucket, t0)).toBe(590)
    expect(RateLimits.resetMs(600, bucket, t0)).toBeCloseTo(1000, 6)
    expect(RateLimits.remaining(600, bucket, t0 + 1000)).toBe(600)
  })

  it("never admits more than limit/60 + rate × elapsed in any window", () => {
    let bucket = RateLimits.empty(t0)
    let admitted = 0
    // hammer every 10 ms for 5 s
    for (let t = t0; t < t0 + 5000; t += 10) {
      const d = RateLimits.take(600, bucket, 1, t)
      bucket = d.bucket
      if (d.admitted) admitted++
    }
    expect(admitted).toBeLessThanOrEqual(10 + 50)
    expect(admitted).toBeGreaterThanOrEqual(58)
  })

  it("rejected requests still count against the request limit", () => {
    const limits = { rpm: 60, tpm: undefined }
    let buckets = { requests: RateLimits.empty(t0), tokens: RateLimits.empty(t0) }
    const first = RateLimits.admit(limits, buckets, 10, t0)
    expect(first.admitted).toBe(true)
    buckets = first.buckets
    const second = RateLimits.admit(limits, buckets, 10, t0 + 500)
    expect(second.admitted).toBe(false)
    expect(second.scope).toBe("requests")
    buckets = second.buckets
    // without the rejected attempt this would be admitted at t0 + 1000
    expect(RateLimits.admit(limits, first.buckets, 10, t0 + 1000).admitted).toBe(true)
    const third = RateLimits.admit(limits, buckets, 10, t0 + 1000)
    expect(third.admitted).toBe(false)
    // debt 1.5 at +500 ms drains to 1.0 at +1000 ms; one more fits once it is 0: 1 s later
    expect(third.waitMs).toBeCloseTo(1000, 6)
  })

  it("charges tokens at admission, not on rejection; large requests wait for a full bucket", () => {
    const limits = { rpm: undefined, tpm: 60_000 } // 1,000 tokens per ~1 s window
    let buckets = { requests: RateLimits.empty(t0), tokens: RateLimits.empty(t0) }
    const a = RateLimits.admit(limits, buckets, 800, t0)
    expect(a.admitted).toBe(true)
    buckets = a.buckets
    const b = RateLimits.admit(limits, buckets, 800, t0 + 100)
    expect(b.admitted).toBe(false)
    expect(b.scope).toBe("tokens")
    expect(b.buckets.tokens.debt).toBeCloseTo(700, 6) // not charged
    expect(b.waitMs).toBeCloseTo(500, 6)
    expect(RateLimits.admit(limits, b.buckets, 800, t0 + 600).admitted).toBe(true)
    // 5,000 tokens > one window: admitted only from an empty (fully refilled) bucket
    expect(RateLimits.admit(limits, a.buckets, 5000, t0 + 700).admitted).toBe(false)
    expect(RateLimits.admit(limits, a.buckets, 5000, t0 + 800).admitted).toBe(true)
    // more than a minute's worth can never be admitted
    expect(RateLimits.admit(limits, buckets, 60_001, t0 + 1e9).waitMs).toBe(Number.POSITIVE_INFINITY)
  })

  it("reports headers in the real formats", () => {
    const limits = { rpm: 600, tpm: 60_000 }
    const a = RateLimits.admit(limits, { requests: RateLimits.empty(t0), tokens: RateLimits.empty(t0) }, 300, t0)
    const h = RateLimits.headers(limits, a.buckets, t0)
    expect(h).toEqual({
      "x-ratelimit-limit-requests": "600",
      "x-ratelimit-remaining-requests": "599",
      "x-ratelimit-reset-requests": "100ms",
      "x-ratelimit-limit-tokens": "60000",
      "x-ratelimit-remaining-tokens": "59700",
      "x-ratelimit-reset-tokens": "300ms"
    })
  })
})
