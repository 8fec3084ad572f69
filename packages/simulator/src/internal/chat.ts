/** Chat completions: request validation, the deterministic answer, and its JSON and SSE bodies. */
import type { Resolved } from "../Config.js"
import { answer, type Format, type Markers, markersOf, noMarkers, type Tool, type ToolChoice } from "./answer.js"
import { type ApiError, apiError, checkModel, invalidSchema, isRecord, type Json, missingParam } from "./errors.js"
import { strictProblem } from "./strict.js"
import { estimateTokens, fnv1a, newId } from "./text.js"

export const SYSTEM_FINGERPRINT = "fp_sluicesim"

/** One tool call of the answer. */
export interface ChatToolCall {
  readonly id: string
  readonly name: string
  readonly arguments: string
}

/** A planned chat completion: everything needed to write it as JSON or as SSE. */
export interface ChatPlan {
  readonly id: string
  readonly created: number
  readonly model: string
  readonly stream: boolean
  readonly includeUsage: boolean
  /** The text answer as pseudo-tokens (undefined for a refusal or tool calls). */
  readonly content: ReadonlyArray<string> | undefined
  /** A refusal as pseudo-tokens. */
  readonly refusal: ReadonlyArray<string> | undefined
  /** Tool calls (empty unless `finishReason` is `"tool_calls"`). */
  readonly toolCalls: ReadonlyArray<ChatToolCall>
  readonly finishReason: "stop" | "length" | "content_filter" | "tool_calls"
  readonly promptTokens: number
  readonly completionTokens: number
  /** Tokens charged at admission: prompt estimate + max completion tokens (or the default). */
  readonly admissionTokens: number
}

/** The text of a message content: a string, or the concatenated `text` of its parts. */
export const textOf = (content: unknown): string => {
  if (typeof content === "string") return content
  if (Array.isArray(content)) {
    let s = ""
    for (const part of content) if (isRecord(part) && typeof part["text"] === "string") s += part["text"]
    return s
  }
  return ""
}

/** What the messages say: their hash (the answer's seed), the prompt estimate and the markers found. */
interface Prompt {
  readonly hash: number
  readonly promptTokens: number
  /** Markers of the latest user message. */
  readonly markers: Markers
  /** `[[content_filter]]` anywhere. */
  readonly filter: boolean
  /** The content of a final `tool` message. */
  readonly toolOutput: string | undefined
}

const readMessages = (messages: unknown): ApiError | Prompt => {
  if (messages === undefined) return missingParam("messages")
  if (!Array.isArray(messages) || messages.length === 0) {
    return apiError(400, "Invalid 'messages': expected a non-empty array.", "invalid_request_error", "messages")
  }
  let hash = 0x811c9dc5
  let promptTokens = 3
  let markers = noMarkers
  let filter = false
  let last = ""
  let lastText = ""
  for (const m of messages) {
    if (!isRecord(m)) return apiError(400, "Invalid 'messages': expected objects.", "invalid_request_error", "messages")
    const role = typeof m["role"] === "string" ? m["role"] : ""
    const text = textOf(m["content"])
    hash = fnv1a(text, fnv1a(role, hash))
    promptTokens += 3 + estimateTokens(text)
    if (role === "user") markers = markersOf(text)
    if (text.includes("[[content_filter]]")) filter = true
    last = role
    lastText = text
  }
  return { hash, promptTokens, markers, filter, toolOutput: last === "tool" ? lastText : undefined }
}

/** `tools` as function tools (entries without a function are ignored); a strict one's schema is checked. */
const readTools = (tools: unknown): ApiError | ReadonlyArray<Tool> => {
  if (!Array.isArray(tools)) return []
  const out: Array<Tool> = []
  for (let i = 0; i < tools.length; i++) {
    const t = tools[i]
    if (!isRecord(t) || !isRecord(t["function"])) continue
    const fn = t["function"]
    const name = typeof fn["name"] === "string" ? fn["name"] : "tool"
    const problem = fn["strict"] === true ? strictProblem(fn["parameters"]) : undefined
    if (problem !== undefined) return invalidSchema("function", name, problem, `tools[${i}].function.parameters`)
    out.push({ name, parameters: fn["parameters"] })
  }
  return out
}

const readToolChoice = (choice: unknown): ToolChoice => {
  if (choice === "none" || choice === "required") return choice
  if (isRecord(choice) && isRecord(choice["function"]) && typeof choice["function"]["name"] === "string") {
    return { name: choice["function"]["name"] }
  }
  return "auto"
}

/** `response_format`: text, `json_object`, or `json_schema` (which needs `json_schema.name`). */
const readFormat = (format: unknown): ApiError | Format => {
  if (!isRecord(format) || format["type"] === "text" || format["type"] === undefined) return { type: "text" }
  if (format["type"] === "json_object") return { type: "json_object" }
  if (format["type"] !== "json_schema") {
    return apiError(
      400,
      `Invalid value: '${String(format["type"])}'. Supported values are: 'text', 'json_object' and 'json_schema'.`,
      "invalid_request_error",
      "response_format.type",
      "invalid_value"
    )
  }
  const spec = format["json_schema"]
  if (!isRecord(spec)) return missingParam("response_format.json_schema")
  if (typeof spec["name"] !== "string") return missingParam("response_format.json_schema.name")
  const problem = spec["strict"] === true ? strictProblem(spec["schema"] ?? {}) : undefined
  if (problem !== undefined) return invalidSchema("response_format", spec["name"], problem, "response_format")
  return { type: "json_schema", schema: spec["schema"] ?? {} }
}

/** The fields every plan shares. */
type Head = Pick<ChatPlan, "id" | "created" | "model" | "stream" | "includeUsage" | "promptTokens" | "admissionTokens">

/** A plan from its head and answer. Plain object literals, not spreads: V8 spreads here cost ~20 µs per request. */
const planOf = (
  h: Head,
  answer: Pick<ChatPlan, "content" | "refusal" | "toolCalls" | "finishReason" | "completionTokens">
): ChatPlan => ({
  id: h.id,
  created: h.created,
  model: h.model,
  stream: h.stream,
  includeUsage: h.includeUsage,
  promptTokens: h.promptTokens,
  admissionTokens: h.admissionTokens,
  content: answer.content,
  refusal: answer.refusal,
  toolCalls: answer.toolCalls,
  finishReason: answer.finishReason,
  completionTokens: answer.completionTokens
})

const cut = (tokens: ReadonlyArray<string>, maxTokens: number | undefined) =>
  maxTokens !== undefined && tokens.length > maxTokens ? tokens.slice(0, maxTokens) : tokens

/** The answer to the prompt, cut by `[[content_filter]]` or by the token cap. */
const answerPlan = (
  head: Head,
  prompt: Prompt,
  body: Json,
  tools: ReadonlyArray<Tool>,
  format: Format,
  maxTokens: number | undefined
) => {
  const a = answer({
    hash: prompt.hash,
    markers: prompt.markers,
    toolOutput: prompt.toolOutput,
    tools,
    toolChoice: readToolChoice(body["tool_choice"]),
    parallel: body["parallel_tool_calls"] !== false,
    format
  })
  if (a.kind === "calls") {
    const toolCalls = a.calls.map((c) => ({ id: newId("call", "_"), name: c.name, arguments: c.arguments }))
    let completionTokens = 0
    for (const c of toolCalls) completionTokens += estimateTokens(c.name) + estimateTokens(c.arguments)
    return planOf(head, {
      content: undefined,
      refusal: undefined,
      toolCalls,
      finishReason: "tool_calls",
      completionTokens
    })
  }
  let tokens = a.tokens
  let finishReason: ChatPlan["finishReason"] = "stop"
  if (prompt.filter && a.kind === "text") {
    tokens = tokens.slice(0, Math.ceil(tokens.length / 2))
    finishReason = "content_filter"
  }
  const kept = cut(tokens, maxTokens)
  if (kept.length < tokens.length) finishReason = "length"
  const text = a.kind === "text" ? kept : undefined
  const refusal = a.kind === "refusal" ? kept : undefined
  return planOf(head, { content: text, refusal, toolCalls: [], finishReason, completionTokens: kept.length })
}

/** Validates a chat completion request and plans the answer (deterministic per messages). */
export const planChat = (body: Json, cfg: Resolved, created: number): ApiError | ChatPlan => {
  const model = checkModel(body, cfg)
  if (typeof model !== "string") return model
  const prompt = readMessages(body["messages"])
  if ("status" in prompt) return prompt
  const format = readFormat(body["response_format"])
  if ("status" in format) return format
  const tools = readTools(body["tools"])
  if ("status" in tools) return tools
  const maxRaw = body["max_completion_tokens"] ?? body["max_tokens"]
  const maxTokens = typeof maxRaw === "number" && maxRaw > 0 ? Math.floor(maxRaw) : undefined
  const streamOptions = body["stream_options"]
  const stream = body["stream"] === true
  const head: Head = {
    id: newId("chatcmpl"),
    created,
    model,
    stream,
    includeUsage: stream && isRecord(streamOptions) && streamOptions["include_usage"] === true,
    promptTokens: prompt.promptTokens,
    admissionTokens: prompt.promptTokens + (maxTokens ?? cfg.defaultMaxTokens)
  }
  return answerPlan(head, prompt, body, tools, format, maxTokens)
}

const usageOf = (plan: ChatPlan) => ({
  prompt_tokens: plan.promptTokens,
  completion_tokens: plan.completionTokens,
  total_tokens: plan.promptTokens + plan.completionTokens,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
  completion_tokens_details: {
    reasoning_tokens: 0,
    audio_tokens: 0,
    accepted_prediction_tokens: 0,
    rejected_prediction_tokens: 0
  }
})

const messageOf = (plan: ChatPlan): Json => {
  const message: Json = {
    role: "assistant",
    content: plan.content === undefined ? null : plan.content.join(""),
    refusal: plan.refusal === undefined ? null : plan.refusal.join(""),
    annotations: []
  }
  if (plan.toolCalls.length > 0) {
    message["tool_calls"] = plan.toolCalls.map((c) => ({
      id: c.id,
      type: "function",
      function: { name: c.name, arguments: c.arguments }
    }))
  }
  return message
}

/** The non-streaming `chat.completion` body. */
export const chatJson = (plan: ChatPlan): Json => ({
  id: plan.id,
  object: "chat.completion",
  created: plan.created,
  model: plan.model,
  choices: [{ index: 0, message: messageOf(plan), logprobs: null, finish_reason: plan.finishReason }],
  usage: usageOf(plan),
  service_tier: "default",
  system_fingerprint: SYSTEM_FINGERPRINT
})

/** The deltas of the tool calls: each call's id and name, then its arguments in fragments. */
const toolCallDeltas = (plan: ChatPlan, pieces: () => number, choice: (delta: Json) => string): Array<string> => {
  const out: Array<string> = []
  plan.toolCalls.forEach((call, index) => {
    const intro = { index, id: call.id, type: "function", function: { name: call.name, arguments: "" } }
    out.push(
      choice(
        index === 0 ? { role: "assistant", content: null, tool_calls: [intro], refusal: null } : { tool_calls: [intro] }
      )
    )
    const args = call.arguments
    for (let i = 0; i < args.length; ) {
      const n = Math.max(1, pieces()) * 4
      out.push(choice({ tool_calls: [{ index, function: { arguments: args.slice(i, i + n) } }] }))
      i += n
    }
  })
  return out
}

/**
 * The `chat.completion.chunk` events (JSON strings, without `[DONE]`). `pieces` decides how many tokens go in each
 * content delta (it is called once per delta and returns a count ≥ 1).
 */
export const chatChunks = (plan: ChatPlan, pieces: () => number): Array<string> => {
  const head = `{"id":"${plan.id}","object":"chat.completion.chunk","created":${plan.created},"model":${JSON.stringify(plan.model)},"service_tier":"default","system_fingerprint":"${SYSTEM_FINGERPRINT}","choices":`
  const tail = plan.includeUsage ? `,"usage":null}` : "}"
  const choice = (delta: Json, finish: string | null = null) =>
    head + JSON.stringify([{ index: 0, delta, logprobs: null, finish_reason: finish }]) + tail
  const out: Array<string> = []
  if (plan.toolCalls.length > 0) out.push(...toolCallDeltas(plan, pieces, choice))
  else {
    const field = plan.refusal === undefined ? "content" : "refusal"
    out.push(
      choice(
        field === "content"
          ? { role: "assistant", content: "", refusal: null }
          : { role: "assistant", content: null, refusal: "" }
      )
    )
    const tokens = plan.content ?? plan.refusal!
    for (let i = 0; i < tokens.length; ) {
      const n = Math.max(1, pieces())
      // hot path: a template instead of JSON.stringify of a nested object
      const text = JSON.stringify(tokens.slice(i, i + n).join(""))
      out.push(`${head}[{"index":0,"delta":{"${field}":${text}},"logprobs":null,"finish_reason":null}]${tail}`)
      i += n
    }
  }
  out.push(choice({}, plan.finishReason))
  if (plan.includeUsage) out.push(head + "[]," + `"usage":${JSON.stringify(usageOf(plan))}}`)
  return out
}
