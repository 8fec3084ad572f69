/**
 * Schema pieces the wire schemas (`ChatCompletions`, `Responses`, `Batches`, `Files`) share: the tolerant defaults
 * for fields compatible servers omit, and the list envelope.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/** @internal */
export const optionalNullable = <S extends Schema.Top>(schema: S) => Schema.optional(Schema.NullOr(schema))

/** A string that decodes to `""` when the server leaves it out. @internal */
export const stringOrEmpty = Schema.String.pipe(Schema.withDecodingDefault(Effect.succeed("")))

/** An array that decodes to `[]` when the server leaves it out. @internal */
export const arrayOrEmpty = <S extends Schema.Top>(item: S) =>
  Schema.Array(item).pipe(Schema.withDecodingDefault(Effect.sync(() => [])))

/** The envelope of a paginated list (`GET /files`, `GET /batches`). @internal */
export const listOf = <S extends Schema.Top>(item: S) =>
  Schema.Struct({
    object: Schema.optional(Schema.String),
    data: Schema.Array(item),
    first_id: optionalNullable(Schema.String),
    last_id: optionalNullable(Schema.String),
    has_more: Schema.optional(Schema.Boolean)
  })
