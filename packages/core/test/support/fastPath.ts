import { expect } from "@effect/vitest"
import { Result } from "effect"
import type { Decoding } from "@sluice/core"

/** A fresh `JSON.parse` copy, as a fast path receives its input. */
export const json = (u: unknown): unknown => JSON.parse(JSON.stringify(u))

/**
 * Checks that a fast path, whenever it accepts a candidate, returns exactly what the schema's tolerant decoder
 * returns; counts the accepted ones (so a test can show the property was not vacuous).
 */
export const agreement = <A>(fast: (u: unknown) => A | undefined, slow: Decoding.Decoder<A>) => {
  const counter = { accepted: 0 }
  const check = (candidates: ReadonlyArray<unknown>): void => {
    for (const candidate of candidates) {
      const expected = slow(json(candidate))
      const actual = fast(json(candidate))
      if (actual !== undefined) {
        counter.accepted++
        expect(Result.isSuccess(expected)).toBe(true)
        expect(actual).toEqual(Result.getOrThrow(expected))
      }
    }
  }
  return { check, counter }
}
