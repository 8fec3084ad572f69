/**
 * The wire shapes a chat stream needs, from `@sluice/core/ChatCompletions` (the canonical schemas), plus a
 * fast path for decoding the common chunk shapes without running the schema.
 *
 * @internal
 */
import { ChatCompletions, Decoding } from "@sluice/core"
import * as Result from "effect/Result"

/** @internal */
export const Usage = ChatCompletions.Usage
/** @internal */
export type Usage = ChatCompletions.Usage
/** @internal */
export const ToolCall = ChatCompletions.ToolCall
/** @internal */
export type ToolCall = ChatCompletions.ToolCall
/** @internal */
export const ChatCompletion = ChatCompletions.ChatCompletion
/** @internal */
export type ChatCompletion = ChatCompletions.ChatCompletion
/** @internal */
export const ChatCompletionChunk = ChatCompletions.ChatCompletionChunk
/** @internal */
export type ChatCompletionChunk = ChatCompletions.ChatCompletionChunk

// --- fast path ------------------------------------------------------------------------------------
// Schema decoding costs 30–80 µs per chunk; a stream delivers many small chunks. This hand-written
// check accepts the common shapes (text and tool-call deltas) in about a microsecond, filling the
// same defaults as the schema in place (the object is a fresh `JSON.parse` result, so unknown fields
// stay). Anything it is unsure about returns `undefined` and goes through the schema, which also
// produces the error message. A property test checks it agrees with the schema.

type Json = Record<string, unknown>
// An own "__proto__" key (JSON.parse makes one) is left to the schema, which drops it: the fast path must return
// exactly what the schema would.
const isRecord = (u: unknown): u is Json =>
  typeof u === "object" && u !== null && !Array.isArray(u) && !Object.hasOwn(u, "__proto__")
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

const decodeChunkResult = Decoding.decoder(ChatCompletionChunk)

/**
 * The schema's (tolerant: unknown fields kept) decoding of a chunk, what the fast path falls back to; the failure as
 * a readable message.
 *
 * @internal
 */
export const decodeChunk = (u: unknown): Result.Result<ChatCompletionChunk, string> =>
  Result.mapError(decodeChunkResult(u), (problems) =>
    problems
      .map((problem) =>
        problem.path.length === 0 ? problem.message : `${Decoding.formatPath(problem.path)}: ${problem.message}`
      )
      .join("; ")
  )

/**
 * A chunk from an event's JSON: the fast path, else the schema; a string says why it is not one.
 *
 * @internal
 */
export const decode = (json: unknown): ChatCompletionChunk | string => {
  const fast = fastChunk(json)
  if (fast !== undefined) return fast
  const decoded = decodeChunk(json)
  return Result.isSuccess(decoded) ? decoded.success : decoded.failure
}

/**
 * Whether an event's JSON is an error the server reported in the stream (an object with a non-null `error`).
 *
 * @internal
 */
export const isErrorPayload = (json: unknown): boolean =>
  typeof json === "object" && json !== null && (json as { readonly error?: unknown }).error != null

/**
 * The content delta of choice 0, if any.
 *
 * @internal
 */
export const firstContent = (chunk: ChatCompletionChunk): string | null | undefined => {
  const choices = chunk.choices
  for (let i = 0; i < choices.length; i++) if (choices[i]!.index === 0) return choices[i]!.delta.content
  return undefined
}
