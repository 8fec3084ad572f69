/**
 * Range checks for options: each returns the `InvalidOptions` naming the option, the value and what is allowed,
 * or `undefined`. Modules compose them in their own `validate` (one place per option).
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import { InvalidOptions } from "../Errors.js"

const show = (value: unknown): string =>
  typeof value === "string" ? JSON.stringify(value) : typeof value === "bigint" ? `${value}n` : String(value)

const fail = (option: string, value: unknown, expected: string) =>
  new InvalidOptions({ option, value: show(value), expected })

/** @internal */
export const integer = (option: string, value: unknown, min: number): InvalidOptions | undefined =>
  value === undefined || (typeof value === "number" && Number.isInteger(value) && value >= min)
    ? undefined
    : fail(option, value, `an integer ≥ ${min}`)

/** @internal */
export const number = (
  option: string,
  value: unknown,
  bound: ({ readonly above: number } | { readonly atLeast: number }) & { readonly infinite?: boolean }
): InvalidOptions | undefined => {
  if (value === undefined) return undefined
  if (bound.infinite === true && value === Number.POSITIVE_INFINITY) return undefined
  const ok =
    typeof value === "number" &&
    Number.isFinite(value) &&
    ("above" in bound ? value > bound.above : value >= bound.atLeast)
  return ok
    ? undefined
    : fail(option, value, "above" in bound ? `a number > ${bound.above}` : `a number ≥ ${bound.atLeast}`)
}

/** @internal */
export const oneOf = (option: string, value: unknown, allowed: ReadonlyArray<string>): InvalidOptions | undefined =>
  value === undefined || (typeof value === "string" && allowed.includes(value))
    ? undefined
    : fail(option, value, `one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`)

/**
 * A `Duration.Input` that decodes and is not negative (Effect 4.1 keeps `-5` and `"-5 seconds"` as negative
 * durations, which a timer fires at once, and turns `NaN` into 0 silently); `positive` also refuses zero.
 *
 * @internal
 */
export const duration = (
  option: string,
  value: Duration.Input | undefined,
  positive: boolean
): InvalidOptions | undefined => {
  if (value === undefined) return undefined
  const expected = positive ? 'a duration > 0 (ms, or a string like "10 seconds")' : "a duration ≥ 0"
  if (typeof value === "number" && !(Number.isFinite(value) || value === Number.POSITIVE_INFINITY)) {
    return fail(option, value, expected)
  }
  if (typeof value === "number" && value < 0) return fail(option, value, expected)
  if (typeof value === "string" && /^\s*-/.test(value)) return fail(option, value, expected)
  let decoded: Duration.Duration
  try {
    decoded = Duration.fromInputUnsafe(value)
  } catch {
    return fail(option, value, expected)
  }
  if (Duration.isNegative(decoded) || (positive && Duration.isZero(decoded))) return fail(option, value, expected)
  return undefined
}

/** The first problem of several, or `undefined`. @internal */
export const first = (...checks: ReadonlyArray<InvalidOptions | undefined>): InvalidOptions | undefined =>
  checks.find((check) => check !== undefined)
