/**
 * `ChatStream.stream`: a chat completion stream on the core client's streaming call, through the one gated stream
 * (`../gatedStream.ts`) with the chat decoder and what an attempt's body delivered (for settlement and errors).
 *
 * @internal
 */
import { type ChatCompletions, type Errors, type Gates, OpenAi } from "@sluice/core"
import * as Usage from "@sluice/core/Usage"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as Sse from "../../Sse.js"
import type { ChatCompletionChunk } from "../chunk.js"
import * as internalErrors from "../errors.js"
import * as GatedStream from "../gatedStream.js"
import { TextParts } from "../textParts.js"
import { fromBytes } from "./decode.js"

/** What one attempt's body has delivered: for `StreamTruncated`, settlement and request ids on errors. */
class Progress {
  chunks = 0
  readonly content = new TextParts()
  outputChars = 0
  usage: ChatCompletions.Usage | undefined = undefined
  finishReason: string | undefined = undefined
  responseModel: string | undefined = undefined
  error: Errors.OpenAiError | undefined = undefined
  constructor(readonly requestId: string | undefined) {}

  add(chunk: ChatCompletionChunk): void {
    this.chunks++
    if (chunk.usage != null) this.usage = chunk.usage
    if (this.responseModel === undefined && chunk.model) this.responseModel = chunk.model
    for (const choice of chunk.choices) {
      if (choice.index === 0 && choice.finish_reason !== null) this.finishReason = choice.finish_reason
      const delta = choice.delta
      if (delta.content) {
        this.outputChars += delta.content.length
        if (choice.index === 0) this.content.append(delta.content)
      }
      if (delta.refusal) this.outputChars += delta.refusal.length
      if (delta.reasoning_content) this.outputChars += delta.reasoning_content.length
      if (delta.tool_calls) {
        for (const call of delta.tool_calls) {
          this.outputChars += (call.function?.name?.length ?? 0) + (call.function?.arguments?.length ?? 0)
        }
      }
    }
  }

  fail<E extends Errors.OpenAiError>(error: E): E {
    this.error ??= error
    return error
  }

  /** The server's usage when it came; otherwise the prompt estimate plus ~4 characters per streamed token. */
  usageFor(call: Gates.Call): Usage.Usage {
    return Usage.fromWire(this.usage) ?? Usage.streamed(call.estimatedPromptTokens, this.outputChars)
  }
}

/** The decoded body of one attempt, every failure an `OpenAiError` with the request id. */
const decodeBody = (
  response: OpenAi.StreamHead,
  progress: Progress,
  sse: Sse.DecodeOptions | undefined
): Stream.Stream<ChatCompletionChunk, Errors.OpenAiError> =>
  fromBytes(response.body, sse, response.requestId).pipe(
    Stream.mapArray((chunks) => {
      for (let i = 0; i < chunks.length; i++) progress.add(chunks[i]!)
      return chunks
    }),
    Stream.mapError((error) =>
      progress.fail(
        // A connection that breaks after the first chunk leaves half an answer: that is a truncated stream.
        // Before it, the failure stays a (retryable) ConnectionFailed.
        error._tag === "ConnectionFailed" && progress.chunks > 0
          ? internalErrors.truncated(progress.chunks, progress.content.toString(), response.requestId)
          : internalErrors.withRequestId(error, response.requestId)
      )
    )
  )

/** Whether a chunk carries output (a token of any kind), an end or usage — not just the opening `role`. */
const hasToken = (chunk: ChatCompletionChunk): boolean =>
  chunk.usage != null ||
  chunk.choices.some(
    (c) =>
      c.finish_reason !== null ||
      !!c.delta.content ||
      !!c.delta.refusal ||
      !!c.delta.reasoning_content ||
      (c.delta.tool_calls != null && c.delta.tool_calls.length > 0)
  )

/** @internal */
export const stream = (
  request: ChatCompletions.Request,
  options: GatedStream.Options
): Stream.Stream<ChatCompletionChunk, Errors.OpenAiError, OpenAi.OpenAi> =>
  Stream.unwrap(
    Effect.map(OpenAi.OpenAi, (openai) => {
      const { sse, ...options_ } = options
      return GatedStream.run<ChatCompletionChunk, Progress, never>(
        (call) => openai.chat.completions.stream(request, call),
        {
          progress: (requestId) => new Progress(requestId),
          decode: (head, progress) => decodeBody(head, progress, sse),
          isFirst: hasToken
        },
        options_
      )
    })
  )
