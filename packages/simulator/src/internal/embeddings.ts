/** Embeddings: request validation, deterministic unit vectors, and the response body. */
import type { Resolved } from "../Config.js"
import { mulberry32 } from "../Faults.js"
import { type ApiError, apiError, checkModel, type Json, missingParam } from "./errors.js"
import { estimateTokens, fnv1a } from "./text.js"

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
