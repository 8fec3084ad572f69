/**
 * The bodies of `RateLimitHeaders`: Go-style durations, `retry-after`, and the one header lookup that the
 * snapshot and the error classification share. It imports `RateLimitHeaders` (for `RateLimitSnapshot`) and is
 * imported by it: nothing here touches that import at load time, and `RateLimitHeaders` calls in only from its
 * functions, so either module may load first.
 *
 * @internal
 */
import { type HeaderSource, RateLimitSnapshot } from "../RateLimitHeaders.js"

const unitMs: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 }
const goDurationPart = /(\d+(?:\.\d*)?|\.\d+)(ms|us|µs|ns|h|m|s)/y

/** @internal */
export const parseDuration = (input: string | undefined): number | undefined => {
  if (input === undefined) return undefined
  const text = input.trim()
  if (text.length === 0 || text.length > 64) return undefined
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text) * 1000
  let total = 0
  let index = 0
  while (index < text.length) {
    goDurationPart.lastIndex = index
    const match = goDurationPart.exec(text)
    if (match === null) return undefined
    total += Number(match[1]) * unitMs[match[2]!]!
    index = goDurationPart.lastIndex
  }
  return Number.isFinite(total) ? total : undefined
}

const parseCount = (input: string | undefined): number | undefined => {
  if (input === undefined) return undefined
  const text = input.trim()
  if (!/^\d{1,15}$/.test(text)) return undefined
  return Number(text)
}

/** @internal */
export const parseRetryAfter = (input: string | undefined, nowMs: number): number | undefined => {
  if (input === undefined) return undefined
  const text = input.trim()
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text) * 1000
  if (!/[a-z]/i.test(text)) return undefined
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs)
}

const parseMs = (input: string | undefined): number | undefined => {
  if (input === undefined) return undefined
  const text = input.trim()
  return /^\d+(?:\.\d+)?$/.test(text) ? Number(text) : undefined
}

/** A case-sensitive lookup of lower-case header names in a `Headers`-like object or a plain record. @internal */
export const headerGetter = (headers: HeaderSource): ((name: string) => string | undefined) => {
  if (typeof (headers as { get?: unknown }).get === "function") {
    const source = headers as { readonly get: (name: string) => string | null | undefined }
    return (name) => source.get(name) ?? undefined
  }
  const record = headers as Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  return (name) => {
    const value = record[name]
    return typeof value === "string" ? value : value?.[0]
  }
}

/** @internal */
export const parse = (headers: HeaderSource, nowMs: number): RateLimitSnapshot => {
  const get = headerGetter(headers)
  const shouldRetry = get("x-should-retry")?.trim().toLowerCase()
  const retryAfterMs = parseMs(get("retry-after-ms")) ?? parseRetryAfter(get("retry-after"), nowMs)
  const fields = withoutUndefined({
    limitRequests: parseCount(get("x-ratelimit-limit-requests")),
    limitTokens: parseCount(get("x-ratelimit-limit-tokens")),
    remainingRequests: parseCount(get("x-ratelimit-remaining-requests")),
    remainingTokens: parseCount(get("x-ratelimit-remaining-tokens")),
    resetRequestsMs: parseDuration(get("x-ratelimit-reset-requests")),
    resetTokensMs: parseDuration(get("x-ratelimit-reset-tokens")),
    retryAfterMs,
    shouldRetry: shouldRetry === "true" ? true : shouldRetry === "false" ? false : undefined
  })
  // Servers that send none of the headers (most compatible ones) share one empty snapshot: making one costs a
  // few microseconds of validation on every response.
  if (Object.keys(fields).length > 0) return trusted(fields)
  empty ??= RateLimitSnapshot.make({})
  return empty
}

/**
 * A snapshot of fields this module parsed itself (numbers and booleans, `undefined` dropped): `make` would
 * validate them again against the schema, ~1.8 µs per response, for a value that cannot fail it. Same
 * prototype (equality, `toString`, `instanceof`) and the same own fields as `make`'s.
 */
const trusted = (fields: Partial<Record<keyof RateLimitSnapshot, number | boolean>>): RateLimitSnapshot =>
  Object.assign(Object.create(RateLimitSnapshot.prototype) as RateLimitSnapshot, fields)

/** Made on the first response without headers (`RateLimitSnapshot` is defined by the module importing this one). */
let empty: RateLimitSnapshot | undefined

const withoutUndefined = <A extends Record<string, unknown>>(
  record: A
): { [K in keyof A]: Exclude<A[K], undefined> } => {
  const out: Record<string, unknown> = {}
  for (const key in record) if (record[key] !== undefined) out[key] = record[key]
  return out as { [K in keyof A]: Exclude<A[K], undefined> }
}
