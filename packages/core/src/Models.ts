/**
 * Schemas of the models endpoints (`GET /models`, `GET /models/{model}`). Model lifecycle (deprecation and
 * retirement) lives in `ModelLifecycle`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 * @category schemas
 */
export const Model = Schema.Struct({
  id: Schema.String,
  object: Schema.optional(Schema.String),
  created: Schema.optional(Schema.Number),
  owned_by: Schema.optional(Schema.String)
})
/**
 * @since 0.1.0
 * @category models
 */
export type Model = typeof Model.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const ModelList = Schema.Struct({
  object: Schema.optional(Schema.String),
  data: Schema.Array(Model)
})
/**
 * @since 0.1.0
 * @category models
 */
export type ModelList = typeof ModelList.Type
