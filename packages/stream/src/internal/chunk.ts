/**
 * The wire shapes a chat stream needs, from `@sluice/core/ChatCompletions` (the canonical schemas), and a chunk's
 * decoding: core's `Decoding.chatCompletionChunk` (a fast path for the common shapes, the schema for the rest).
 *
 * @internal
 */
import { ChatCompletions, Decoding } from "@sluice/core"
import * as Result from "effect/Result"

/** @internal */
export const Usage = ChatCompletions.Usage
/** @internal */
export type Usage = ChatCompletions.Usage
/** @internal */
export const ToolCall = ChatCompletions.ToolCall
/** @internal */
export type ToolCall = ChatCompletions.ToolCall
/** @internal */
export const ChatCompletion = ChatCompletions.ChatCompletion
/** @internal */
export type ChatCompletion = ChatCompletions.ChatCompletion
/** @internal */
export const ChatCompletionChunk = ChatCompletions.ChatCompletionChunk
/** @internal */
export type ChatCompletionChunk = ChatCompletions.ChatCompletionChunk

const decodeChunk = Decoding.chatCompletionChunk

const describe = (problems: ReadonlyArray<Decoding.Problem>): string =>
  problems
    .map((problem) =>
      problem.path.length === 0 ? problem.message : `${Decoding.formatPath(problem.path)}: ${problem.message}`
    )
    .join("; ")

/**
 * A chunk from an event's JSON; a string says why it is not one.
 *
 * @internal
 */
export const decode = (json: unknown): ChatCompletionChunk | string => {
  const decoded = decodeChunk(json)
  return Result.isSuccess(decoded) ? decoded.success : describe(decoded.failure)
}

/**
 * Whether an event's JSON is an error the server reported in the stream (an object with a non-null `error`).
 *
 * @internal
 */
export const isErrorPayload = (json: unknown): boolean =>
  typeof json === "object" && json !== null && (json as { readonly error?: unknown }).error != null

/**
 * The content delta of choice 0, if any.
 *
 * @internal
 */
export const firstContent = (chunk: ChatCompletionChunk): string | null | undefined => {
  const choices = chunk.choices
  for (let i = 0; i < choices.length; i++) if (choices[i]!.index === 0) return choices[i]!.delta.content
  return undefined
}
