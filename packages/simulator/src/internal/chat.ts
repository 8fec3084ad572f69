/** Chat completions: request validation, the deterministic answer, and its JSON and SSE bodies. */
import type { Resolved } from "../Config.js"
import { type ApiError, apiError, checkModel, isRecord, type Json, missingParam } from "./errors.js"
import { answerTokens, estimateTokens, fnv1a, newId, words } from "./text.js"

export const SYSTEM_FINGERPRINT = "fp_sluicesim"

/** A planned chat completion: everything needed to write it as JSON or as SSE. */
export interface ChatPlan {
  readonly id: string
  readonly created: number
  readonly model: string
  readonly stream: boolean
  readonly includeUsage: boolean
  readonly content: ReadonlyArray<string> | undefined
  readonly toolCall: { readonly id: string; readonly name: string; readonly arguments: string } | undefined
  readonly finishReason: "stop" | "length" | "content_filter" | "tool_calls"
  readonly promptTokens: number
  readonly completionTokens: number
  /** Tokens charged at admission: prompt estimate + max completion tokens (or the default). */
  readonly admissionTokens: number
}

const textOf = (content: unknown): string => {
  if (typeof content === "string") return content
  if (Array.isArray(content)) {
    let s = ""
    for (const part of content) if (isRecord(part) && typeof part["text"] === "string") s += part["text"]
    return s
  }
  return ""
}

const argumentsFor = (parameters: unknown, hash: number): string => {
  const props = isRecord(parameters) && isRecord(parameters["properties"]) ? parameters["properties"] : {}
  const out: Json = {}
  let h = hash
  for (const [name, schema] of Object.entries(props)) {
    h = fnv1a(name, h)
    const type = isRecord(schema) ? schema["type"] : undefined
    const enumValues = isRecord(schema) && Array.isArray(schema["enum"]) ? schema["enum"] : undefined
    out[name] =
      enumValues !== undefined && enumValues.length > 0
        ? enumValues[h % enumValues.length]
        : type === "number" || type === "integer"
          ? h % 100
          : type === "boolean"
            ? h % 2 === 0
            : type === "array"
              ? [words(h, 1)]
              : type === "object"
                ? {}
                : words(h, 3)
  }
  return JSON.stringify(out)
}

/** What the messages say: their hash (the answer's seed), the prompt estimate and the markers found. */
interface Prompt {
  readonly hash: number
  readonly promptTokens: number
  readonly toolMarker: boolean
  readonly filterMarker: boolean
}

const readMessages = (messages: unknown): ApiError | Prompt => {
  if (messages === undefined) return missingParam("messages")
  if (!Array.isArray(messages) || messages.length === 0) {
    return apiError(400, "Invalid 'messages': expected a non-empty array.", "invalid_request_error", "messages")
  }
  let hash = 0x811c9dc5
  let promptTokens = 3
  let toolMarker = false
  let filterMarker = false
  for (const m of messages) {
    if (!isRecord(m)) return apiError(400, "Invalid 'messages': expected objects.", "invalid_request_error", "messages")
    const role = typeof m["role"] === "string" ? m["role"] : ""
    const text = textOf(m["content"])
    hash = fnv1a(text, fnv1a(role, hash))
    promptTokens += 3 + estimateTokens(text)
    if (text.includes("[[")) {
      if (text.includes("[[tool_call]]")) toolMarker = true
      if (text.includes("[[content_filter]]")) filterMarker = true
    }
  }
  return { hash, promptTokens, toolMarker, filterMarker }
}

/** The fields every plan shares. */
type Head = Pick<ChatPlan, "id" | "created" | "model" | "stream" | "includeUsage" | "promptTokens" | "admissionTokens">

/** A plan from its head and answer. Plain object literals, not spreads: V8 spreads here cost ~20 µs per request. */
const planOf = (
  h: Head,
  content: ChatPlan["content"],
  toolCall: ChatPlan["toolCall"],
  finishReason: ChatPlan["finishReason"],
  completionTokens: number
): ChatPlan => ({
  id: h.id,
  created: h.created,
  model: h.model,
  stream: h.stream,
  includeUsage: h.includeUsage,
  promptTokens: h.promptTokens,
  admissionTokens: h.admissionTokens,
  content,
  toolCall,
  finishReason,
  completionTokens
})

/** The tool call answering `[[tool_call]]`, when the request has tools. */
const toolCallPlan = (body: Json, head: Head, hash: number): ChatPlan | undefined => {
  const tools = body["tools"]
  if (!Array.isArray(tools) || tools.length === 0) return undefined
  const choice = body["tool_choice"]
  const wanted = isRecord(choice) && isRecord(choice["function"]) ? choice["function"]["name"] : undefined
  const fns = tools.filter((t): t is Json => isRecord(t) && isRecord(t["function"])).map((t) => t["function"] as Json)
  const fn = fns.find((f) => f["name"] === wanted) ?? fns[0]
  if (fn === undefined) return undefined
  const name = typeof fn["name"] === "string" ? fn["name"] : "tool"
  const args = argumentsFor(fn["parameters"], hash)
  const call = { id: newId("call", "_"), name, arguments: args }
  return planOf(head, undefined, call, "tool_calls", estimateTokens(name) + estimateTokens(args))
}

/** The text answer, cut by `[[content_filter]]` or by the token cap. */
const textPlan = (head: Head, prompt: Prompt, maxTokens: number | undefined): ChatPlan => {
  let content = answerTokens(prompt.hash)
  let finishReason: ChatPlan["finishReason"] = "stop"
  if (prompt.filterMarker) {
    content = content.slice(0, Math.ceil(content.length / 2))
    finishReason = "content_filter"
  }
  if (maxTokens !== undefined && content.length > maxTokens) {
    content = content.slice(0, maxTokens)
    finishReason = "length"
  }
  return planOf(head, content, undefined, finishReason, content.length)
}

/** Validates a chat completion request and plans the answer (deterministic per messages). */
export const planChat = (body: Json, cfg: Resolved, created: number): ApiError | ChatPlan => {
  const model = checkModel(body, cfg)
  if (typeof model !== "string") return model
  const prompt = readMessages(body["messages"])
  if ("status" in prompt) return prompt
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
  return (prompt.toolMarker ? toolCallPlan(body, head, prompt.hash) : undefined) ?? textPlan(head, prompt, maxTokens)
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

/** The non-streaming `chat.completion` body. */
export const chatJson = (plan: ChatPlan): Json => ({
  id: plan.id,
  object: "chat.completion",
  created: plan.created,
  model: plan.model,
  choices: [
    {
      index: 0,
      message:
        plan.toolCall === undefined
          ? { role: "assistant", content: plan.content!.join(""), refusal: null, annotations: [] }
          : {
              role: "assistant",
              content: null,
              refusal: null,
              annotations: [],
              tool_calls: [
                {
                  id: plan.toolCall.id,
                  type: "function",
                  function: { name: plan.toolCall.name, arguments: plan.toolCall.arguments }
                }
              ]
            },
      logprobs: null,
      finish_reason: plan.finishReason
    }
  ],
  usage: usageOf(plan),
  service_tier: "default",
  system_fingerprint: SYSTEM_FINGERPRINT
})

/**
 * The `chat.completion.chunk` events (JSON strings, without `[DONE]`). `pieces` decides how many tokens go in each
 * content delta (it is called once per delta and returns a count ≥ 1).
 */
export const chatChunks = (plan: ChatPlan, pieces: () => number): Array<string> => {
  const head = `{"id":"${plan.id}","object":"chat.completion.chunk","created":${plan.created},"model":${JSON.stringify(plan.model)},"service_tier":"default","system_fingerprint":"${SYSTEM_FINGERPRINT}","choices":`
  const tail = plan.includeUsage ? `,"usage":null}` : "}"
  const choice = (delta: Json, finish: string | null) =>
    head + JSON.stringify([{ index: 0, delta, logprobs: null, finish_reason: finish }]) + tail
  const out: Array<string> = []
  if (plan.toolCall === undefined) {
    out.push(choice({ role: "assistant", content: "", refusal: null }, null))
    const content = plan.content!
    for (let i = 0; i < content.length; ) {
      const n = Math.max(1, pieces())
      // hot path: a template instead of JSON.stringify of a nested object
      const text = JSON.stringify(content.slice(i, i + n).join(""))
      out.push(`${head}[{"index":0,"delta":{"content":${text}},"logprobs":null,"finish_reason":null}]${tail}`)
      i += n
    }
  } else {
    const call = plan.toolCall
    out.push(
      choice(
        {
          role: "assistant",
          content: null,
          tool_calls: [{ index: 0, id: call.id, type: "function", function: { name: call.name, arguments: "" } }],
          refusal: null
        },
        null
      )
    )
    const args = call.arguments
    for (let i = 0; i < args.length; ) {
      const n = Math.max(1, pieces()) * 4
      out.push(choice({ tool_calls: [{ index: 0, function: { arguments: args.slice(i, i + n) } }] }, null))
      i += n
    }
  }
  out.push(choice({}, plan.finishReason))
  if (plan.includeUsage) out.push(head + "[]," + `"usage":${JSON.stringify(usageOf(plan))}}`)
  return out
}
