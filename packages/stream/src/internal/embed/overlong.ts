/**
 * Inputs over the per-input token cap: the longest prefix within it (truncate), or consecutive parts within it
 * (split), cut at character positions found by binary search on the token count (whitespace preferred).
 *
 * @internal
 */
import * as Effect from "effect/Effect"

/** @internal */
export type Count = (text: string) => Effect.Effect<number>

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff

/** The largest `n` with `count(text.slice(0, n)) ≤ limit`, never cutting a surrogate pair. */
const prefixLength = (count: Count, text: string, limit: number): Effect.Effect<number> =>
  Effect.gen(function* () {
    let lo = 0
    let hi = text.length
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2)
      if ((yield* count(text.slice(0, mid))) <= limit) lo = mid
      else hi = mid - 1
    }
    if (lo > 0 && lo < text.length && isHighSurrogate(text.charCodeAt(lo - 1))) lo--
    return Math.max(lo, 1)
  })

/** A cut at the last whitespace of the prefix's final fifth, when there is one. */
const atWhitespace = (text: string, n: number): number => {
  if (n >= text.length) return n
  for (let i = n; i > n * 0.8; i--) if (/\s/.test(text[i - 1]!)) return i
  return n
}

/** @internal */
export interface Piece {
  readonly text: string
  readonly tokens: number
}

/** @internal */
export const truncate = (count: Count, text: string, limit: number): Effect.Effect<Piece> =>
  Effect.gen(function* () {
    const n = yield* prefixLength(count, text, limit)
    const head = text.slice(0, n)
    return { text: head, tokens: yield* count(head) }
  })

/** @internal */
export const split = (count: Count, text: string, limit: number): Effect.Effect<ReadonlyArray<Piece>> =>
  Effect.gen(function* () {
    const pieces: Array<Piece> = []
    let rest = text
    while (rest.length > 0) {
      const whole = yield* count(rest)
      if (whole <= limit) {
        pieces.push({ text: rest, tokens: whole })
        break
      }
      const n = atWhitespace(rest, yield* prefixLength(count, rest, limit))
      const head = rest.slice(0, n)
      pieces.push({ text: head, tokens: yield* count(head) })
      rest = rest.slice(n)
    }
    return pieces
  })

/**
 * The mean of the parts' vectors weighted by their tokens, scaled to unit length (as the API's vectors are).
 *
 * @internal
 */
export const average = (vectors: ReadonlyArray<Float32Array>, weights: ReadonlyArray<number>): Float32Array => {
  const out = new Float32Array(vectors[0]!.length)
  vectors.forEach((vector, k) => {
    const w = weights[k]!
    for (let i = 0; i < out.length; i++) out[i]! += vector[i]! * w
  })
  let norm = 0
  for (let i = 0; i < out.length; i++) norm += out[i]! * out[i]!
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 1
  for (let i = 0; i < out.length; i++) out[i]! *= scale
  return out
}
