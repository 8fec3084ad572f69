/** Embeddings: request validation within OpenAI's caps, deterministic unit vectors, and the response body. */
import { endianness } from "node:os"
import type { Resolved } from "../Config.js"
import { mulberry32 } from "../Faults.js"
import { type ApiError, apiError, checkModel, invalidType, type Json, missingParam, outOfRange } from "./errors.js"
import { estimateTokens, fnv1a } from "./text.js"

/** OpenAI's per-request caps. */
export const MAX_INPUTS = 2048
export const MAX_INPUT_TOKENS = 8192
export const MAX_REQUEST_TOKENS = 300_000

type Input = string | ReadonlyArray<number>

/** A planned embeddings response. */
export interface EmbeddingsPlan {
  readonly model: string
  readonly inputs: ReadonlyArray<Input>
  readonly dimensions: number
  readonly base64: boolean
  readonly promptTokens: number
}

/** The full vector length of a model: 3072 for `text-embedding-3-large`, 1536 otherwise. */
export const nativeDimensions = (model: string): number => (model === "text-embedding-3-large" ? 3072 : 1536)

/** Whether a model accepts `dimensions` (every model but `text-embedding-ada-002`, as on OpenAI). */
export const supportsDimensions = (model: string): boolean => model !== "text-embedding-ada-002"

/** Tokens of one input: the chat estimate (`ceil(length / 4)`) for text, the length of a token array. */
export const inputTokens = (input: Input): number => (typeof input === "string" ? estimateTokens(input) : input.length)

const invalidInput = (): ApiError =>
  apiError(
    400,
    "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
    "invalid_request_error",
    null,
    null
  )

const isTokens = (x: unknown): x is ReadonlyArray<number> =>
  Array.isArray(x) && x.length > 0 && x.every((y) => typeof y === "number" && Number.isInteger(y) && y >= 0)

/** `input` as a list of inputs: a string, a token array, or an array of either. Empty strings are refused. */
const readInputs = (input: unknown): ApiError | ReadonlyArray<Input> => {
  if (input === undefined) return missingParam("input")
  if (typeof input === "string") return input === "" ? invalidInput() : [input]
  if (!Array.isArray(input) || input.length === 0) return invalidInput()
  if (input.every((x) => typeof x === "number")) return isTokens(input) ? [input] : invalidInput()
  if (input.length > MAX_INPUTS) {
    return apiError(
      400,
      `Invalid 'input': array length must be ${MAX_INPUTS} or less.`,
      "invalid_request_error",
      "input"
    )
  }
  for (const x of input) if (!((typeof x === "string" && x !== "") || isTokens(x))) return invalidInput()
  return input as ReadonlyArray<Input>
}

/** The caps on tokens: 8,192 per input, 300,000 in all. Returns the total. */
const countTokens = (inputs: ReadonlyArray<Input>): ApiError | number => {
  let total = 0
  for (const x of inputs) {
    const n = inputTokens(x)
    if (n > MAX_INPUT_TOKENS) {
      return apiError(400, `Invalid 'input': maximum context length is ${MAX_INPUT_TOKENS} tokens.`)
    }
    total += n
  }
  if (total > MAX_REQUEST_TOKENS) {
    return apiError(
      400,
      `Requested ${total} tokens, max ${MAX_REQUEST_TOKENS} tokens per request`,
      "max_tokens_per_request",
      null,
      "max_tokens_per_request"
    )
  }
  return total
}

const readDimensions = (model: string, raw: unknown): ApiError | number => {
  const native = nativeDimensions(model)
  if (raw === undefined || raw === null) return native
  if (!supportsDimensions(model)) return apiError(400, "This model does not support specifying dimensions.")
  if (typeof raw !== "number" || !Number.isInteger(raw)) return invalidType("dimensions", "an integer", raw)
  if (raw < 1) return outOfRange("dimensions", "below minimum", ">=", 1, raw)
  if (raw > native) return outOfRange("dimensions", "above maximum", "<=", native, raw)
  return raw
}

/** Validates an embeddings request against OpenAI's caps and plans the answer. */
export const planEmbeddings = (body: Json, cfg: Resolved): ApiError | EmbeddingsPlan => {
  const model = checkModel(body, cfg)
  if (typeof model !== "string") return model
  const inputs = readInputs(body["input"])
  if ("status" in inputs) return inputs
  const format = body["encoding_format"] ?? "float"
  if (format !== "float" && format !== "base64") {
    return apiError(
      400,
      `Invalid value: '${String(format)}'. Supported values are: 'float' and 'base64'.`,
      "invalid_request_error",
      "encoding_format",
      "invalid_value"
    )
  }
  const dimensions = readDimensions(model, body["dimensions"])
  if (typeof dimensions !== "number") return dimensions
  const promptTokens = countTokens(inputs)
  if (typeof promptTokens !== "number") return promptTokens
  return { model, inputs, dimensions, base64: format === "base64", promptTokens }
}

/**
 * The vector of one input: `dimensions` floats from a PRNG seeded by a hash of (model, input), normalized to unit
 * length. The first `d` components are the same for every length, so a shortened vector is the full one cut and
 * renormalized (as text-embedding-3's are). Values are float32.
 */
export const embeddingOf = (
  model: string,
  input: Input,
  dimensions: number = nativeDimensions(model)
): Float32Array => {
  const h = fnv1a(typeof input === "string" ? input : input.join(","), fnv1a("\u0000", fnv1a(model)))
  const rng = mulberry32(h)
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

const littleEndian = endianness() === "LE"

/** Little-endian float32 bytes as base64. */
const base64Of = (v: Float32Array): string => {
  if (littleEndian) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64")
  const buf = Buffer.allocUnsafe(v.length * 4)
  for (let i = 0; i < v.length; i++) buf.writeFloatLE(v[i]!, i * 4)
  return buf.toString("base64")
}

export const embeddingsJson = (plan: EmbeddingsPlan): Json => ({
  object: "list",
  data: plan.inputs.map((input, index) => {
    const v = embeddingOf(plan.model, input, plan.dimensions)
    return { object: "embedding", index, embedding: plan.base64 ? base64Of(v) : Array.from(v) }
  }),
  model: plan.model,
  usage: { prompt_tokens: plan.promptTokens, total_tokens: plan.promptTokens }
})
