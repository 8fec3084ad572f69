/**
 * The wire shapes a chat stream needs: the streaming chunk and the accumulated completion.
 *
 * These mirror the canonical schemas of `@sluice/core/ChatCompletions` field for field (same names,
 * same optionality, same defaults). When core publishes them, replace this file's body with
 * `export { ChatCompletion, ChatCompletionChunk, ToolCall, Usage } from "@sluice/core/ChatCompletions"`.
 *
 * @internal
 */
import { Schema } from "effect"

/** @internal */
export const Usage = Schema.Struct({
  prompt_tokens: Schema.Number,
  completion_tokens: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  total_tokens: Schema.optional(Schema.Number),
  prompt_tokens_details: Schema.optional(
    Schema.NullOr(Schema.Struct({ cached_tokens: Schema.optional(Schema.NullOr(Schema.Number)) }))
  ),
  completion_tokens_details: Schema.optional(
    Schema.NullOr(Schema.Struct({ reasoning_tokens: Schema.optional(Schema.NullOr(Schema.Number)) }))
  )
})
/** @internal */
export type Usage = typeof Usage.Type

/** @internal */
export const ToolCall = Schema.Struct({
  id: Schema.String,
  type: Schema.Literal("function"),
  function: Schema.Struct({ name: Schema.String, arguments: Schema.String })
})
/** @internal */
export type ToolCall = typeof ToolCall.Type

/** @internal */
export const ResponseMessage = Schema.Struct({
  role: Schema.optionalWith(Schema.String, { default: () => "assistant" }),
  content: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  refusal: Schema.optional(Schema.NullOr(Schema.String)),
  tool_calls: Schema.optional(Schema.NullOr(Schema.Array(ToolCall))),
  reasoning_content: Schema.optional(Schema.NullOr(Schema.String))
})

/** @internal */
export const Choice = Schema.Struct({
  index: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  message: ResponseMessage,
  finish_reason: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  logprobs: Schema.optional(Schema.Unknown)
})

/** @internal */
export const ChatCompletion = Schema.Struct({
  id: Schema.optionalWith(Schema.String, { default: () => "" }),
  object: Schema.optional(Schema.String),
  created: Schema.optional(Schema.Number),
  model: Schema.optionalWith(Schema.String, { default: () => "" }),
  system_fingerprint: Schema.optional(Schema.NullOr(Schema.String)),
  service_tier: Schema.optional(Schema.NullOr(Schema.String)),
  choices: Schema.Array(Choice),
  usage: Schema.optional(Schema.NullOr(Usage))
})
/** @internal */
export type ChatCompletion = typeof ChatCompletion.Type

/** @internal */
export const ToolCallDelta = Schema.Struct({
  index: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  id: Schema.optional(Schema.NullOr(Schema.String)),
  type: Schema.optional(Schema.NullOr(Schema.String)),
  function: Schema.optional(
    Schema.NullOr(
      Schema.Struct({
        name: Schema.optional(Schema.NullOr(Schema.String)),
        arguments: Schema.optional(Schema.NullOr(Schema.String))
      })
    )
  )
})

/** @internal */
export const ChunkChoice = Schema.Struct({
  index: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  delta: Schema.optionalWith(
    Schema.Struct({
      role: Schema.optional(Schema.NullOr(Schema.String)),
      content: Schema.optional(Schema.NullOr(Schema.String)),
      refusal: Schema.optional(Schema.NullOr(Schema.String)),
      reasoning_content: Schema.optional(Schema.NullOr(Schema.String)),
      tool_calls: Schema.optional(Schema.NullOr(Schema.Array(ToolCallDelta)))
    }),
    { default: () => ({}) }
  ),
  finish_reason: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  logprobs: Schema.optional(Schema.Unknown)
})

/** @internal */
export const ChatCompletionChunk = Schema.Struct({
  id: Schema.optionalWith(Schema.String, { default: () => "" }),
  object: Schema.optional(Schema.String),
  created: Schema.optional(Schema.Number),
  model: Schema.optional(Schema.String),
  system_fingerprint: Schema.optional(Schema.NullOr(Schema.String)),
  service_tier: Schema.optional(Schema.NullOr(Schema.String)),
  choices: Schema.optionalWith(Schema.Array(ChunkChoice), { default: () => [] }),
  usage: Schema.optional(Schema.NullOr(Usage))
})
/** @internal */
export type ChatCompletionChunk = typeof ChatCompletionChunk.Type
