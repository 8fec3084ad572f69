/**
 * Schemas of the chat completions endpoint (`POST /chat/completions`): the request, the response and the
 * streaming chunk. Requests are validated before sending; responses are decoded tolerantly: unknown fields
 * are kept (see `Decoding`) and the fields that compatible servers (llama.cpp, vLLM, Azure, Ollama) omit are
 * optional.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Names from "./internal/names.js"
import * as Wire from "./internal/wire.js"

const Int = Schema.Int

/**
 * A text content part.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TextPart = Schema.Struct({ type: Schema.Literal("text"), text: Schema.String })

/**
 * An image content part (URL or data URL).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ImagePart = Schema.Struct({
  type: Schema.Literal("image_url"),
  image_url: Schema.Struct({
    url: Schema.String,
    detail: Schema.optional(Schema.Literals(["auto", "low", "high"]))
  })
})

/**
 * An audio content part (base64 data).
 *
 * @since 0.1.0
 * @category schemas
 */
export const AudioPart = Schema.Struct({
  type: Schema.Literal("input_audio"),
  input_audio: Schema.Struct({ data: Schema.String, format: Schema.Literals(["wav", "mp3"]) })
})

/**
 * A file content part (an uploaded file id or base64 data).
 *
 * @since 0.1.0
 * @category schemas
 */
export const FilePart = Schema.Struct({
  type: Schema.Literal("file"),
  file: Schema.Struct({
    file_id: Schema.optional(Schema.String),
    file_data: Schema.optional(Schema.String),
    filename: Schema.optional(Schema.String)
  })
})

/**
 * A refusal part in an assistant message.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RefusalPart = Schema.Struct({ type: Schema.Literal("refusal"), refusal: Schema.String })

/**
 * Any part a user message may hold.
 *
 * @since 0.1.0
 * @category schemas
 */
export const UserContentPart = Schema.Union([TextPart, ImagePart, AudioPart, FilePart])

const TextContent = Schema.Union([Schema.String, Schema.Array(TextPart)])

/**
 * A tool call the model made.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolCall = Schema.Struct({
  id: Schema.String,
  type: Schema.Literal("function"),
  function: Schema.Struct({ name: Schema.String, arguments: Schema.String })
})
/**
 * @since 0.1.0
 * @category models
 */
export type ToolCall = typeof ToolCall.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const SystemMessage = Schema.Struct({
  role: Schema.Literal("system"),
  content: TextContent,
  name: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const DeveloperMessage = Schema.Struct({
  role: Schema.Literal("developer"),
  content: TextContent,
  name: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const UserMessage = Schema.Struct({
  role: Schema.Literal("user"),
  content: Schema.Union([Schema.String, Schema.Array(UserContentPart)]),
  name: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const AssistantMessage = Schema.Struct({
  role: Schema.Literal("assistant"),
  content: Schema.optional(
    Schema.NullOr(Schema.Union([Schema.String, Schema.Array(Schema.Union([TextPart, RefusalPart]))]))
  ),
  refusal: Schema.optional(Schema.NullOr(Schema.String)),
  tool_calls: Schema.optional(Schema.Array(ToolCall)),
  name: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const ToolMessage = Schema.Struct({
  role: Schema.Literal("tool"),
  content: TextContent,
  tool_call_id: Schema.String
})

/**
 * A message of any role.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Message = Schema.Union([SystemMessage, DeveloperMessage, UserMessage, AssistantMessage, ToolMessage])
/**
 * @since 0.1.0
 * @category models
 */
export type Message = typeof Message.Type

/**
 * A function tool the model may call. `parameters` is a JSON Schema object.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Tool = Schema.Struct({
  type: Schema.Literal("function"),
  function: Schema.Struct({
    name: Names.Name,
    description: Schema.optional(Schema.String),
    parameters: Schema.optional(Schema.Record(Schema.String, Schema.Unknown)),
    strict: Schema.optional(Schema.NullOr(Schema.Boolean))
  })
})
/**
 * @since 0.1.0
 * @category models
 */
export type Tool = typeof Tool.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const ToolChoice = Schema.Union([
  Schema.Literals(["none", "auto", "required"]),
  Schema.Struct({ type: Schema.Literal("function"), function: Schema.Struct({ name: Schema.String }) })
])

/**
 * `text`, `json_object` or `json_schema` (structured outputs).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseFormat = Schema.Union([
  Schema.Struct({ type: Schema.Literal("text") }),
  Schema.Struct({ type: Schema.Literal("json_object") }),
  Schema.Struct({
    type: Schema.Literal("json_schema"),
    json_schema: Schema.Struct({
      name: Names.Name,
      description: Schema.optional(Schema.String),
      schema: Schema.optional(Schema.Record(Schema.String, Schema.Unknown)),
      strict: Schema.optional(Schema.NullOr(Schema.Boolean))
    })
  })
])

/**
 * The body of `POST /chat/completions`. Fields not listed here are passed through unchanged (vendor
 * extensions such as vLLM's `top_k`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Request = Schema.Struct({
  model: Schema.String.pipe(Schema.check(Schema.isMinLength(1))),
  messages: Schema.Array(Message).pipe(Schema.check(Schema.isMinLength(1))),
  tools: Schema.optional(Schema.Array(Tool)),
  tool_choice: Schema.optional(ToolChoice),
  parallel_tool_calls: Schema.optional(Schema.Boolean),
  response_format: Schema.optional(ResponseFormat),
  max_tokens: Schema.optional(Int.pipe(Schema.check(Schema.isGreaterThan(0)))),
  max_completion_tokens: Schema.optional(Int.pipe(Schema.check(Schema.isGreaterThan(0)))),
  temperature: Schema.optional(Schema.Number.pipe(Schema.check(Schema.isBetween({ minimum: 0, maximum: 2 })))),
  top_p: Schema.optional(Schema.Number.pipe(Schema.check(Schema.isBetween({ minimum: 0, maximum: 1 })))),
  n: Schema.optional(Int.pipe(Schema.check(Schema.isBetween({ minimum: 1, maximum: 128 })))),
  seed: Schema.optional(Int),
  stop: Schema.optional(
    Schema.Union([Schema.String, Schema.Array(Schema.String).pipe(Schema.check(Schema.isMaxLength(4)))])
  ),
  presence_penalty: Schema.optional(Schema.Number.pipe(Schema.check(Schema.isBetween({ minimum: -2, maximum: 2 })))),
  frequency_penalty: Schema.optional(Schema.Number.pipe(Schema.check(Schema.isBetween({ minimum: -2, maximum: 2 })))),
  logit_bias: Schema.optional(Schema.Record(Schema.String, Schema.Number)),
  logprobs: Schema.optional(Schema.Boolean),
  top_logprobs: Schema.optional(Int.pipe(Schema.check(Schema.isBetween({ minimum: 0, maximum: 20 })))),
  user: Schema.optional(Schema.String),
  store: Schema.optional(Schema.Boolean),
  metadata: Schema.optional(Schema.Record(Schema.String, Schema.String)),
  reasoning_effort: Schema.optional(Schema.String),
  service_tier: Schema.optional(Schema.String),
  stream: Schema.optional(Schema.Boolean),
  stream_options: Schema.optional(Schema.Struct({ include_usage: Schema.optional(Schema.Boolean) }))
})
/**
 * @since 0.1.0
 * @category models
 */
export type Request = typeof Request.Type

/**
 * Token usage. Only `prompt_tokens` and `completion_tokens` are required; details are optional.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Usage = Schema.Struct({
  prompt_tokens: Schema.Number,
  completion_tokens: Schema.Number.pipe(Schema.withDecodingDefault(Effect.succeed(0))),
  total_tokens: Schema.optional(Schema.Number),
  prompt_tokens_details: Schema.optional(
    Schema.NullOr(Schema.Struct({ cached_tokens: Schema.optional(Schema.NullOr(Schema.Number)) }))
  ),
  completion_tokens_details: Schema.optional(
    Schema.NullOr(Schema.Struct({ reasoning_tokens: Schema.optional(Schema.NullOr(Schema.Number)) }))
  )
})
/**
 * @since 0.1.0
 * @category models
 */
export type Usage = typeof Usage.Type

/** The index of a choice (0 when a server leaves it out), in a completion and in a streaming chunk. */
const choiceIndex = Schema.Number.pipe(Schema.withDecodingDefault(Effect.succeed(0)))

/** The fields that end a choice, in a completion and in a streaming chunk. */
const choiceEnd = {
  finish_reason: Schema.NullOr(Schema.String).pipe(Schema.withDecodingDefault(Effect.succeed(null))),
  logprobs: Schema.optional(Schema.Unknown)
}

/** The fields that open a completion and a streaming chunk (each has its own `model` after them). */
const completionHead = {
  id: Wire.stringOrEmpty,
  object: Schema.optional(Schema.String),
  created: Schema.optional(Schema.Number)
}

/** The serving fields of a completion and a streaming chunk (after `model`). */
const completionServing = {
  system_fingerprint: Schema.optional(Schema.NullOr(Schema.String)),
  service_tier: Schema.optional(Schema.NullOr(Schema.String))
}

/**
 * The message of a completion choice.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseMessage = Schema.Struct({
  role: Schema.String.pipe(Schema.withDecodingDefault(Effect.succeed("assistant"))),
  content: Schema.NullOr(Schema.String).pipe(Schema.withDecodingDefault(Effect.succeed(null))),
  refusal: Schema.optional(Schema.NullOr(Schema.String)),
  tool_calls: Schema.optional(Schema.NullOr(Schema.Array(ToolCall))),
  reasoning_content: Schema.optional(Schema.NullOr(Schema.String))
})

/**
 * One choice of a completion. `finish_reason` is `stop`, `length`, `content_filter`, `tool_calls` on OpenAI;
 * other servers may send other strings or none.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Choice = Schema.Struct({ index: choiceIndex, message: ResponseMessage, ...choiceEnd })

/**
 * The response of `POST /chat/completions`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ChatCompletion = Schema.Struct({
  ...completionHead,
  model: Wire.stringOrEmpty,
  ...completionServing,
  choices: Schema.Array(Choice),
  usage: Schema.optional(Schema.NullOr(Usage))
})
/**
 * @since 0.1.0
 * @category models
 */
export type ChatCompletion = typeof ChatCompletion.Type

/**
 * A tool-call fragment in a streaming delta.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolCallDelta = Schema.Struct({
  index: Schema.Number.pipe(Schema.withDecodingDefault(Effect.succeed(0))),
  id: Schema.optional(Schema.NullOr(Schema.String)),
  type: Schema.optional(Schema.NullOr(Schema.String)),
  function: Schema.optional(
    Schema.NullOr(
      Schema.Struct({
        name: Schema.optional(Schema.NullOr(Schema.String)),
        arguments: Schema.optional(Schema.NullOr(Schema.String))
      })
    )
  )
})

/**
 * One choice's delta in a streaming chunk.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ChunkChoice = Schema.Struct({
  index: choiceIndex,
  delta: Schema.Struct({
    role: Schema.optional(Schema.NullOr(Schema.String)),
    content: Schema.optional(Schema.NullOr(Schema.String)),
    refusal: Schema.optional(Schema.NullOr(Schema.String)),
    reasoning_content: Schema.optional(Schema.NullOr(Schema.String)),
    tool_calls: Schema.optional(Schema.NullOr(Schema.Array(ToolCallDelta)))
  }).pipe(Schema.withDecodingDefault(Effect.sync(() => ({})))),
  ...choiceEnd
})

/**
 * One `data:` event of a streaming chat completion. With `stream_options.include_usage` the last chunk before
 * `[DONE]` has `choices: []` and the `usage`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ChatCompletionChunk = Schema.Struct({
  ...completionHead,
  model: Schema.optional(Schema.String),
  ...completionServing,
  choices: Wire.arrayOrEmpty(ChunkChoice),
  usage: Schema.optional(Schema.NullOr(Usage))
})
/**
 * @since 0.1.0
 * @category models
 */
export type ChatCompletionChunk = typeof ChatCompletionChunk.Type
