/**
 * Schemas of the files endpoints (`/files`): upload (multipart), retrieve, content, delete, list.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as Wire from "./internal/wire.js"

/**
 * @since 0.1.0
 * @category schemas
 */
export const Purpose = Schema.Literals(["assistants", "batch", "fine-tune", "vision", "user_data", "evals"])
/**
 * @since 0.1.0
 * @category models
 */
export type Purpose = typeof Purpose.Type

/**
 * What `files.create` uploads: the bytes, the file name the server records, and the purpose.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CreateRequest = Schema.Struct({
  file: Schema.Uint8Array,
  filename: Schema.String.pipe(Schema.check(Schema.isMinLength(1))),
  purpose: Purpose,
  expires_after: Schema.optional(Schema.Struct({ anchor: Schema.Literal("created_at"), seconds: Schema.Int }))
})
/**
 * @since 0.1.0
 * @category models
 */
export type CreateRequest = typeof CreateRequest.Type

/**
 * Query of `GET /files`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ListRequest = Schema.Struct({
  purpose: Schema.optional(Schema.String),
  limit: Schema.optional(Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum: 1, maximum: 10_000 })))),
  after: Schema.optional(Schema.String),
  order: Schema.optional(Schema.Literals(["asc", "desc"]))
})
/**
 * @since 0.1.0
 * @category models
 */
export type ListRequest = typeof ListRequest.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const FileObject = Schema.Struct({
  id: Schema.String,
  object: Schema.optional(Schema.String),
  bytes: Schema.optional(Schema.NullOr(Schema.Number)),
  created_at: Schema.optional(Schema.Number),
  expires_at: Schema.optional(Schema.NullOr(Schema.Number)),
  filename: Schema.optional(Schema.String),
  purpose: Schema.optional(Schema.String),
  status: Schema.optional(Schema.String),
  status_details: Schema.optional(Schema.NullOr(Schema.String))
})
/**
 * @since 0.1.0
 * @category models
 */
export type FileObject = typeof FileObject.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const FileList = Wire.listOf(FileObject)
/**
 * @since 0.1.0
 * @category models
 */
export type FileList = typeof FileList.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const FileDeleted = Schema.Struct({
  id: Schema.String,
  object: Schema.optional(Schema.String),
  deleted: Schema.Boolean
})
/**
 * @since 0.1.0
 * @category models
 */
export type FileDeleted = typeof FileDeleted.Type
