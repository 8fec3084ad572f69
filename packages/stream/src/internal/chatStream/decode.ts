/**
 * SSE events → chat completion chunks (`ChatStream.fromSse`), and bytes → chunks in one step
 * (`ChatStream.fromBytes`: the SSE parser and the chunk decoder in the same pull, no stream stage in between).
 *
 * @internal
 */
import type { Errors } from "@sluice/core"
import type { ConnectionFailed } from "@sluice/core/Errors"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Sse from "../../Sse.js"
import * as Chunk from "../chunk.js"
import * as internalErrors from "../errors.js"
import * as PullStep from "../pullStep.js"
import { type ParseFailure, type ParsedEvent, parserOptions, SseParser, step, throughSse } from "../sseParser.js"
import { TextParts } from "../textParts.js"
import * as WebBody from "../webBody.js"

type ChatStreamError = Errors.StreamTruncated | Errors.ResponseDecodeFailed | internalErrors.InStreamError
type Halt = PullStep.Halt<ChatStreamError>

/** What one stream has decoded so far: chunk count and choice 0's content, for `StreamTruncated`. */
class ChunkDecoder {
  private index = 0
  private chunks = 0
  private readonly partialContent = new TextParts()
  constructor(readonly requestId: string | undefined) {}

  /** Decodes `events` into `out`; a halt ends the stream (`[DONE]`, an in-stream error, a bad event). */
  events(events: ReadonlyArray<Sse.Event>, out: Array<Chunk.ChatCompletionChunk>): Halt | undefined {
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!
      const index = this.index++
      if (event.event !== "message") {
        // OpenAI sends only unnamed events; other servers add e.g. `event: ping`.
        if (event.event === "error") return this.inStreamError(event.data)
        continue
      }
      const data = event.data
      if (data === "[DONE]") return PullStep.done
      let json: unknown
      try {
        json = JSON.parse(data)
      } catch (error) {
        if (data.trim() === "") continue
        if (data.trim() === "[DONE]") return PullStep.done
        return this.decodeFailed(`invalid JSON: ${error instanceof Error ? error.message : String(error)}`, data, index)
      }
      const halt = this.add(json, data, index, out)
      if (halt !== undefined) return halt
    }
    return undefined
  }

  truncated(): Halt {
    return PullStep.fail(internalErrors.truncated(this.chunks, this.partialContent.toString(), this.requestId))
  }

  /** One event's JSON: a chunk appended to `out`, or the in-stream error or decode failure it is. */
  private add(json: unknown, data: string, index: number, out: Array<Chunk.ChatCompletionChunk>): Halt | undefined {
    if (Chunk.isErrorPayload(json)) return PullStep.fail(internalErrors.fromPayload(json, data.trim(), this.requestId))
    const chunk = Chunk.decode(json)
    if (typeof chunk === "string") {
      return this.decodeFailed(`not a chat completion chunk: ${internalErrors.truncate(chunk)}`, data, index)
    }
    out.push(chunk)
    this.chunks++
    const content = Chunk.firstContent(chunk)
    if (content) this.partialContent.append(content)
    return undefined
  }

  private inStreamError(data: string): Halt {
    let payload: unknown
    try {
      payload = JSON.parse(data)
    } catch {
      payload = undefined
    }
    return PullStep.fail(internalErrors.fromPayload(payload, data, this.requestId))
  }

  private decodeFailed(message: string, data: string, index: number): Halt {
    return PullStep.fail(internalErrors.decodeFailed(`stream event ${index}: ${message}`, data, this.requestId))
  }
}

const toError = (failure: ParseFailure): Sse.SseDecodeError =>
  new Sse.SseDecodeError({ reason: failure.reason, line: failure.line, detail: failure.detail })

/**
 * The SSE parser as a step whose failures are `ResponseDecodeFailed` (for the chat and Responses decoders).
 *
 * @internal
 */
export const sseStep = (
  options: Sse.DecodeOptions | undefined,
  requestId: string | undefined
): PullStep.Step<Uint8Array, ParsedEvent, Errors.ResponseDecodeFailed> =>
  step(new SseParser(parserOptions(options)), (failure) =>
    internalErrors.fromSseDecodeError(toError(failure), requestId)
  )

const chunkStep = (
  requestId: string | undefined
): PullStep.Step<Sse.Event, Chunk.ChatCompletionChunk, ChatStreamError> => {
  const decoder = new ChunkDecoder(requestId)
  return { input: (input, out) => decoder.events(input, out), end: () => decoder.truncated() }
}

/** @internal */
export const fromSse = <E, R>(
  events: Stream.Stream<Sse.Event, E, R>,
  requestId: string | undefined
): Stream.Stream<Chunk.ChatCompletionChunk, E | ChatStreamError, R> =>
  Stream.transformPull(events, (upstream) => Effect.sync(() => PullStep.make(upstream, chunkStep(requestId))))

/** Bytes → chunks: SSE failures become `ResponseDecodeFailed`, after the chunks decoded before them. @internal */
export const fromBytes = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  options: Sse.DecodeOptions | undefined,
  requestId: string | undefined
): Stream.Stream<Chunk.ChatCompletionChunk, E | ChatStreamError, R> =>
  Stream.transformPull(bytes, (upstream) =>
    Effect.sync(() => PullStep.make(upstream, throughSse(sseStep(options, requestId), chunkStep(requestId))))
  )

/** A Web body → chunks: the same step, run in the body's read callbacks. @internal */
export const fromReadableStream = (
  body: ReadableStream<Uint8Array>,
  options: (Sse.DecodeOptions & WebBody.BodyOptions) | undefined,
  requestId: string | undefined
): Stream.Stream<Chunk.ChatCompletionChunk, ChatStreamError | ConnectionFailed> =>
  WebBody.decode(body, () => throughSse(sseStep(options, requestId), chunkStep(requestId)), options)
