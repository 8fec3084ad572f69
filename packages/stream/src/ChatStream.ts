/**
 * Streaming chat completions: SSE events to typed chunks (with `[DONE]`, in-stream errors and
 * truncation as typed failures), accumulation into a full completion, text re-chunking and
 * bounded buffering.
 *
 * @since 0.1.0
 */
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Accumulator } from "./internal/accumulator.js"
import * as internalChunk from "./internal/chunk.js"
import * as internalErrors from "./internal/errors.js"
import { type Split, splitLines, splitSentences, splitWords } from "./internal/text.js"
import * as Sse from "./Sse.js"

/**
 * One `data:` event of a streaming chat completion. Unknown fields are kept on the decoded value
 * (so relaying with `Interop.toSse` loses nothing) but are not part of the type.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ChatCompletionChunk = internalChunk.ChatCompletionChunk

/**
 * @since 0.1.0
 * @category models
 */
export type ChatCompletionChunk = internalChunk.ChatCompletionChunk

/**
 * A whole completion, as the non-streaming endpoint returns it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ChatCompletion = internalChunk.ChatCompletion

/**
 * @since 0.1.0
 * @category models
 */
export type ChatCompletion = internalChunk.ChatCompletion

/**
 * The stream ended without `data: [DONE]`: the connection was cut or the server gave up. Carries
 * the number of chunks that arrived and the content of choice 0 so far.
 *
 * @since 0.1.0
 * @category errors
 */
export const StreamTruncated = internalErrors.StreamTruncated

/**
 * @since 0.1.0
 * @category errors
 */
export type StreamTruncated = internalErrors.StreamTruncated

/**
 * The server reported an error inside the stream (an `event: error` or a chunk with an `error`
 * object), with its message, code and type.
 *
 * @since 0.1.0
 * @category errors
 */
export const StreamError = internalErrors.StreamError

/**
 * @since 0.1.0
 * @category errors
 */
export type StreamError = internalErrors.StreamError

/**
 * An event could not be decoded as a chunk. The message names the event index (0-based, counting
 * every event of the stream) and the reason; `body` holds at most the first 500 characters of the
 * event's data.
 *
 * @since 0.1.0
 * @category errors
 */
export const ResponseDecodeFailed = internalErrors.ResponseDecodeFailed

/**
 * @since 0.1.0
 * @category errors
 */
export type ResponseDecodeFailed = internalErrors.ResponseDecodeFailed

/**
 * Every way decoding a chat stream from SSE events can fail.
 *
 * @since 0.1.0
 * @category errors
 */
export type ChatStreamError = StreamTruncated | StreamError | ResponseDecodeFailed

const MAX_BODY = 500
const truncate = (s: string): string => (s.length > MAX_BODY ? s.slice(0, MAX_BODY) : s)

const decodeChunk = Schema.decodeUnknownEither(internalChunk.ChatCompletionChunk, { onExcessProperty: "preserve" })

const optionalString = (u: unknown): string | undefined =>
  typeof u === "string" ? u : typeof u === "number" ? String(u) : undefined

const toStreamError = (payload: unknown, raw: string): StreamError => {
  const body = Predicate.isRecord(payload) && Predicate.isRecord(payload.error) ? payload.error : payload
  if (!Predicate.isRecord(body)) return new internalErrors.StreamError({ message: truncate(raw) })
  const fields: {
    message: string
    code?: string
    type?: string
    param?: string
  } = { message: optionalString(body.message) ?? truncate(raw) }
  const code = optionalString(body.code)
  const type = optionalString(body.type)
  const param = optionalString(body.param)
  if (code !== undefined) fields.code = code
  if (type !== undefined) fields.type = type
  if (param !== undefined) fields.param = param
  return new internalErrors.StreamError(fields)
}

const parseJson = (data: string): Either.Either<unknown, string> => {
  try {
    return Either.right(JSON.parse(data))
  } catch (e) {
    return Either.left(e instanceof Error ? e.message : String(e))
  }
}

type Step = { readonly _tag: "Chunk"; readonly chunk: ChatCompletionChunk } | { readonly _tag: "Skip" | "Done" }
const skip: Step = { _tag: "Skip" }
const done: Step = { _tag: "Done" }

const interpret = (event: Sse.Event, index: number): Either.Either<Step, StreamError | ResponseDecodeFailed> => {
  if (event.event === "error") {
    const parsed = parseJson(event.data)
    return Either.left(toStreamError(Either.isRight(parsed) ? parsed.right : undefined, event.data))
  }
  // OpenAI sends only unnamed events; other servers add e.g. `event: ping`.
  if (event.event !== "message") return Either.right(skip)
  const data = event.data.trim()
  if (data === "") return Either.right(skip)
  if (data === "[DONE]") return Either.right(done)
  const parsed = parseJson(data)
  if (Either.isLeft(parsed)) {
    return Either.left(
      new internalErrors.ResponseDecodeFailed({
        message: `stream event ${index}: invalid JSON: ${parsed.left}`,
        body: truncate(event.data)
      })
    )
  }
  if (Predicate.isRecord(parsed.right) && parsed.right.error !== undefined && parsed.right.error !== null) {
    return Either.left(toStreamError(parsed.right, data))
  }
  const fast = internalChunk.fastChunk(parsed.right)
  if (fast !== undefined) return Either.right({ _tag: "Chunk", chunk: fast })
  const chunk = decodeChunk(parsed.right)
  if (Either.isLeft(chunk)) {
    return Either.left(
      new internalErrors.ResponseDecodeFailed({
        message: `stream event ${index}: not a chat completion chunk: ${truncate(ParseResult.TreeFormatter.formatErrorSync(chunk.left))}`,
        body: truncate(event.data)
      })
    )
  }
  return Either.right({ _tag: "Chunk", chunk: chunk.right })
}

type ChunkChannel<E> = Channel.Channel<
  Chunk.Chunk<ChatCompletionChunk>,
  Chunk.Chunk<Sse.Event>,
  E | ChatStreamError,
  E,
  void,
  unknown
>

/**
 * Decodes SSE events into chunks. `data: [DONE]` ends the stream (and stops reading upstream, which
 * releases the connection); an input that ends before it fails with {@link StreamTruncated};
 * `event: error` or a chunk with an `error` object fails with {@link StreamError}; an event that
 * is not a chunk fails with {@link ResponseDecodeFailed}. Events of other named types and empty
 * events are skipped. Chunks that arrived before a failure are delivered first.
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromSse = <E, R>(
  events: Stream.Stream<Sse.Event, E, R>
): Stream.Stream<ChatCompletionChunk, E | ChatStreamError, R> =>
  Stream.pipeThroughChannelOrFail(
    events,
    Channel.suspend(() => {
      let index = 0
      let chunks = 0
      let partialContent = ""
      const emit = (out: Array<ChatCompletionChunk>, next: ChunkChannel<E>): ChunkChannel<E> =>
        out.length === 0 ? next : Channel.zipRight(Channel.write(Chunk.unsafeFromArray(out)), next)
      const loop: ChunkChannel<E> = Channel.readWithCause({
        onInput: (input: Chunk.Chunk<Sse.Event>) => {
          const out: Array<ChatCompletionChunk> = []
          for (const event of input) {
            const step = interpret(event, index++)
            if (Either.isLeft(step)) return emit(out, Channel.fail(step.left))
            if (step.right._tag === "Done") return emit(out, Channel.void)
            if (step.right._tag === "Chunk") {
              const chunk = step.right.chunk
              out.push(chunk)
              chunks++
              const content = chunk.choices.find((c) => c.index === 0)?.delta.content
              if (content) partialContent += content
            }
          }
          return emit(out, loop)
        },
        onFailure: (cause) => Channel.failCause(cause),
        onDone: () => Channel.fail(new internalErrors.StreamTruncated({ chunks, partialContent }))
      })
      return loop
    })
  )

/**
 * Decodes a response body (`text/event-stream` bytes) into chunks: {@link Sse.decode} then
 * {@link fromSse}.
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromBytes: {
  (
    options?: Sse.DecodeOptions
  ): <E, R>(
    bytes: Stream.Stream<Uint8Array, E, R>
  ) => Stream.Stream<ChatCompletionChunk, E | Sse.SseDecodeError | ChatStreamError, R>
  <E, R>(
    bytes: Stream.Stream<Uint8Array, E, R>,
    options?: Sse.DecodeOptions
  ): Stream.Stream<ChatCompletionChunk, E | Sse.SseDecodeError | ChatStreamError, R>
} = dual(
  (args) => Predicate.hasProperty(args[0], Stream.StreamTypeId),
  <E, R>(
    bytes: Stream.Stream<Uint8Array, E, R>,
    options?: Sse.DecodeOptions
  ): Stream.Stream<ChatCompletionChunk, E | Sse.SseDecodeError | ChatStreamError, R> =>
    fromSse(Sse.decode(bytes, options))
)

/**
 * Runs the stream and folds it into one completion: content, refusal and reasoning per choice,
 * tool-call fragments merged by index (id, name and arguments concatenated), the last
 * `finish_reason` per choice, `usage` from the usage chunk, `id` and `model` from the first chunk
 * that has them.
 *
 * @since 0.1.0
 * @category accumulation
 */
export const accumulate = <E, R>(self: Stream.Stream<ChatCompletionChunk, E, R>): Effect.Effect<ChatCompletion, E, R> =>
  Effect.suspend(() => {
    const accumulator = new Accumulator()
    return Stream.runForEachChunk(self, (chunks) =>
      Effect.sync(() => {
        for (const chunk of chunks) accumulator.add(chunk)
      })
    ).pipe(Effect.map(() => accumulator.result()))
  })

/**
 * The content deltas of choice 0, empty ones dropped.
 *
 * @since 0.1.0
 * @category text
 */
export const textDeltas = <E, R>(self: Stream.Stream<ChatCompletionChunk, E, R>): Stream.Stream<string, E, R> =>
  Stream.filterMap(self, (chunk) => {
    const content = chunk.choices.find((c) => c.index === 0)?.delta.content
    return content ? Option.some(content) : Option.none()
  })

const rechunk =
  (split: (buffer: string) => Split) =>
  <E, R>(self: Stream.Stream<string, E, R>): Stream.Stream<string, E, R> =>
    Stream.suspend(() => {
      let buffer = ""
      return Stream.mapConcat(self, (piece) => {
        if (piece === "") return []
        const result = split(buffer + piece)
        buffer = result.rest
        return result.complete
      }).pipe(Stream.concat(Stream.suspend(() => (buffer === "" ? Stream.empty : Stream.make(buffer)))))
    })

/**
 * Re-chunks text into words: each element is one word with the whitespace and punctuation that
 * follow it (`"Hello, "`, `"world."`). Joining the output gives back the input exactly; the
 * remainder is flushed when the input ends.
 *
 * @since 0.1.0
 * @category text
 */
export const words: <E, R>(self: Stream.Stream<string, E, R>) => Stream.Stream<string, E, R> = rechunk(splitWords)

/**
 * Re-chunks text into sentences (with their trailing whitespace), as `Intl.Segmenter` finds them.
 * A sentence is emitted once the next one has started; the remainder is flushed at the end.
 *
 * @since 0.1.0
 * @category text
 */
export const sentences: <E, R>(self: Stream.Stream<string, E, R>) => Stream.Stream<string, E, R> =
  rechunk(splitSentences)

/**
 * Re-chunks text into lines, each ending with its `"\n"` (the last one may not).
 *
 * @since 0.1.0
 * @category text
 */
export const lines: <E, R>(self: Stream.Stream<string, E, R>) => Stream.Stream<string, E, R> = rechunk(splitLines)

/**
 * Decouples producer and consumer with a bounded buffer of `capacity` elements: the producer runs
 * ahead at most that far and then waits (backpressure, never dropping). Chunking is lost.
 *
 * @since 0.1.0
 * @category buffering
 */
export const buffered: {
  (capacity: number): <A, E, R>(self: Stream.Stream<A, E, R>) => Stream.Stream<A, E, R>
  <A, E, R>(self: Stream.Stream<A, E, R>, capacity: number): Stream.Stream<A, E, R>
} = dual(
  2,
  <A, E, R>(self: Stream.Stream<A, E, R>, capacity: number): Stream.Stream<A, E, R> =>
    Stream.buffer(self, { capacity, strategy: "suspend" })
)
