/**
 * Schemas of the Batch API (`/batches`): create, retrieve, list, cancel.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as Wire from "./internal/wire.js"

const Timestamp = Schema.optional(Schema.NullOr(Schema.Number))

/**
 * The endpoints a batch can target.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Endpoint = Schema.Literals(["/v1/responses", "/v1/chat/completions", "/v1/embeddings", "/v1/completions"])

/**
 * The body of `POST /batches`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CreateRequest = Schema.Struct({
  input_file_id: Schema.String.pipe(Schema.check(Schema.isMinLength(1))),
  endpoint: Endpoint,
  completion_window: Schema.Literal("24h"),
  metadata: Schema.optional(Schema.Record(Schema.String, Schema.String))
})
/**
 * @since 0.1.0
 * @category models
 */
export type CreateRequest = typeof CreateRequest.Type

/**
 * Query of `GET /batches`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ListRequest = Schema.Struct({
  after: Schema.optional(Schema.String),
  limit: Schema.optional(Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum: 1, maximum: 100 }))))
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
export const RequestCounts = Schema.Struct({
  total: Schema.Number,
  completed: Schema.Number,
  failed: Schema.Number
})

/**
 * A batch. `status`: validating, failed, in_progress, finalizing, completed, expired, cancelling, cancelled.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Batch = Schema.Struct({
  id: Schema.String,
  object: Schema.optional(Schema.String),
  endpoint: Schema.optional(Schema.String),
  errors: Schema.optional(Schema.NullOr(Schema.Unknown)),
  input_file_id: Schema.optional(Schema.String),
  completion_window: Schema.optional(Schema.String),
  status: Schema.String,
  output_file_id: Schema.optional(Schema.NullOr(Schema.String)),
  error_file_id: Schema.optional(Schema.NullOr(Schema.String)),
  created_at: Schema.optional(Schema.Number),
  in_progress_at: Timestamp,
  expires_at: Timestamp,
  finalizing_at: Timestamp,
  completed_at: Timestamp,
  failed_at: Timestamp,
  expired_at: Timestamp,
  cancelling_at: Timestamp,
  cancelled_at: Timestamp,
  request_counts: Schema.optional(Schema.NullOr(RequestCounts)),
  metadata: Schema.optional(Schema.NullOr(Schema.Record(Schema.String, Schema.String)))
})
/**
 * @since 0.1.0
 * @category models
 */
export type Batch = typeof Batch.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const BatchList = Wire.listOf(Batch)
/**
 * @since 0.1.0
 * @category models
 */
export type BatchList = typeof BatchList.Type
