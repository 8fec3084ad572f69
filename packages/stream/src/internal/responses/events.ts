/**
 * The semantic events of a streamed Response (`POST /responses` with `stream: true`, or `GET /responses/{id}?stream=true`),
 * as Schemas discriminated by `type`. `sequence_number`, `output_index`, `item_id` and `content_index` are optional
 * (llama.cpp's llama-server sends none of them); unknown fields are kept; an event type not listed here decodes as
 * `Unknown` (with its name and data) and passes through.
 *
 * @internal
 */
import { Responses } from "@sluice/core"
import * as Schema from "effect/Schema"

const position = {
  sequence_number: Schema.optional(Schema.Number),
  output_index: Schema.optional(Schema.Number),
  item_id: Schema.optional(Schema.String),
  content_index: Schema.optional(Schema.Number)
}

const lifecycle = <T extends string>(type: T) =>
  Schema.Struct({
    type: Schema.Literal(type),
    sequence_number: Schema.optional(Schema.Number),
    response: Responses.Response
  })

const text = <T extends string, K extends string>(type: T, key: K) =>
  Schema.Struct({ type: Schema.Literal(type), ...position, [key]: Schema.String } as {
    readonly type: Schema.Literal<T>
  } & typeof position & { readonly [P in K]: typeof Schema.String })

const reasoning = <T extends string, K extends string>(type: T, key: K) =>
  Schema.Struct({
    type: Schema.Literal(type),
    ...position,
    summary_index: Schema.optional(Schema.Number),
    [key]: Schema.String
  } as {
    readonly type: Schema.Literal<T>
    readonly summary_index: Schema.optional<Schema.Number>
  } & typeof position & { readonly [P in K]: typeof Schema.String })

/** @internal */
export const Created = lifecycle("response.created")
/** @internal */
export const InProgress = lifecycle("response.in_progress")
/** @internal */
export const Queued = lifecycle("response.queued")
/** @internal */
export const Completed = lifecycle("response.completed")
/** @internal */
export const Incomplete = lifecycle("response.incomplete")
/** @internal */
export const Failed = lifecycle("response.failed")

/** @internal */
export const OutputItemAdded = Schema.Struct({
  type: Schema.Literal("response.output_item.added"),
  ...position,
  item: Responses.OutputItem
})
/** @internal */
export const OutputItemDone = Schema.Struct({
  type: Schema.Literal("response.output_item.done"),
  ...position,
  item: Responses.OutputItem
})
/** @internal */
export const ContentPartAdded = Schema.Struct({
  type: Schema.Literal("response.content_part.added"),
  ...position,
  part: Schema.Unknown
})
/** @internal */
export const ContentPartDone = Schema.Struct({
  type: Schema.Literal("response.content_part.done"),
  ...position,
  part: Schema.Unknown
})
/** @internal */
export const OutputTextDelta = text("response.output_text.delta", "delta")
/** @internal */
export const OutputTextDone = text("response.output_text.done", "text")
/** @internal */
export const RefusalDelta = text("response.refusal.delta", "delta")
/** @internal */
export const RefusalDone = text("response.refusal.done", "refusal")
/** @internal */
export const FunctionCallArgumentsDelta = text("response.function_call_arguments.delta", "delta")
/** @internal */
export const FunctionCallArgumentsDone = Schema.Struct({
  type: Schema.Literal("response.function_call_arguments.done"),
  ...position,
  arguments: Schema.String,
  name: Schema.optional(Schema.String)
})
/** @internal */
export const ReasoningSummaryPartAdded = Schema.Struct({
  type: Schema.Literal("response.reasoning_summary_part.added"),
  ...position,
  summary_index: Schema.optional(Schema.Number),
  part: Schema.Unknown
})
/** @internal */
export const ReasoningSummaryPartDone = Schema.Struct({
  type: Schema.Literal("response.reasoning_summary_part.done"),
  ...position,
  summary_index: Schema.optional(Schema.Number),
  part: Schema.Unknown
})
/** @internal */
export const ReasoningSummaryTextDelta = reasoning("response.reasoning_summary_text.delta", "delta")
/** @internal */
export const ReasoningSummaryTextDone = reasoning("response.reasoning_summary_text.done", "text")
/** @internal */
export const ReasoningTextDelta = text("response.reasoning_text.delta", "delta")
/** @internal */
export const ReasoningTextDone = text("response.reasoning_text.done", "text")
/** @internal */
export const ErrorEvent = Schema.Struct({
  type: Schema.Literal("error"),
  sequence_number: Schema.optional(Schema.Number),
  code: Schema.optional(Schema.NullOr(Schema.String)),
  message: Schema.optional(Schema.String),
  param: Schema.optional(Schema.NullOr(Schema.String))
})

const known = [
  Created,
  InProgress,
  Queued,
  Completed,
  Incomplete,
  Failed,
  OutputItemAdded,
  OutputItemDone,
  ContentPartAdded,
  ContentPartDone,
  OutputTextDelta,
  OutputTextDone,
  RefusalDelta,
  RefusalDone,
  FunctionCallArgumentsDelta,
  FunctionCallArgumentsDone,
  ReasoningSummaryPartAdded,
  ReasoningSummaryPartDone,
  ReasoningSummaryTextDelta,
  ReasoningSummaryTextDone,
  ReasoningTextDelta,
  ReasoningTextDone,
  ErrorEvent
] as const

/** The `type`s listed here (the rest are `Unknown`). */
export const knownTypes: ReadonlySet<string> = new Set(
  known.map((schema) => (schema.fields.type as unknown as { readonly literal: string }).literal)
)

/**
 * An event of a type not listed here (built-in tools' progress, future events): its name and data as sent. Its
 * `type` is the literal `"unknown"` so that a switch on `type` narrows every other member.
 *
 * @internal
 */
export const Unknown = Schema.Struct({
  type: Schema.Literal("unknown"),
  /** The event's own `type`, e.g. `response.web_search_call.searching`. */
  name: Schema.String,
  data: Schema.Unknown,
  sequence_number: Schema.optional(Schema.Number)
})

/** @internal */
export const Event = Schema.Union([...known, Unknown])
/** @internal */
export type Event = typeof Event.Type

/** The schema of one `type`, for decoding an event without trying every member. */
export const byType: ReadonlyMap<string, Decoder> = new Map(
  known.map((schema) => [
    (schema.fields.type as unknown as { readonly literal: string }).literal,
    schema as unknown as Decoder
  ])
)

/** A schema of one event, as the decoder uses it. */
export type Decoder = Schema.ConstraintDecoder<unknown>
