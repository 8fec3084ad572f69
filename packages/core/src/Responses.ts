/**
 * Schemas of the Responses API (`POST /responses`, `GET|DELETE /responses/{id}`, `POST /responses/{id}/cancel`,
 * `POST /responses/input_tokens`): the request, the `Response` object with its output items and usage, and the
 * streaming events. Requests are validated before sending; responses and events are decoded tolerantly: unknown
 * fields are kept (see `Decoding`), unknown item and event types pass through, and what compatible servers omit
 * (llama.cpp sends no `sequence_number` or `output_index`, Ollama stores nothing) is optional.
 *
 * @since 0.3.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Names from "./internal/names.js"
import * as Wire from "./internal/wire.js"
import * as internal from "./internal/responses/helpers.js"

const Int = Schema.Int
const optionalNullable = Wire.optionalNullable
const JsonObject = Schema.Record(Schema.String, Schema.Unknown)
const name = Names.Name

/** A `type` other than the ones listed: the catch-all member of a union, so a malformed known member still fails. */
const otherType = (known: ReadonlyArray<string>) =>
  Schema.String.pipe(
    Schema.check(
      Schema.makeFilter((type: string) => !known.includes(type) || `a known type (${type}) must match its schema`)
    )
  )

// ---------------------------------------------------------------------------------------------------------------
// Content parts
// ---------------------------------------------------------------------------------------------------------------

/**
 * Text given to the model.
 *
 * @since 0.3.0
 * @category schemas
 */
export const InputText = Schema.Struct({ type: Schema.Literal("input_text"), text: Schema.String })

/**
 * An image given to the model (URL, data URL or uploaded file).
 *
 * @since 0.3.0
 * @category schemas
 */
export const InputImage = Schema.Struct({
  type: Schema.Literal("input_image"),
  image_url: optionalNullable(Schema.String),
  file_id: optionalNullable(Schema.String),
  detail: Schema.optional(Schema.Literals(["auto", "low", "high"]))
})

/**
 * A file given to the model (uploaded file id, URL or base64 data).
 *
 * @since 0.3.0
 * @category schemas
 */
export const InputFile = Schema.Struct({
  type: Schema.Literal("input_file"),
  file_id: optionalNullable(Schema.String),
  file_url: Schema.optional(Schema.String),
  file_data: Schema.optional(Schema.String),
  filename: Schema.optional(Schema.String)
})

/**
 * Text the model wrote (in an output message, or an assistant message given back as input).
 *
 * @since 0.3.0
 * @category schemas
 */
export const OutputText = Schema.Struct({
  type: Schema.Literal("output_text"),
  text: Schema.String,
  annotations: Wire.arrayOrEmpty(Schema.Unknown)
})
/**
 * @since 0.3.0
 * @category models
 */
export type OutputText = typeof OutputText.Type

/**
 * The model's refusal to answer (structured outputs report it instead of JSON).
 *
 * @since 0.3.0
 * @category schemas
 */
export const Refusal = Schema.Struct({ type: Schema.Literal("refusal"), refusal: Schema.String })
/**
 * @since 0.3.0
 * @category models
 */
export type Refusal = typeof Refusal.Type

/**
 * A content part of a kind this client does not model (kept as sent).
 *
 * @since 0.3.0
 * @category schemas
 */
export const OtherPart = Schema.Struct({
  type: otherType(["input_text", "input_image", "input_file", "output_text", "refusal"])
})

/**
 * A content part of an input message.
 *
 * @since 0.3.0
 * @category schemas
 */
export const InputContent = Schema.Union([InputText, InputImage, InputFile, OutputText, Refusal, OtherPart])

// ---------------------------------------------------------------------------------------------------------------
// Items (input and output)
// ---------------------------------------------------------------------------------------------------------------

/** Text, or content parts: what a message or a function's output given to the model holds. */
const InputContents = Schema.Union([Schema.String, Schema.Array(InputContent)])

/** The optional fields an input item echoes back from an earlier output. */
const itemFields = { id: Schema.optional(Schema.String), status: Schema.optional(Schema.String) }

/**
 * A message given to the model. `type` may be left out (the API's "easy input message").
 *
 * @since 0.3.0
 * @category schemas
 */
export const InputMessage = Schema.Struct({
  type: Schema.optional(Schema.Literal("message")),
  role: Schema.Literals(["user", "assistant", "system", "developer"]),
  content: InputContents,
  ...itemFields
})
/**
 * @since 0.3.0
 * @category models
 */
export type InputMessage = typeof InputMessage.Type

/**
 * A message the model wrote: `output_text` parts, or a `refusal`.
 *
 * @since 0.3.0
 * @category schemas
 */
export const OutputMessage = Schema.Struct({
  type: Schema.Literal("message"),
  id: Wire.stringOrEmpty,
  role: Schema.Literal("assistant").pipe(Schema.withDecodingDefault(Effect.succeed("assistant" as const))),
  status: Schema.optional(Schema.String),
  content: Wire.arrayOrEmpty(Schema.Union([OutputText, Refusal, OtherPart]))
})
/**
 * @since 0.3.0
 * @category models
 */
export type OutputMessage = typeof OutputMessage.Type

/**
 * A call of a function tool the model made; `arguments` is JSON text. Given back as input with its
 * {@link FunctionCallOutput}.
 *
 * @since 0.3.0
 * @category schemas
 */
export const FunctionCall = Schema.Struct({
  type: Schema.Literal("function_call"),
  id: Schema.optional(Schema.String),
  call_id: Wire.stringOrEmpty,
  name: Schema.String,
  arguments: Wire.stringOrEmpty,
  status: Schema.optional(Schema.String)
})
/**
 * @since 0.3.0
 * @category models
 */
export type FunctionCall = typeof FunctionCall.Type

/** A function call given back as input: there its `call_id` is required (it pairs the call with its output). */
const FunctionCallInput = Schema.Struct({
  ...FunctionCall.fields,
  call_id: Schema.String.pipe(Schema.check(Schema.isMinLength(1))),
  arguments: Schema.String
})

/**
 * The result of a function call, given to the model.
 *
 * @since 0.3.0
 * @category schemas
 */
export const FunctionCallOutput = Schema.Struct({
  type: Schema.Literal("function_call_output"),
  call_id: Schema.String.pipe(Schema.check(Schema.isMinLength(1))),
  output: InputContents,
  ...itemFields
})
/**
 * @since 0.3.0
 * @category models
 */
export type FunctionCallOutput = typeof FunctionCallOutput.Type

/**
 * A reasoning item: summary parts, and (with `include: ["reasoning.encrypted_content"]`) the encrypted
 * reasoning to give back in a stateless conversation.
 *
 * @since 0.3.0
 * @category schemas
 */
export const Reasoning = Schema.Struct({
  type: Schema.Literal("reasoning"),
  id: Wire.stringOrEmpty,
  summary: Wire.arrayOrEmpty(Schema.Struct({ type: Schema.String, text: Schema.String })),
  content: Schema.optional(Schema.Array(Schema.Struct({ type: Schema.String, text: Schema.String }))),
  encrypted_content: optionalNullable(Schema.String),
  status: Schema.optional(Schema.String)
})
/**
 * @since 0.3.0
 * @category models
 */
export type Reasoning = typeof Reasoning.Type

/**
 * A reference to an earlier item by id.
 *
 * @since 0.3.0
 * @category schemas
 */
export const ItemReference = Schema.Struct({ type: Schema.Literal("item_reference"), id: Schema.String })

/**
 * An item of a kind this client does not model (built-in tool calls, MCP, …): kept as the server sent it.
 *
 * @since 0.3.0
 * @category schemas
 */
export const OtherItem = Schema.Struct({
  type: otherType(["message", "function_call", "function_call_output", "reasoning", "item_reference"])
})
/**
 * @since 0.3.0
 * @category models
 */
export type OtherItem = typeof OtherItem.Type

/**
 * An item of `input`.
 *
 * @since 0.3.0
 * @category schemas
 */
export const InputItem = Schema.Union([
  InputMessage,
  FunctionCallInput,
  FunctionCallOutput,
  Reasoning,
  ItemReference,
  OtherItem
])
/**
 * @since 0.3.0
 * @category models
 */
export type InputItem = typeof InputItem.Type

/**
 * An item of a response's `output`.
 *
 * @since 0.3.0
 * @category schemas
 */
export const OutputItem = Schema.Union([OutputMessage, FunctionCall, Reasoning, OtherItem])
/**
 * @since 0.3.0
 * @category models
 */
export type OutputItem = typeof OutputItem.Type

// ---------------------------------------------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------------------------------------------

/**
 * A function tool. `parameters` is a JSON Schema object; with `strict: true` the model's arguments always
 * match it (`Tools` generates both from an Effect `Schema`).
 *
 * @since 0.3.0
 * @category schemas
 */
export const FunctionTool = Schema.Struct({
  type: Schema.Literal("function"),
  name,
  description: optionalNullable(Schema.String),
  parameters: optionalNullable(JsonObject),
  strict: optionalNullable(Schema.Boolean)
})
/**
 * @since 0.3.0
 * @category models
 */
export type FunctionTool = typeof FunctionTool.Type

/**
 * A tool the model may use: a function, or a built-in tool (`web_search`, `file_search`, `mcp` …) passed as
 * given.
 *
 * @since 0.3.0
 * @category schemas
 */
export const Tool = Schema.Union([FunctionTool, Schema.Struct({ type: otherType(["function"]) })])
/**
 * @since 0.3.0
 * @category models
 */
export type Tool = typeof Tool.Type

/**
 * `text.format`: plain text, any JSON object, or JSON valid for a schema (structured outputs).
 *
 * @since 0.3.0
 * @category schemas
 */
export const TextFormat = Schema.Union([
  Schema.Struct({ type: Schema.Literal("text") }),
  Schema.Struct({ type: Schema.Literal("json_object") }),
  Schema.Struct({
    type: Schema.Literal("json_schema"),
    name,
    schema: JsonObject,
    description: Schema.optional(Schema.String),
    strict: optionalNullable(Schema.Boolean)
  })
])
/**
 * @since 0.3.0
 * @category models
 */
export type TextFormat = typeof TextFormat.Type

/**
 * `reasoning`: effort and summary of reasoning models.
 *
 * @since 0.3.0
 * @category schemas
 */
export const ReasoningOptions = Schema.Struct({
  effort: optionalNullable(Schema.String),
  summary: optionalNullable(Schema.String)
})

const positiveInt = Int.pipe(Schema.check(Schema.isGreaterThan(0)))

/**
 * The body of `POST /responses`. Fields not listed here are passed through unchanged.
 *
 * @since 0.3.0
 * @category schemas
 */
export const Request = Schema.Struct({
  model: Schema.String.pipe(Schema.check(Schema.isMinLength(1))),
  input: Schema.optional(Schema.Union([Schema.String, Schema.Array(InputItem)])),
  instructions: optionalNullable(Schema.String),
  tools: Schema.optional(Schema.Array(Tool)),
  tool_choice: Schema.optional(
    Schema.Union([Schema.Literals(["none", "auto", "required"]), Schema.Struct({ type: Schema.String })])
  ),
  parallel_tool_calls: optionalNullable(Schema.Boolean),
  text: Schema.optional(
    Schema.Struct({ format: Schema.optional(TextFormat), verbosity: optionalNullable(Schema.String) })
  ),
  reasoning: optionalNullable(ReasoningOptions),
  max_output_tokens: optionalNullable(positiveInt),
  max_tool_calls: optionalNullable(positiveInt),
  previous_response_id: optionalNullable(Schema.String.pipe(Schema.check(Schema.isMinLength(1)))),
  store: optionalNullable(Schema.Boolean),
  background: optionalNullable(Schema.Boolean),
  stream: optionalNullable(Schema.Boolean),
  temperature: optionalNullable(Schema.Number.pipe(Schema.check(Schema.isBetween({ minimum: 0, maximum: 2 })))),
  top_p: optionalNullable(Schema.Number.pipe(Schema.check(Schema.isBetween({ minimum: 0, maximum: 1 })))),
  metadata: optionalNullable(Schema.Record(Schema.String, Schema.String)),
  include: optionalNullable(Schema.Array(Schema.String)),
  truncation: optionalNullable(Schema.Literals(["auto", "disabled"])),
  user: Schema.optional(Schema.String),
  service_tier: optionalNullable(Schema.String)
})
/**
 * @since 0.3.0
 * @category models
 */
export type Request = typeof Request.Type

/**
 * The body of `POST /responses/input_tokens`: what `create` would send, without the output options.
 *
 * @since 0.3.0
 * @category schemas
 */
export const InputTokensRequest = Schema.Struct({
  model: Schema.String.pipe(Schema.check(Schema.isMinLength(1))),
  input: Schema.optional(Schema.Union([Schema.String, Schema.Array(InputItem)])),
  instructions: optionalNullable(Schema.String),
  tools: Schema.optional(Schema.Array(Tool)),
  text: Schema.optional(Schema.Struct({ format: Schema.optional(TextFormat) })),
  reasoning: optionalNullable(ReasoningOptions),
  previous_response_id: optionalNullable(Schema.String)
})
/**
 * @since 0.3.0
 * @category models
 */
export type InputTokensRequest = typeof InputTokensRequest.Type

// ---------------------------------------------------------------------------------------------------------------
// Response
// ---------------------------------------------------------------------------------------------------------------

/**
 * Token usage. Reasoning tokens are part of `output_tokens` (and billed as output).
 *
 * @since 0.3.0
 * @category schemas
 */
export const Usage = Schema.Struct({
  input_tokens: Schema.Number,
  output_tokens: Schema.Number.pipe(Schema.withDecodingDefault(Effect.succeed(0))),
  total_tokens: Schema.optional(Schema.Number),
  input_tokens_details: optionalNullable(Schema.Struct({ cached_tokens: optionalNullable(Schema.Number) })),
  output_tokens_details: optionalNullable(Schema.Struct({ reasoning_tokens: optionalNullable(Schema.Number) }))
})
/**
 * @since 0.3.0
 * @category models
 */
export type Usage = typeof Usage.Type

/**
 * `completed`, `incomplete` (see `incomplete_details.reason`), `failed` (see `error`), `in_progress` and
 * `queued` (background responses), `cancelled`.
 *
 * @since 0.3.0
 * @category schemas
 */
export const Status = Schema.Literals(["completed", "incomplete", "failed", "in_progress", "queued", "cancelled"])
/**
 * @since 0.3.0
 * @category models
 */
export type Status = typeof Status.Type

/**
 * The error of a failed response.
 *
 * @since 0.3.0
 * @category schemas
 */
export const ResponseError = Schema.Struct({
  code: Schema.String.pipe(Schema.withDecodingDefault(Effect.succeed("server_error"))),
  message: Wire.stringOrEmpty
})

/**
 * The Response object (`POST /responses`, `GET /responses/{id}`, and inside the stream's lifecycle events).
 *
 * @since 0.3.0
 * @category schemas
 */
export const Response = Schema.Struct({
  id: Wire.stringOrEmpty,
  object: Schema.optional(Schema.String),
  created_at: Schema.optional(Schema.Number),
  status: Status.pipe(Schema.withDecodingDefault(Effect.succeed("completed" as const))),
  model: Wire.stringOrEmpty,
  output: Wire.arrayOrEmpty(OutputItem),
  usage: optionalNullable(Usage),
  error: optionalNullable(ResponseError),
  incomplete_details: optionalNullable(Schema.Struct({ reason: optionalNullable(Schema.String) })),
  instructions: Schema.optional(Schema.Unknown),
  max_output_tokens: optionalNullable(Schema.Number),
  previous_response_id: optionalNullable(Schema.String),
  store: optionalNullable(Schema.Boolean),
  background: optionalNullable(Schema.Boolean),
  metadata: Schema.optional(Schema.Unknown),
  text: Schema.optional(Schema.Unknown),
  reasoning: Schema.optional(Schema.Unknown)
})
/**
 * @since 0.3.0
 * @category models
 */
export type Response = typeof Response.Type

/**
 * The answer of `DELETE /responses/{id}`.
 *
 * @since 0.3.0
 * @category schemas
 */
export const Deleted = Schema.Struct({
  // The spec gives this 200 no body (the SDKs return nothing): a server that sends none has deleted it.
  id: Wire.stringOrEmpty,
  object: Schema.optional(Schema.String),
  deleted: Schema.Boolean.pipe(Schema.withDecodingDefault(Effect.succeed(true)))
})
/**
 * @since 0.3.0
 * @category models
 */
export type Deleted = typeof Deleted.Type

/**
 * The answer of `POST /responses/input_tokens`.
 *
 * @since 0.3.0
 * @category schemas
 */
export const InputTokens = Schema.Struct({ object: Schema.optional(Schema.String), input_tokens: Schema.Number })
/**
 * @since 0.3.0
 * @category models
 */
export type InputTokens = typeof InputTokens.Type

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

/**
 * The text of every `output_text` part of the response's messages, joined (what the SDKs call `output_text`).
 *
 * @since 0.3.0
 * @category accessors
 */
export const outputText: (response: Pick<Response, "output">) => string = internal.outputText

/**
 * The model's refusal, if it refused.
 *
 * @since 0.3.0
 * @category accessors
 */
export const refusal: (response: Pick<Response, "output">) => string | undefined = internal.refusal

/**
 * The function calls the model made, in order.
 *
 * @since 0.3.0
 * @category accessors
 */
export const functionCalls: (response: Pick<Response, "output">) => ReadonlyArray<FunctionCall> = internal.functionCalls

/**
 * Whether an output item is a message. Items of kinds this client does not model pass through with their own
 * `type`, so comparing `type` alone does not narrow the union in TypeScript: these guards do.
 *
 * @since 0.3.0
 * @category guards
 */
export const isMessage = (item: OutputItem): item is OutputMessage =>
  item.type === "message" && Array.isArray((item as { readonly content?: unknown }).content)

/**
 * Whether an output item is a function call.
 *
 * @since 0.3.0
 * @category guards
 */
export const isFunctionCall = (item: OutputItem): item is FunctionCall =>
  item.type === "function_call" && typeof (item as { readonly name?: unknown }).name === "string"

/**
 * Whether an output item is a reasoning item.
 *
 * @since 0.3.0
 * @category guards
 */
export const isReasoning = (item: OutputItem): item is Reasoning => item.type === "reasoning"
