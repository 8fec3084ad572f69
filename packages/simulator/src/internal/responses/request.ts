/** `POST /v1/responses` request validation: OpenAI-shaped 400s, and the request normalized for planning. */
import type { Format, Tool, ToolChoice } from "../answer.js"
import {
  type ApiError,
  apiError,
  invalidSchema,
  invalidType,
  invalidValue,
  isRecord,
  type Json,
  missingParam,
  outOfRange
} from "../errors.js"
import { strictProblem } from "../strict.js"
import { textOf } from "../chat.js"

/** An input item, normalized. */
export type Item =
  | { readonly kind: "message"; readonly role: string; readonly text: string }
  | { readonly kind: "function_call"; readonly callId: string; readonly name: string; readonly arguments: string }
  | { readonly kind: "function_call_output"; readonly callId: string; readonly output: string }
  | { readonly kind: "reasoning"; readonly text: string }

export type Effort = "none" | "minimal" | "low" | "medium" | "high" | "xhigh"

/** A validated request. Raw fields are kept to echo them in the Response object. */
export interface Request {
  readonly body: Json
  readonly model: string
  readonly items: ReadonlyArray<Item>
  readonly instructions: string | null
  readonly tools: ReadonlyArray<Tool>
  readonly toolChoice: ToolChoice
  readonly format: Format
  /** `reasoning.effort` when reasoning was requested (anything but `"none"`), else undefined. */
  readonly effort: Effort | undefined
  readonly summary: boolean
  readonly maxOutputTokens: number | undefined
  readonly previousResponseId: string | undefined
  readonly store: boolean
  readonly background: boolean
  readonly stream: boolean
}

const ROLES = ["assistant", "system", "developer", "user"]
const ITEM_TYPES = ["message", "function_call", "function_call_output", "reasoning"]

const readMessage = (item: Json, at: string): ApiError | Item => {
  const role = item["role"]
  if (typeof role !== "string" || !ROLES.includes(role)) return invalidValue(`${at}.role`, role, ROLES)
  const content = item["content"]
  if (content === undefined) return missingParam(`${at}.content`)
  if (typeof content !== "string" && !Array.isArray(content)) {
    return invalidType(`${at}.content`, "a string or an array of content parts", content)
  }
  return { kind: "message", role, text: textOf(content) }
}

const readItem = (item: unknown, at: string): ApiError | Item => {
  if (!isRecord(item)) return invalidType(at, "an input item", item)
  const type = item["type"] ?? (item["role"] !== undefined ? "message" : undefined)
  switch (type) {
    case "message":
      return readMessage(item, at)
    case "function_call":
      if (typeof item["call_id"] !== "string") return missingParam(`${at}.call_id`)
      if (typeof item["name"] !== "string") return missingParam(`${at}.name`)
      return {
        kind: "function_call",
        callId: item["call_id"],
        name: item["name"],
        arguments: typeof item["arguments"] === "string" ? item["arguments"] : ""
      }
    case "function_call_output": {
      if (typeof item["call_id"] !== "string") return missingParam(`${at}.call_id`)
      const output = item["output"]
      if (output === undefined) return missingParam(`${at}.output`)
      return { kind: "function_call_output", callId: item["call_id"], output: textOf(output) }
    }
    case "reasoning": {
      const summary = Array.isArray(item["summary"]) ? item["summary"] : []
      return { kind: "reasoning", text: textOf(summary) }
    }
    default:
      return invalidValue(`${at}.type`, type, ITEM_TYPES)
  }
}

const readInput = (input: unknown, hasPrevious: boolean): ApiError | ReadonlyArray<Item> => {
  if (input === undefined || input === null) return hasPrevious ? [] : missingParam("input")
  if (typeof input === "string") return [{ kind: "message", role: "user", text: input }]
  if (!Array.isArray(input)) return invalidType("input", "a string or an array of input items", input)
  const items: Array<Item> = []
  for (let i = 0; i < input.length; i++) {
    const item = readItem(input[i], `input[${i}]`)
    if ("status" in item) return item
    items.push(item)
  }
  return items
}

const readTools = (tools: unknown): ApiError | ReadonlyArray<Tool> => {
  if (tools === undefined || tools === null) return []
  if (!Array.isArray(tools)) return invalidType("tools", "an array of tools", tools)
  const out: Array<Tool> = []
  for (let i = 0; i < tools.length; i++) {
    const t = tools[i]
    if (!isRecord(t)) return invalidType(`tools[${i}]`, "a tool", t)
    if (t["type"] !== "function") continue // built-in tools are accepted and never called
    if (typeof t["name"] !== "string") return missingParam(`tools[${i}].name`)
    const problem = t["strict"] === true ? strictProblem(t["parameters"]) : undefined
    if (problem !== undefined) return invalidSchema("function", t["name"], problem, `tools[${i}].parameters`)
    out.push({ name: t["name"], parameters: t["parameters"] })
  }
  return out
}

const readToolChoice = (choice: unknown): ToolChoice => {
  if (choice === "none" || choice === "required") return choice
  if (isRecord(choice) && choice["type"] === "function" && typeof choice["name"] === "string") {
    return { name: choice["name"] }
  }
  return "auto"
}

const readFormat = (text: unknown): ApiError | Format => {
  const format = isRecord(text) ? text["format"] : undefined
  if (!isRecord(format) || format["type"] === "text" || format["type"] === undefined) return { type: "text" }
  if (format["type"] === "json_object") return { type: "json_object" }
  if (format["type"] !== "json_schema") {
    return invalidValue("text.format.type", format["type"], ["text", "json_schema", "json_object"])
  }
  if (typeof format["name"] !== "string") return missingParam("text.format.name")
  if (!isRecord(format["schema"])) return missingParam("text.format.schema")
  const problem = format["strict"] === true ? strictProblem(format["schema"]) : undefined
  if (problem !== undefined) return invalidSchema("response_format", format["name"], problem, "text.format.schema")
  return { type: "json_schema", schema: format["schema"] }
}

const EFFORTS: ReadonlyArray<Effort> = ["none", "minimal", "low", "medium", "high", "xhigh"]

const readReasoning = (r: unknown): ApiError | { effort: Effort | undefined; summary: boolean } => {
  if (!isRecord(r)) return { effort: undefined, summary: false }
  const effort = r["effort"] ?? "medium"
  if (!EFFORTS.includes(effort as Effort)) return invalidValue("reasoning.effort", effort, EFFORTS)
  const summary = r["summary"] ?? r["generate_summary"]
  const on = effort !== "none"
  return { effort: on ? (effort as Effort) : undefined, summary: on && typeof summary === "string" }
}

const readMaxOutput = (raw: unknown): ApiError | number | undefined => {
  if (raw === undefined || raw === null) return undefined
  if (typeof raw !== "number" || !Number.isInteger(raw)) return invalidType("max_output_tokens", "an integer", raw)
  return raw < 16 ? outOfRange("max_output_tokens", "below minimum", ">=", 16, raw) : raw
}

/** Validates the body (the model is checked by the caller). */
export const readRequest = (body: Json, model: string): ApiError | Request => {
  const previous = body["previous_response_id"]
  if (previous !== undefined && previous !== null && typeof previous !== "string") {
    return invalidType("previous_response_id", "a string", previous)
  }
  const items = readInput(body["input"], typeof previous === "string")
  if ("status" in items) return items
  const instructions = body["instructions"]
  if (instructions !== undefined && instructions !== null && typeof instructions !== "string") {
    return invalidType("instructions", "a string", instructions)
  }
  const tools = readTools(body["tools"])
  if ("status" in tools) return tools
  const format = readFormat(body["text"])
  if ("status" in format) return format
  const reasoning = readReasoning(body["reasoning"])
  if ("status" in reasoning) return reasoning
  const maxOutputTokens = readMaxOutput(body["max_output_tokens"])
  if (typeof maxOutputTokens === "object") return maxOutputTokens
  const store = body["store"] !== false
  const background = body["background"] === true
  if (background && !store) {
    return apiError(400, "Background responses require 'store' to be true.", "invalid_request_error", "background")
  }
  return {
    body,
    model,
    items,
    instructions: typeof instructions === "string" ? instructions : null,
    tools,
    toolChoice: readToolChoice(body["tool_choice"]),
    format,
    effort: reasoning.effort,
    summary: reasoning.summary,
    maxOutputTokens,
    previousResponseId: typeof previous === "string" ? previous : undefined,
    store,
    background,
    stream: body["stream"] === true
  }
}
