/**
 * The record guards of the hand-written fast paths (`../fastChat.ts`): the one place they are written. Each checks
 * one JSON value the way the schema would accept it.
 *
 * @internal
 */

/** A JSON object, as `JSON.parse` makes it. @internal */
export type Json = Record<string, unknown>

/**
 * A plain JSON object. One with an own `"__proto__"` key (`JSON.parse` makes it an ordinary property) is left to the
 * schema, which drops it: a fast path must return exactly what the schema would.
 *
 * @internal
 */
export const isRecord = (u: unknown): u is Json =>
  typeof u === "object" && u !== null && !Array.isArray(u) && !Object.hasOwn(u, "__proto__")

/** @internal */
export const optionalString = (u: unknown): boolean => u === undefined || typeof u === "string"

/** @internal */
export const optionalNullableString = (u: unknown): boolean => u === undefined || u === null || typeof u === "string"

/** @internal */
export const optionalNumber = (u: unknown): boolean => u === undefined || typeof u === "number"

/** @internal */
export const optionalNullableNumber = (u: unknown): boolean => u === undefined || u === null || typeof u === "number"

/** An optional array whose every element passes `ok`. @internal */
export const optionalArrayOf = (u: unknown, ok: (element: unknown) => boolean): boolean =>
  u === undefined || (Array.isArray(u) && u.every(ok))
