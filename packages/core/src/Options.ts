/**
 * Range checks for options, the ones core's modules use in their own `validate`: each returns the
 * `InvalidOptions` naming the option, the value and what is allowed, or `undefined` (also for an option left
 * out). For the packages built on core (`@sluice/stream`'s `Batch`, …), so that one option rule has one place.
 *
 * @since 0.2.0
 */
import type * as Duration from "effect/Duration"
import type { InvalidOptions } from "./Errors.js"
import * as internal from "./internal/options.js"

/**
 * An integer ≥ `min`.
 *
 * @since 0.2.0
 * @category validation
 */
export const integer: (option: string, value: unknown, min: number) => InvalidOptions | undefined = internal.integer

/**
 * A finite number above (or at least) a bound; with `infinite: true`, `Infinity` too.
 *
 * @since 0.2.0
 * @category validation
 */
export const number: (
  option: string,
  value: unknown,
  bound: ({ readonly above: number } | { readonly atLeast: number }) & { readonly infinite?: boolean }
) => InvalidOptions | undefined = internal.number

/**
 * One of the `allowed` strings.
 *
 * @since 0.2.0
 * @category validation
 */
export const oneOf: (option: string, value: unknown, allowed: ReadonlyArray<string>) => InvalidOptions | undefined =
  internal.oneOf

/**
 * A `Duration.Input` that decodes and is not negative (Effect 4.1 keeps `-5` and `"-5 seconds"` as negative
 * durations, which a timer fires at once, and turns `NaN` into 0 silently); `positive` also refuses zero.
 *
 * @since 0.2.0
 * @category validation
 */
export const duration: (
  option: string,
  value: Duration.Input | undefined,
  positive: boolean
) => InvalidOptions | undefined = internal.duration

/**
 * The first problem of several, or `undefined`.
 *
 * @since 0.2.0
 * @category validation
 */
export const first: (...checks: ReadonlyArray<InvalidOptions | undefined>) => InvalidOptions | undefined =
  internal.first
