/**
 * Fast paths for decoding the common `ChatCompletion` and `ChatCompletionChunk` shapes without running their
 * schemas.
 *
 * Schema decoding of a small chat completion costs ~15–45 µs, of a stream chunk 30–80 µs (every optional-with-default
 * field is a transformation); these checks take a microsecond or two. They accept plain text (and refusal /
 * reasoning) answers with or without usage, and text, refusal, reasoning and tool-call deltas, fill the same
 * defaults as the schema in place (the object is a fresh `JSON.parse` result, so unknown fields stay, as with
 * `Decoding`, which keeps them after the schema), and return `undefined` for anything they are unsure about (a
 * completion's tool calls, odd types, an own `__proto__` key), which then goes through the schema — which also writes
 * the error message. Property tests check that whenever they accept, they return exactly what the schema returns.
 *
 * @internal
 */
import type { ChatCompletion, ChatCompletionChunk } from "../ChatCompletions.js"
import {
  isRecord,
  type Json,
  optionalArrayOf,
  optionalNullableNumber,
  optionalNullableString,
  optionalNumber,
  optionalString
} from "./decoding/guards.js"

const detailsOk = (u: unknown, field: string): boolean =>
  u === undefined || u === null || (isRecord(u) && optionalNullableNumber(u[field]))

const usageOk = (u: unknown): boolean =>
  u === undefined ||
  u === null ||
  (isRecord(u) &&
    typeof u.prompt_tokens === "number" &&
    optionalNumber(u.completion_tokens) &&
    optionalNumber(u.total_tokens) &&
    detailsOk(u.prompt_tokens_details, "cached_tokens") &&
    detailsOk(u.completion_tokens_details, "reasoning_tokens"))

/** The fields a completion and a chunk share (`model` aside: required-with-default on one, optional on the other). */
const headerOk = (u: Json): boolean =>
  optionalString(u.id) &&
  optionalString(u.object) &&
  optionalNumber(u.created) &&
  optionalString(u.model) &&
  optionalNullableString(u.system_fingerprint) &&
  optionalNullableString(u.service_tier) &&
  usageOk(u.usage)

const fillUsage = (u: Json): void => {
  const usage = u.usage
  if (isRecord(usage) && usage.completion_tokens === undefined) usage.completion_tokens = 0
}

const fillChoice = (choice: Json): void => {
  if (choice.index === undefined) choice.index = 0
  if (choice.finish_reason === undefined) choice.finish_reason = null
}

// --- ChatCompletion ------------------------------------------------------------------------------------------

const choiceOk = (choice: unknown): boolean => {
  if (!isRecord(choice) || !optionalNumber(choice.index) || !optionalNullableString(choice.finish_reason)) return false
  const message = choice.message
  if (!isRecord(message)) return false
  return (
    optionalString(message.role) &&
    optionalNullableString(message.content) &&
    optionalNullableString(message.refusal) &&
    optionalNullableString(message.reasoning_content) &&
    (message.tool_calls === undefined || message.tool_calls === null)
  )
}

/** A record the checks passed and the defaults filled: the required fields are there. */
const isCompletion = (u: Json): u is Json & ChatCompletion => typeof u.id === "string" && Array.isArray(u.choices)

/** @internal */
export const fastChatCompletion = (u: unknown): ChatCompletion | undefined => {
  if (!isRecord(u) || !headerOk(u)) return undefined
  const choices = u.choices
  if (!Array.isArray(choices) || !choices.every(choiceOk)) return undefined
  if (u.id === undefined) u.id = ""
  if (u.model === undefined) u.model = ""
  for (const choice of choices as Array<Json>) {
    fillChoice(choice)
    const message = choice.message as Json
    if (message.role === undefined) message.role = "assistant"
    if (message.content === undefined) message.content = null
  }
  fillUsage(u)
  return isCompletion(u) ? u : undefined
}

// --- ChatCompletionChunk -------------------------------------------------------------------------------------

const toolCallDeltaOk = (call: unknown): boolean => {
  if (!isRecord(call) || !optionalNumber(call.index)) return false
  if (!optionalNullableString(call.id) || !optionalNullableString(call.type)) return false
  const fn = call.function
  return (
    fn === undefined ||
    fn === null ||
    (isRecord(fn) && optionalNullableString(fn.name) && optionalNullableString(fn.arguments))
  )
}

const deltaOk = (delta: unknown): boolean =>
  delta === undefined ||
  (isRecord(delta) &&
    optionalNullableString(delta.role) &&
    optionalNullableString(delta.content) &&
    optionalNullableString(delta.refusal) &&
    optionalNullableString(delta.reasoning_content) &&
    (delta.tool_calls === null || optionalArrayOf(delta.tool_calls, toolCallDeltaOk)))

const chunkChoiceOk = (choice: unknown): boolean =>
  isRecord(choice) &&
  optionalNumber(choice.index) &&
  optionalNullableString(choice.finish_reason) &&
  deltaOk(choice.delta)

const isChunk = (u: Json): u is Json & ChatCompletionChunk => typeof u.id === "string" && Array.isArray(u.choices)

/** @internal */
export const fastChatCompletionChunk = (u: unknown): ChatCompletionChunk | undefined => {
  if (!isRecord(u) || !headerOk(u) || !optionalArrayOf(u.choices, chunkChoiceOk)) return undefined
  if (u.id === undefined) u.id = ""
  const choices = u.choices
  if (Array.isArray(choices)) {
    for (const choice of choices as Array<Json>) {
      fillChoice(choice)
      if (choice.delta === undefined) choice.delta = {}
      const calls = (choice.delta as Json).tool_calls
      if (Array.isArray(calls)) for (const call of calls as Array<Json>) if (call.index === undefined) call.index = 0
    }
  } else {
    u.choices = []
  }
  fillUsage(u)
  return isChunk(u) ? u : undefined
}
