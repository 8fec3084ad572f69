/**
 * Folding a chat stream into one completion, and its text: choice 0's content deltas and their re-chunking into
 * words, sentences or lines.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import { Accumulator } from "../accumulator.js"
import { type ChatCompletion, type ChatCompletionChunk, firstContent } from "../chunk.js"
import type { Split } from "../text.js"

/** @internal */
export const accumulate = <E, R>(self: Stream.Stream<ChatCompletionChunk, E, R>): Effect.Effect<ChatCompletion, E, R> =>
  Effect.suspend(() => {
    const accumulator = new Accumulator()
    return Stream.runForEachArray(self, (chunks) =>
      Effect.sync(() => {
        for (let i = 0; i < chunks.length; i++) accumulator.add(chunks[i]!)
      })
    ).pipe(Effect.map(() => accumulator.result()))
  })

/** @internal */
export const textDeltas = <E, R>(self: Stream.Stream<ChatCompletionChunk, E, R>): Stream.Stream<string, E, R> =>
  Stream.filterMap(self, (chunk) => {
    const content = firstContent(chunk)
    return content ? Result.succeed(content) : Result.failVoid
  })

/** @internal */
export const rechunk =
  (split: (buffer: string) => Split) =>
  <E, R>(self: Stream.Stream<string, E, R>): Stream.Stream<string, E, R> =>
    Stream.mapAccum(
      self,
      () => "",
      (buffer, piece): readonly [string, ReadonlyArray<string>] => {
        if (piece === "") return [buffer, []]
        const result = split(buffer + piece)
        return [result.rest, result.complete]
      },
      { onHalt: (buffer) => (buffer === "" ? [] : [buffer]) }
    )
