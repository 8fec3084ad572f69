/** The bodies of `RateLimits`: pure rate-limit math over explicit times. */
import type {
  Admission,
  Bucket,
  Decision,
  HeaderStyle,
  KeyBuckets,
  KeyWindows,
  Limits,
  Window,
  WindowAdmission
} from "../RateLimits.js"

export const empty = (now: number): Bucket => ({ debt: 0, at: now })

export const ratePerMs = (limit: number): number => limit / 60_000

export const windowSize = (limit: number): number => limit / 60

export const drain = (limit: number, bucket: Bucket, now: number): Bucket => {
  const elapsed = Math.max(0, now - bucket.at)
  return { debt: Math.max(0, bucket.debt - elapsed * ratePerMs(limit)), at: Math.max(now, bucket.at) }
}

export const take = (limit: number, bucket: Bucket, cost: number, now: number): Decision => {
  const drained = drain(limit, bucket, now)
  if (cost > limit) return { admitted: false, bucket: drained, waitMs: Number.POSITIVE_INFINITY }
  const ceiling = Math.max(windowSize(limit), cost)
  const excess = drained.debt + cost - ceiling
  // Tolerate float noise so a bucket that drained exactly to the line admits.
  if (excess <= 1e-9) return { admitted: true, bucket: { debt: drained.debt + cost, at: drained.at }, waitMs: 0 }
  return { admitted: false, bucket: drained, waitMs: excess / ratePerMs(limit) }
}

export const charge = (limit: number, bucket: Bucket, cost: number, now: number): Bucket => {
  const drained = drain(limit, bucket, now)
  return { debt: Math.min(limit, drained.debt + cost), at: drained.at }
}

export const remaining = (limit: number, bucket: Bucket, now: number): number =>
  Math.max(0, Math.floor(limit - drain(limit, bucket, now).debt))

export const resetMs = (limit: number, bucket: Bucket, now: number): number =>
  drain(limit, bucket, now).debt / ratePerMs(limit)

export const formatDuration = (ms: number): string => {
  if (!(ms > 0)) return "0s"
  if (ms < 1000) return `${Math.ceil(ms)}ms`
  const total = Math.round(ms)
  const hours = Math.floor(total / 3_600_000)
  const minutes = Math.floor((total % 3_600_000) / 60_000)
  const millis = total % 60_000
  const seconds = `${Math.floor(millis / 1000)}${
    millis % 1000 === 0
      ? ""
      : `.${String(millis % 1000)
          .padStart(3, "0")
          .replace(/0+$/, "")}`
  }s`
  if (hours > 0) return `${hours}h${minutes}m${seconds}`
  if (minutes > 0) return `${minutes}m${seconds}`
  return seconds
}

export const admit = (limits: Limits, buckets: KeyBuckets, tokens: number, now: number): Admission => {
  const req = limits.rpm === undefined ? undefined : take(limits.rpm, buckets.requests, 1, now)
  const tok = limits.tpm === undefined ? undefined : take(limits.tpm, buckets.tokens, tokens, now)
  if ((req === undefined || req.admitted) && (tok === undefined || tok.admitted)) {
    return {
      admitted: true,
      scope: undefined,
      buckets: { requests: req?.bucket ?? buckets.requests, tokens: tok?.bucket ?? buckets.tokens },
      waitMs: 0
    }
  }
  const scope = req !== undefined && !req.admitted ? "requests" : "tokens"
  const waitMs = Math.max(req?.admitted === false ? req.waitMs : 0, tok?.admitted === false ? tok.waitMs : 0)
  return {
    admitted: false,
    scope,
    buckets: {
      requests: limits.rpm === undefined ? buckets.requests : charge(limits.rpm, buckets.requests, 1, now),
      tokens: tok?.bucket ?? buckets.tokens
    },
    waitMs
  }
}

export const headers = (limits: Limits, buckets: KeyBuckets, now: number): Record<string, string> => {
  const out: Record<string, string> = {}
  if (limits.rpm !== undefined) {
    out["x-ratelimit-limit-requests"] = String(limits.rpm)
    out["x-ratelimit-remaining-requests"] = String(remaining(limits.rpm, buckets.requests, now))
    out["x-ratelimit-reset-requests"] = formatDuration(resetMs(limits.rpm, buckets.requests, now))
  }
  if (limits.tpm !== undefined) {
    out["x-ratelimit-limit-tokens"] = String(limits.tpm)
    out["x-ratelimit-remaining-tokens"] = String(remaining(limits.tpm, buckets.tokens, now))
    out["x-ratelimit-reset-tokens"] = formatDuration(resetMs(limits.tpm, buckets.tokens, now))
  }
  return out
}

export const headerStyles: ReadonlyArray<HeaderStyle> = ["openai", "scaled-remaining", "none", "fixed-window"]

export const scaledRemaining = (limit: number, bucket: Bucket, now: number): number =>
  Math.max(0, Math.floor((windowSize(limit) - drain(limit, bucket, now).debt) * 60))

export const headersIn = (
  style: Exclude<HeaderStyle, "fixed-window">,
  limits: Limits,
  buckets: KeyBuckets,
  now: number
): Record<string, string> => {
  if (style === "none") return {}
  if (style === "openai") return headers(limits, buckets, now)
  const out = headers(limits, buckets, now)
  if (limits.rpm !== undefined) {
    out["x-ratelimit-remaining-requests"] = String(scaledRemaining(limits.rpm, buckets.requests, now))
  }
  if (limits.tpm !== undefined) {
    out["x-ratelimit-remaining-tokens"] = String(scaledRemaining(limits.tpm, buckets.tokens, now))
  }
  return out
}

export const windowMs = 60_000

export const current = (window: Window | undefined, now: number): Window => {
  const start = Math.floor(now / windowMs) * windowMs
  return window !== undefined && window.start === start ? window : { start, used: 0 }
}

export const takeFixed = (
  limit: number,
  window: Window | undefined,
  cost: number,
  now: number
): { readonly admitted: boolean; readonly window: Window; readonly waitMs: number } => {
  const w = current(window, now)
  if (cost > limit) return { admitted: false, window: w, waitMs: Number.POSITIVE_INFINITY }
  if (w.used + cost <= limit) return { admitted: true, window: { start: w.start, used: w.used + cost }, waitMs: 0 }
  return { admitted: false, window: w, waitMs: w.start + windowMs - now }
}

export const admitFixed = (limits: Limits, windows: KeyWindows, tokens: number, now: number): WindowAdmission => {
  const req = limits.rpm === undefined ? undefined : takeFixed(limits.rpm, windows.requests, 1, now)
  const tok = limits.tpm === undefined ? undefined : takeFixed(limits.tpm, windows.tokens, tokens, now)
  const admitted = (req === undefined || req.admitted) && (tok === undefined || tok.admitted)
  if (admitted) {
    return {
      admitted,
      scope: undefined,
      windows: { requests: req?.window ?? windows.requests, tokens: tok?.window ?? windows.tokens },
      waitMs: 0
    }
  }
  return {
    admitted,
    scope: req !== undefined && !req.admitted ? "requests" : "tokens",
    windows,
    waitMs: Math.max(req?.admitted === false ? req.waitMs : 0, tok?.admitted === false ? tok.waitMs : 0)
  }
}

export const fixedHeaders = (limits: Limits, windows: KeyWindows, now: number): Record<string, string> => {
  const out: Record<string, string> = {}
  const put = (suffix: "requests" | "tokens", limit: number, window: Window | undefined) => {
    const w = current(window, now)
    out[`x-ratelimit-limit-${suffix}`] = String(limit)
    out[`x-ratelimit-remaining-${suffix}`] = String(Math.max(0, Math.floor(limit - w.used)))
    out[`x-ratelimit-reset-${suffix}`] = formatDuration(w.start + windowMs - now)
  }
  if (limits.rpm !== undefined) put("requests", limits.rpm, windows.requests)
  if (limits.tpm !== undefined) put("tokens", limits.tpm, windows.tokens)
  return out
}
