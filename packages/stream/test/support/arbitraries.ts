/**
 * Generators for the property tests, built on Effect's `Arbitrary` (Effect 4 has no fast-check): the shapes the
 * Effect 3 tests took from fast-check (`nat`, `option`, `constantFrom`, full-Unicode strings) under the same names.
 */
import { Arbitrary, Schema } from "effect"

/** An integer in [minimum, maximum]. */
export const int = (minimum: number, maximum: number): Arbitrary.Arbitrary<number> =>
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

/** A natural number (0 … 2^31 - 1, as fast-check's `nat`). */
export const nat: Arbitrary.Arbitrary<number> = int(0, 0x7fffffff)

export const boolean: Arbitrary.Arbitrary<boolean> = Arbitrary.schema(Schema.Boolean)

/** One of the values. */
export const constantFrom = <const A extends ReadonlyArray<string>>(...values: A): Arbitrary.Arbitrary<A[number]> =>
  Arbitrary.schema(Schema.Literals(values))

/** The value or `undefined` (fast-check's `option(…, { nil: undefined })`). */
export const option = <A>(self: Arbitrary.Arbitrary<A>): Arbitrary.Arbitrary<A | undefined> =>
  Arbitrary.flatMap(
    boolean,
    (present): Arbitrary.Arbitrary<A | undefined> => (present ? self : Arbitrary.Constant(undefined))
  )

const range = (minimum: number, maximum: number) => Schema.Int.check(Schema.isBetween({ minimum, maximum }))

/**
 * A Unicode code point (no lone surrogate halves), each UTF-8 length (1-4 bytes) about equally likely, so that
 * strings exercise characters split across chunks.
 */
export const codePoint: Arbitrary.Arbitrary<number> = Arbitrary.schema(
  Schema.Union([
    range(0, 0x7f),
    range(0x80, 0x7ff),
    range(0x800, 0xd7ff),
    range(0xe000, 0xffff),
    range(0x10000, 0x10ffff)
  ])
)

/** A string of up to `maxLength` arbitrary code points (fast-check's `string({ unit: "binary" })`). */
export const unicodeString = (maxLength: number): Arbitrary.Arbitrary<string> =>
  Arbitrary.map(Arbitrary.array(codePoint, { maxLength }), (points) => String.fromCodePoint(...points))

/** A string matching the pattern. */
export const stringMatching = (pattern: RegExp): Arbitrary.Arbitrary<string> =>
  Arbitrary.schema(Schema.String.check(Schema.isPattern(pattern)))
