/**
 * Schemas of the embeddings endpoint (`POST /embeddings`). With `encoding_format: "base64"` the server sends
 * each vector as base64 little-endian float32; the response schema decodes it, so callers always get numbers.
 *
 * @since 0.1.0
 */
import { Effect, Schema, SchemaGetter, SchemaIssue } from "effect"

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
 * Base64 little-endian float32 → numbers.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Base64Vector = Schema.String.pipe(
  Schema.decodeTo(Schema.Array(Schema.Number), {
    decode: SchemaGetter.transformEffect((text: string) => {
      const bytes = Buffer.from(text, "base64")
      if (bytes.length % 4 !== 0) {
        return Effect.fail(
          new SchemaIssue.InvalidValue({ message: "base64 embedding is not a whole number of float32s" }, text)
        )
      }
      // Copy into a fresh, aligned buffer: a pooled Buffer's offset need not be a multiple of 4.
      const floats = new Float32Array(Uint8Array.from(bytes).buffer)
      return Effect.succeed<ReadonlyArray<number>>(Array.from(floats))
    }),
    encode: SchemaGetter.transform((numbers: ReadonlyArray<number>) =>
      Buffer.from(Float32Array.from(numbers).buffer).toString("base64")
    )
  })
)

/**
 * One embedding vector, as numbers whatever the wire encoding.
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
  model: Schema.String.pipe(Schema.withDecodingDefault(Effect.succeed(""))),
  usage: Schema.optional(
    Schema.NullOr(Schema.Struct({ prompt_tokens: Schema.Number, total_tokens: Schema.optional(Schema.Number) }))
  )
})
/**
 * @since 0.1.0
 * @category models
 */
export type EmbeddingList = typeof EmbeddingList.Type
