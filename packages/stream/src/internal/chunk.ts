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

// --- fast path ------------------------------------------------------------------------------------
// Schema decoding costs 30–80 µs per chunk; a stream delivers many small chunks. This hand-written
// check accepts the common shapes (text and tool-call deltas) in about a microsecond, filling the
// same defaults as the schema in place (the object is a fresh `JSON.parse` result, so unknown fields
// stay). Anything it is unsure about returns `undefined` and goes through the schema, which also
// produces the error message. A property test checks it agrees with the schema.

type Json = Record<string, unknown>
const isRecord = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)
const optionalString = (u: unknown) => u === undefined || typeof u === "string"
const optionalNullableString = (u: unknown) => u === undefined || u === null || typeof u === "string"
const optionalNumber = (u: unknown) => u === undefined || typeof u === "number"

const toolCallDeltaOk = (call: unknown): boolean => {
  if (!isRecord(call) || !optionalNumber(call.index)) return false
  if (!optionalNullableString(call.id) || !optionalNullableString(call.type)) return false
  const fn = call.function
  if (fn !== undefined && fn !== null) {
    if (!isRecord(fn) || !optionalNullableString(fn.name) || !optionalNullableString(fn.arguments)) return false
  }
  return true
}

const choiceOk = (choice: unknown): boolean => {
  if (!isRecord(choice) || !optionalNumber(choice.index) || !optionalNullableString(choice.finish_reason)) return false
  const delta = choice.delta
  if (delta === undefined) return true
  if (!isRecord(delta)) return false
  if (!optionalNullableString(delta.role) || !optionalNullableString(delta.content)) return false
  if (!optionalNullableString(delta.refusal) || !optionalNullableString(delta.reasoning_content)) return false
  const calls = delta.tool_calls
  if (calls === undefined || calls === null) return true
  return Array.isArray(calls) && calls.every(toolCallDeltaOk)
}

/** @internal */
export const fastChunk = (u: unknown): ChatCompletionChunk | undefined => {
  if (!isRecord(u)) return undefined
  if (!optionalString(u.id) || !optionalString(u.object) || !optionalNumber(u.created) || !optionalString(u.model)) {
    return undefined
  }
  if (!optionalNullableString(u.system_fingerprint) || !optionalNullableString(u.service_tier)) return undefined
  if (u.usage !== undefined && u.usage !== null) return undefined
  const choices = u.choices
  if (choices !== undefined && !(Array.isArray(choices) && choices.every(choiceOk))) return undefined
  if (u.id === undefined) u.id = ""
  if (choices === undefined) {
    u.choices = []
  } else {
    for (const choice of choices as Array<Json>) {
      if (choice.index === undefined) choice.index = 0
      if (choice.finish_reason === undefined) choice.finish_reason = null
      if (choice.delta === undefined) choice.delta = {}
      const calls = (choice.delta as Json).tool_calls
      if (Array.isArray(calls)) for (const call of calls as Array<Json>) if (call.index === undefined) call.index = 0
    }
  }
  return u as unknown as ChatCompletionChunk
}
