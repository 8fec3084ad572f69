/** OpenAI-shaped error bodies and the validation errors every route shares. */
import type { Resolved } from "../Config.js"

/** A JSON object. */
export type Json = Record<string, unknown>

export const isRecord = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

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

/** 400 `invalid_type`: `param` is not what `expected` says. */
export const invalidType = (param: string, expected: string, got: unknown): ApiError =>
  apiError(
    400,
    `Invalid type for '${param}': expected ${expected}, but got ${Array.isArray(got) ? "array" : got === null ? "null" : typeof got} instead.`,
    "invalid_request_error",
    param,
    "invalid_type"
  )

/** 400 `invalid_value`: `value` is none of `supported`. */
export const invalidValue = (param: string, value: unknown, supported: ReadonlyArray<string>): ApiError =>
  apiError(
    400,
    `Invalid value: '${String(value)}'. Supported values are: ${supported.map((v) => `'${v}'`).join(", ")}.`,
    "invalid_request_error",
    param,
    "invalid_value"
  )

/** 400 `integer_below_min_value` / `integer_above_max_value`: `got` is past the bound `limit`. */
export const outOfRange = (
  param: string,
  side: "below minimum" | "above maximum",
  comparison: ">=" | "<=",
  limit: number,
  got: number
): ApiError =>
  apiError(
    400,
    `Invalid '${param}': integer ${side} value. Expected a value ${comparison} ${limit}, but got ${got} instead.`,
    "invalid_request_error",
    param,
    side === "below minimum" ? "integer_below_min_value" : "integer_above_max_value"
  )

/** Checks the `model` field against the retired list (and the served list when strict). */
export const checkModel = (body: Json, cfg: Resolved): ApiError | string => {
  const model = body["model"]
  if (typeof model !== "string" || model === "") return apiError(400, "you must provide a model parameter")
  if (cfg.retiredModels.has(model)) return modelNotFound(model, true)
  if (cfg.strictModels && !cfg.modelSet.has(model)) return modelNotFound(model, false)
  return model
}

export const SERVER_ERROR = "The server had an error while processing your request. Sorry about that!"

export const quotaExceeded = (): ApiError =>
  apiError(
    429,
    "You exceeded your current quota, please check your plan and billing details. For more information on this " +
      "error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
    "insufficient_quota",
    null,
    "insufficient_quota"
  )

/** The error a `streamError` fault sends mid-stream, per `faults.streamErrorCode`. */
export const streamError = (code: "server_error" | "insufficient_quota" | "rate_limit_exceeded"): ApiError => {
  if (code === "insufficient_quota") return quotaExceeded()
  if (code === "rate_limit_exceeded") {
    return apiError(429, "Rate limit reached. Please try again in 1s.", "requests", null, "rate_limit_exceeded")
  }
  return apiError(500, SERVER_ERROR, "server_error")
}

/** A schema strict mode refuses (see `strict.ts`): a response format's or a strict function's. */
export const invalidSchema = (kind: "response_format" | "function", name: string, problem: string, param: string) =>
  apiError(
    400,
    `Invalid schema for ${kind} '${name}': ${problem}`,
    "invalid_request_error",
    param,
    kind === "function" ? "invalid_function_parameters" : "invalid_json_schema"
  )
