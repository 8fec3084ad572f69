/**
 * A fast path for decoding the common `ChatCompletion` response shape without running its schema.
 *
 * Schema decoding of a small chat completion costs ~15–45 µs (every optional-with-default field is a
 * transformation); this check takes a few microseconds. It accepts plain text (and refusal / reasoning)
 * answers with or without usage, fills the same defaults as the schema in place (the object is a fresh
 * `JSON.parse` result, so unknown fields stay, as with `Decoding`, which keeps them after the schema), and
 * returns `undefined` for anything it is unsure about (tool calls, odd types, an own `__proto__` key), which
 * then goes through the schema — which also writes the error message. A property test checks that whenever
 * it accepts, it returns exactly what the schema returns.
 *
 * @internal
 */
import type { ChatCompletion } from "../ChatCompletions.js"

type Json = Record<string, unknown>

// JSON.parse makes an own "__proto__" key an ordinary property; the schema drops it, so leave those to it.
const isRecord = (u: unknown): u is Json =>
  typeof u === "object" && u !== null && !Array.isArray(u) && !Object.hasOwn(u, "__proto__")
const optionalString = (u: unknown) => u === undefined || typeof u === "string"
const optionalNullableString = (u: unknown) => u === undefined || u === null || typeof u === "string"
const optionalNumber = (u: unknown) => u === undefined || typeof u === "number"
const optionalNullableNumber = (u: unknown) => u === undefined || u === null || typeof u === "number"

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

/** @internal */
export const fastChatCompletion = (u: unknown): ChatCompletion | undefined => {
  if (!isRecord(u)) return undefined
  if (!optionalString(u.id) || !optionalString(u.object) || !optionalNumber(u.created) || !optionalString(u.model)) {
    return undefined
  }
  if (!optionalNullableString(u.system_fingerprint) || !optionalNullableString(u.service_tier)) return undefined
  const choices = u.choices
  if (!Array.isArray(choices) || !choices.every(choiceOk) || !usageOk(u.usage)) return undefined
  if (u.id === undefined) u.id = ""
  if (u.model === undefined) u.model = ""
  for (const choice of choices as Array<Json>) {
    if (choice.index === undefined) choice.index = 0
    if (choice.finish_reason === undefined) choice.finish_reason = null
    const message = choice.message as Json
    if (message.role === undefined) message.role = "assistant"
    if (message.content === undefined) message.content = null
  }
  const usage = u.usage as Json | null | undefined
  if (usage != null && usage.completion_tokens === undefined) usage.completion_tokens = 0
  return u as unknown as ChatCompletion
}
