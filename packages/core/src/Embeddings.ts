/**
 * Schemas of the embeddings endpoint (`POST /embeddings`). With `encoding_format: "base64"` the server sends
 * each vector as base64 little-endian float32; the response schema decodes it, so callers always get numbers.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaGetter from "effect/SchemaGetter"
import * as internal from "./internal/embeddings.js"
import * as Wire from "./internal/wire.js"

const Int = Schema.Int

/**
 * The body of `POST /embeddings`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Request = Schema.Struct({
  model: Schema.String.pipe(Schema.check(Schema.isMinLength(1))),
  input: Schema.Union([
    Schema.String,
    Schema.Array(Schema.String).pipe(Schema.check(Schema.isMinLength(1))),
    Schema.Array(Int).pipe(Schema.check(Schema.isMinLength(1))),
    Schema.Array(Schema.Array(Int).pipe(Schema.check(Schema.isMinLength(1)))).pipe(Schema.check(Schema.isMinLength(1)))
  ]),
  encoding_format: Schema.optional(Schema.Literals(["float", "base64"])),
  dimensions: Schema.optional(Int.pipe(Schema.check(Schema.isGreaterThan(0)))),
  user: Schema.optional(Schema.String)
})
/**
 * @since 0.1.0
 * @category models
 */
export type Request = typeof Request.Type

/**
 * A vector decoded from base64: a `Float32Array` that serialises as a JSON array of numbers (`JSON.stringify`
 * gives what the float encoding would have), so a decoded response written back out (a batch journal) is unchanged.
 *
 * @since 0.3.0
 * @category models
 */
export class Float32Vector extends Float32Array {
  toJSON(): Array<number> {
    return internal.numbersOf(this)
  }
}

/**
 * Base64 little-endian float32 → a {@link Float32Vector}, without going through numbers: what `encoding_format:
 * "base64"` sends, at a quarter of the JSON's size and none of its parsing. Fails (a Schema issue) when the
 * bytes are not a whole number of float32s.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Base64Vector = Schema.String.pipe(
  Schema.decodeTo(Schema.instanceOf(Float32Vector), {
    decode: SchemaGetter.transformEffect(internal.fromBase64(Float32Vector)),
    encode: SchemaGetter.transform(internal.toBase64)
  })
)

/**
 * One embedding vector: numbers as the server sent them (`encoding_format: "float"`), or a {@link Float32Vector}
 * decoded from base64.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Embedding = Schema.Struct({
  object: Schema.optional(Schema.String),
  index: Schema.Number.pipe(Schema.withDecodingDefault(Effect.succeed(0))),
  embedding: Schema.Union([Schema.Array(Schema.Number), Base64Vector])
})

/**
 * The response of `POST /embeddings`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EmbeddingList = Schema.Struct({
  object: Schema.optional(Schema.String),
  data: Schema.Array(Embedding),
  model: Wire.stringOrEmpty,
  usage: Schema.optional(
    Schema.NullOr(Schema.Struct({ prompt_tokens: Schema.Number, total_tokens: Schema.optional(Schema.Number) }))
  )
})
/**
 * @since 0.1.0
 * @category models
 */
export type EmbeddingList = typeof EmbeddingList.Type

/**
 * One vector as a `Float32Array`, whichever way the server sent it: base64 (as asked), or an array of numbers
 * (servers that ignore `encoding_format` answer floats).
 *
 * @since 0.3.0
 * @category schemas
 */
export const Vector = Schema.Union([
  Base64Vector,
  Schema.Array(Schema.Finite).pipe(
    Schema.decodeTo(Schema.instanceOf(Float32Array), {
      decode: SchemaGetter.transform((numbers: ReadonlyArray<number>) => Float32Array.from(numbers)),
      encode: SchemaGetter.transform(internal.numbersOf)
    })
  )
])

/**
 * A vector's numbers as a plain array (what `JSON.stringify` writes for it), filled by index: `Array.from` on a
 * typed array goes through its iterator, one result object and one boxed number per element.
 *
 * @since 0.4.0
 * @category conversions
 */
export const toNumbers: (floats: Float32Array) => Array<number> = internal.numbersOf

/**
 * A decoded response's `embedding` (numbers, or the `Float32Array` of a base64 answer) as a `Float32Array`,
 * validated by {@link Vector}: `undefined` when it is neither.
 *
 * @since 0.3.0
 * @category conversions
 */
export const toFloat32: (embedding: unknown) => Float32Array | undefined = internal.toFloat32(
  Schema.decodeUnknownResult(Vector)
)
