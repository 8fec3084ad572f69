/**
 * Structured outputs with Effect Schema, on both APIs: a `Schema` becomes the JSON Schema of OpenAI's strict mode
 * (`response_format` for Chat Completions, `text.format` for Responses), and the reply is decoded back into the
 * Schema's type. A Schema strict mode cannot express is refused before anything is sent (`InvalidRequest` naming
 * the field); a reply that does not decode fails with `StructuredOutputInvalid` (carrying the raw text), a refusal
 * with `Refused`.
 *
 * @since 0.3.0
 */
import type * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import type * as JsonSchema from "effect/JsonSchema"
import type * as ChatCompletions from "./ChatCompletions.js"
import type { InvalidRequest, OpenAiError, Refused, ServerError, StructuredOutputInvalid } from "./Errors.js"
import * as Calls from "./internal/structuredOutput/calls.js"
import * as Decode from "./internal/structuredOutput/decode.js"
import * as Strict from "./internal/structuredOutput/strict.js"
import type * as OpenAi from "./OpenAi.js"
import type * as Responses from "./Responses.js"

/**
 * A Schema ready for strict structured outputs: its name, the generated JSON Schema and the codec that decodes
 * replies.
 *
 * @since 0.3.0
 * @category models
 */
export interface Format<A> {
  readonly name: string
  readonly description: string | undefined
  /** The strict-mode JSON Schema sent to the server. */
  readonly jsonSchema: JsonSchema.JsonSchema
  /** @internal */
  readonly strict: Strict.Strict<A>
}

/**
 * Options of {@link make}.
 *
 * @since 0.3.0
 * @category models
 */
export interface Options {
  /** The schema's name as the API sees it: 1–64 of `a-z A-Z 0-9 _ -`. */
  readonly name: string
  readonly description?: string | undefined
}

/**
 * Strict mode's limits: nesting depth, properties in all, values of one enum.
 *
 * @since 0.3.0
 * @category constants
 */
export const limits: { readonly depth: number; readonly properties: number; readonly enumValues: number } =
  Strict.limits

/**
 * Prepares a Schema for structured outputs. Optional fields become required nullable ones, tuples and records are
 * re-encoded for the wire (and decoded back), constraints strict mode lacks are checked while decoding. Fails with
 * `InvalidRequest` when the name is not allowed or strict mode cannot express a field (a `Schema.Unknown`, a root
 * that is not a struct, nesting past 10 levels …); `path` names the field.
 *
 * @since 0.3.0
 * @category constructors
 */
export const make = <A, I>(
  schema: Schema.ConstraintCodec<A, I>,
  options: Options
): Effect.Effect<Format<A>, InvalidRequest> => Calls.make(schema, options)

/**
 * `response_format` for a chat completion request.
 *
 * @since 0.3.0
 * @category wire
 */
export const responseFormat = <A>(format: Format<A>): NonNullable<ChatCompletions.Request["response_format"]> =>
  Calls.responseFormat(format)

/**
 * `text.format` for a Responses request.
 *
 * @since 0.3.0
 * @category wire
 */
export const textFormat = <A>(format: Format<A>): Responses.TextFormat => Calls.textFormat(format)

/**
 * Decodes reply text (JSON) into the Schema's type.
 *
 * @since 0.3.0
 * @category decoding
 */
export const decode = <A>(
  format: Format<A>,
  text: string,
  requestId?: string | undefined
): Effect.Effect<A, StructuredOutputInvalid> => Decode.decodeText(format, text, requestId)

/**
 * Decodes choice 0 of a chat completion: a refusal fails with `Refused`, a reply cut short (`finish_reason`
 * `length` or `content_filter`) or one that does not decode with `StructuredOutputInvalid`.
 *
 * @since 0.3.0
 * @category decoding
 */
export const fromChatCompletion = <A>(
  format: Format<A>,
  completion: ChatCompletions.ChatCompletion,
  requestId?: string | undefined
): Effect.Effect<A, StructuredOutputInvalid | Refused> => Decode.fromChatCompletion(format, completion, requestId)

/**
 * Decodes a Response's output text: a refusal fails with `Refused`, an `incomplete` response or one that does not
 * decode with `StructuredOutputInvalid`, a `failed` one with `ServerError`.
 *
 * @since 0.3.0
 * @category decoding
 */
export const fromResponse = <A>(
  format: Format<A>,
  response: Responses.Response,
  requestId?: string | undefined
): Effect.Effect<A, StructuredOutputInvalid | Refused | ServerError> => Decode.fromResponse(format, response, requestId)

/**
 * A decoded reply and the response it came from.
 *
 * @since 0.3.0
 * @category models
 */
export interface Parsed<A, B> {
  readonly value: A
  readonly response: OpenAi.Response<B>
}

/**
 * A chat completion with `response_format` set from `format`, decoded. Every gate applies as to any
 * `chat.completions.create`.
 *
 * @since 0.3.0
 * @category calls
 */
export const chat = <A>(
  format: Format<A>,
  request: Omit<ChatCompletions.Request, "response_format">,
  options?: OpenAi.CallOptions
): Effect.Effect<Parsed<A, ChatCompletions.ChatCompletion>, OpenAiError, OpenAi.OpenAi> =>
  Calls.chat(format, request, options)

/**
 * Options of {@link respond}.
 *
 * @since 0.3.0
 * @category models
 */
export interface RespondOptions extends OpenAi.CallOptions {
  /**
   * Also send the chat API's `response_format` in the body. For servers whose `/responses` is a converter to chat
   * that drops `text.format` but copies other fields (llama.cpp's llama-server): they then constrain the answer.
   * OpenAI refuses an unknown parameter, so this is off by default.
   */
  readonly chatResponseFormat?: boolean | undefined
}

/**
 * A Responses call with `text.format` set from `format`, decoded. Every gate applies as to any
 * `responses.create`.
 *
 * @since 0.3.0
 * @category calls
 */
export const respond = <A>(
  format: Format<A>,
  request: Responses.Request,
  options?: RespondOptions
): Effect.Effect<Parsed<A, Responses.Response>, OpenAiError, OpenAi.OpenAi> => Calls.respond(format, request, options)
