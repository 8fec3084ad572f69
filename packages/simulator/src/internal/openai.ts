/** Request validation and response bodies shaped like the real API: chat completions, embeddings, errors. */
import type { Resolved } from "../Config.js"
import { answerTokens, estimateTokens, fnv1a, newId, words } from "./text.js"
import { mulberry32 } from "../Faults.js"

/** A JSON error response. */
export interface ApiError {
  readonly status: number
  readonly message: string
  readonly type: string
  readonly param: string | null
  readonly code: string | null
}

export const apiError = (
  status: number,
  message: string,
  type = "invalid_request_error",
  param: string | null = null,
  code: string | null = null
): ApiError => ({ status, message, type, param, code })

export const errorBody = (e: ApiError): string =>
  JSON.stringify({ error: { message: e.message, type: e.type, param: e.param, code: e.code } })

export const invalidJson = (): ApiError =>
  apiError(
    400,
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library " +
      "correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"
  )

export const missingParam = (name: string): ApiError =>
  apiError(400, `Missing required parameter: '${name}'.`, "invalid_request_error", name, "missing_required_parameter")

export const modelNotFound = (model: string, retired: boolean): ApiError =>
  apiError(
    404,
    retired
      ? `The model \`${model}\` has been deprecated, learn more here: https://platform.openai.com/docs/deprecations`
      : `The model \`${model}\` does not exist or you do not have access to it.`,
    "invalid_request_error",
    null,
    "model_not_found"
  )

export const SYSTEM_FINGERPRINT = "fp_sluicesim"

type Json = Record<string, unknown>

const isRecord = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

/** Checks the `model` field against the retired list (and the served list when strict). */
export const checkModel = (body: Json, cfg: Resolved): ApiError | string => {
  const model = body["model"]
  if (typeof model !== "string" || model === "") return apiError(400, "you must provide a model parameter")
  if (cfg.retiredModels.has(model)) return modelNotFound(model, true)
  if (cfg.strictModels && !cfg.modelSet.has(model)) return modelNotFound(model, false)
  return model
}

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

/** Validates a chat completion request and plans the answer (deterministic per messages). */
export const planChat = (body: Json, cfg: Resolved, created: number): ApiError | ChatPlan => {
  const model = checkModel(body, cfg)
  if (typeof model !== "string") return model
  const messages = body["messages"]
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
  const maxRaw = body["max_completion_tokens"] ?? body["max_tokens"]
  const maxTokens = typeof maxRaw === "number" && maxRaw > 0 ? Math.floor(maxRaw) : undefined
  const streamOptions = body["stream_options"]
  const stream = body["stream"] === true
  const includeUsage = stream && isRecord(streamOptions) && streamOptions["include_usage"] === true
  const admissionTokens = promptTokens + (maxTokens ?? cfg.defaultMaxTokens)
  // Plain object literals below, not spreads: V8 spreads here cost ~20 µs per request.
  const id = newId("chatcmpl")
  const tools = body["tools"]
  if (toolMarker && Array.isArray(tools) && tools.length > 0) {
    const choice = body["tool_choice"]
    const wanted = isRecord(choice) && isRecord(choice["function"]) ? choice["function"]["name"] : undefined
    const fns = tools.filter((t): t is Json => isRecord(t) && isRecord(t["function"])).map((t) => t["function"] as Json)
    const fn = fns.find((f) => f["name"] === wanted) ?? fns[0]
    if (fn !== undefined) {
      const name = typeof fn["name"] === "string" ? fn["name"] : "tool"
      const args = argumentsFor(fn["parameters"], hash)
      return {
        id,
        created,
        model,
        stream,
        includeUsage,
        promptTokens,
        admissionTokens,
        content: undefined,
        toolCall: { id: newId("call", "_"), name, arguments: args },
        finishReason: "tool_calls",
        completionTokens: estimateTokens(name) + estimateTokens(args)
      }
    }
  }
  let content = answerTokens(hash)
  let finishReason: ChatPlan["finishReason"] = "stop"
  if (filterMarker) {
    content = content.slice(0, Math.ceil(content.length / 2))
    finishReason = "content_filter"
  }
  if (maxTokens !== undefined && content.length > maxTokens) {
    content = content.slice(0, maxTokens)
    finishReason = "length"
  }
  return {
    id,
    created,
    model,
    stream,
    includeUsage,
    promptTokens,
    admissionTokens,
    content,
    toolCall: undefined,
    finishReason,
    completionTokens: content.length
  }
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

/** A planned embeddings response. */
export interface EmbeddingsPlan {
  readonly model: string
  readonly inputs: ReadonlyArray<string | ReadonlyArray<number>>
  readonly dimensions: number
  readonly base64: boolean
  readonly promptTokens: number
}

const nativeDimensions = (model: string): number => (model === "text-embedding-3-large" ? 3072 : 1536)

export const planEmbeddings = (body: Json, cfg: Resolved): ApiError | EmbeddingsPlan => {
  const model = checkModel(body, cfg)
  if (typeof model !== "string") return model
  const input = body["input"]
  if (input === undefined) return missingParam("input")
  let inputs: Array<string | ReadonlyArray<number>>
  if (typeof input === "string") inputs = [input]
  else if (Array.isArray(input) && input.length > 0 && input.every((x) => typeof x === "number")) {
    inputs = [input as Array<number>]
  } else if (
    Array.isArray(input) &&
    input.length > 0 &&
    input.every((x) => typeof x === "string" || (Array.isArray(x) && x.every((y) => typeof y === "number")))
  ) {
    inputs = input as Array<string | Array<number>>
  } else {
    return apiError(400, "'$.input' is invalid. Please check the API reference.", "invalid_request_error", "input")
  }
  if (inputs.length > 2048) {
    return apiError(400, "'$.input' must have at most 2048 items.", "invalid_request_error", "input")
  }
  const format = body["encoding_format"] ?? "float"
  if (format !== "float" && format !== "base64") {
    return apiError(
      400,
      "Invalid 'encoding_format': expected 'float' or 'base64'.",
      "invalid_request_error",
      "encoding_format"
    )
  }
  const native = nativeDimensions(model)
  const dimsRaw = body["dimensions"]
  let dimensions = native
  if (dimsRaw !== undefined) {
    if (model === "text-embedding-ada-002") {
      return apiError(400, "This model does not support specifying dimensions.", "invalid_request_error", "dimensions")
    }
    if (typeof dimsRaw !== "number" || !Number.isInteger(dimsRaw) || dimsRaw < 1 || dimsRaw > native) {
      return apiError(
        400,
        `Invalid 'dimensions': must be an integer in 1..${native}.`,
        "invalid_request_error",
        "dimensions"
      )
    }
    dimensions = dimsRaw
  }
  let promptTokens = 0
  for (const x of inputs) promptTokens += typeof x === "string" ? estimateTokens(x) : x.length
  return { model, inputs, dimensions, base64: format === "base64", promptTokens }
}

/** A deterministic unit vector for one input (float32 values). */
export const embeddingVector = (
  input: string | ReadonlyArray<number>,
  dimensions: number,
  seed: number
): Float32Array => {
  const h = typeof input === "string" ? fnv1a(input) : fnv1a(input.join(","))
  const rng = mulberry32((h ^ seed) >>> 0)
  const v = new Float32Array(dimensions)
  let norm = 0
  for (let i = 0; i < dimensions; i++) {
    const x = rng() * 2 - 1
    v[i] = x
    norm += x * x
  }
  const scale = 1 / Math.sqrt(norm || 1)
  for (let i = 0; i < dimensions; i++) v[i] = v[i]! * scale
  return v
}

export const embeddingsJson = (plan: EmbeddingsPlan, seed: number): Json => ({
  object: "list",
  data: plan.inputs.map((input, index) => {
    const v = embeddingVector(input, plan.dimensions, seed)
    let embedding: string | Array<number>
    if (plan.base64) {
      const buf = Buffer.allocUnsafe(v.length * 4)
      for (let i = 0; i < v.length; i++) buf.writeFloatLE(v[i]!, i * 4)
      embedding = buf.toString("base64")
    } else {
      embedding = Array.from(v)
    }
    return { object: "embedding", index, embedding }
  }),
  model: plan.model,
  usage: { prompt_tokens: plan.promptTokens, total_tokens: plan.promptTokens }
})
