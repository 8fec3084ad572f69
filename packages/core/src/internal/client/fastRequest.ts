/**
 * A fast path for validating the common chat request without running `ChatCompletions.Request`'s schema (the
 * largest share of the call path's own CPU left in decision 0014's profile). It accepts only plain requests: text
 * messages of the system, developer, user and assistant roles, and the scalar options, each checked as the schema
 * checks it. Anything else (tools, content parts, a tool message, an unknown field, an odd type) returns
 * `undefined` and goes through the schema, which also writes the error message. It returns what the schema
 * returns: a fresh copy, fields in the schema's order. A property test checks that whenever it accepts, the schema
 * accepts with an equal value.
 *
 * @internal
 */
import type { Request } from "../../ChatCompletions.js"

type Json = Record<string, unknown>
type Check = (value: unknown) => boolean

const isPlain = (u: unknown): u is Json => {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return false
  const proto = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}
const optional =
  (check: Check): Check =>
  (u) =>
    u === undefined || check(u)
const isString: Check = (u) => typeof u === "string"
const isBoolean: Check = (u) => typeof u === "boolean"
const between =
  (minimum: number, maximum: number): Check =>
  (u) =>
    typeof u === "number" && u >= minimum && u <= maximum
const integer =
  (minimum = Number.NEGATIVE_INFINITY, maximum = Number.POSITIVE_INFINITY): Check =>
  (u) =>
    Number.isSafeInteger(u) && (u as number) >= minimum && (u as number) <= maximum

/** The scalar options this path knows, in the schema's order, with the schema's check of each. */
const scalars: ReadonlyArray<readonly [string, Check]> = [
  ["parallel_tool_calls", optional(isBoolean)],
  ["max_tokens", optional(integer(1))],
  ["max_completion_tokens", optional(integer(1))],
  ["temperature", optional(between(0, 2))],
  ["top_p", optional(between(0, 1))],
  ["n", optional(integer(1, 128))],
  ["seed", optional(integer())],
  ["presence_penalty", optional(between(-2, 2))],
  ["frequency_penalty", optional(between(-2, 2))],
  ["logprobs", optional(isBoolean)],
  ["top_logprobs", optional(integer(0, 20))],
  ["user", optional(isString)],
  ["store", optional(isBoolean)],
  ["reasoning_effort", optional(isString)],
  ["service_tier", optional(isString)],
  ["stream", optional(isBoolean)]
]
const known = new Set(["model", "messages", ...scalars.map(([name]) => name)])
const roles = new Set(["system", "developer", "user", "assistant"])

/** A text message `{ role, content, name? }`, copied; `undefined` for any other shape. */
const textMessage = (u: unknown): Json | undefined => {
  if (!isPlain(u) || !roles.has(u.role as string) || typeof u.content !== "string") return undefined
  for (const key in u) if (key !== "role" && key !== "content" && key !== "name") return undefined
  if (!Object.hasOwn(u, "name")) return { role: u.role, content: u.content }
  return typeof u.name === "string" || u.name === undefined
    ? { role: u.role, content: u.content, name: u.name }
    : undefined
}

const messagesOf = (u: unknown): Array<Json> | undefined => {
  if (!Array.isArray(u) || u.length === 0) return undefined
  const out: Array<Json> = []
  for (const message of u) {
    const copied = textMessage(message)
    if (copied === undefined) return undefined
    out.push(copied)
  }
  return out
}

/**
 * The request as the schema would return it, or `undefined` to let the schema decide.
 *
 * @internal
 */
export const fastChatRequest = (request: unknown): Request | undefined => {
  if (!isPlain(request) || typeof request.model !== "string" || request.model.length === 0) return undefined
  for (const key in request) if (!known.has(key)) return undefined
  const messages = messagesOf(request.messages)
  if (messages === undefined) return undefined
  const out: Json = { model: request.model, messages }
  for (const [name, check] of scalars) {
    if (!Object.hasOwn(request, name)) continue
    const value = request[name]
    if (!check(value)) return undefined
    out[name] = value
  }
  return out as Request
}
