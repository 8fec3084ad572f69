/**
 * The final Response of a stream: the one its `response.completed` / `response.incomplete` / `response.failed`
 * event carries, with the output items the stream delivered (`response.output_item.done`) filled in when a
 * server leaves that Response's `output` empty, and the text deltas as one message when it sent not even those.
 *
 * @internal
 */
import type { Errors, Responses } from "@sluice/core"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as internalErrors from "../errors.js"
import type * as Events from "./events.js"

/** @internal */
export class Accumulator {
  private final: Responses.Response | undefined = undefined
  private first: Responses.Response | undefined = undefined
  private readonly items = new Map<number, Responses.OutputItem>()
  private text = ""

  add(event: Events.Event): void {
    switch (event.type) {
      case "response.created":
      case "response.in_progress":
      case "response.queued":
        this.first ??= (event as { readonly response: Responses.Response }).response
        return
      case "response.completed":
      case "response.incomplete":
      case "response.failed":
        this.final = (event as { readonly response: Responses.Response }).response
        return
      case "response.output_item.done": {
        const done = event as { readonly output_index?: number; readonly item: Responses.OutputItem }
        this.items.set(done.output_index ?? this.items.size, done.item)
        return
      }
      case "response.output_text.delta":
        this.text += (event as { readonly delta: string }).delta
        return
    }
  }

  /** The final Response; `undefined` when the stream delivered no lifecycle event at all. */
  result(): Responses.Response | undefined {
    const base = this.final ?? this.first
    if (base === undefined) return undefined
    if (base.output.length > 0) return base
    const streamed = [...this.items.entries()].sort(([a], [b]) => a - b).map(([, item]) => item)
    if (streamed.length > 0) return { ...base, output: streamed }
    if (this.text === "") return base
    const message: Responses.OutputMessage = {
      type: "message",
      id: "",
      role: "assistant",
      content: [{ type: "output_text", text: this.text, annotations: [] }]
    }
    return { ...base, output: [message] }
  }
}

/** `ResponseStream.finalResponse`: the final `Response` of the stream, or `StreamTruncated` when it had no lifecycle event. */
export const finalResponse = <E, R>(
  self: Stream.Stream<Events.Event, E, R>
): Effect.Effect<Responses.Response, E | Errors.StreamTruncated, R> =>
  Effect.suspend(() => {
    const accumulator = new Accumulator()
    let events = 0
    return Stream.runForEachArray(self, (chunk) =>
      Effect.sync(() => {
        for (let i = 0; i < chunk.length; i++) accumulator.add(chunk[i]!)
        events += chunk.length
      })
    ).pipe(
      Effect.flatMap(() => {
        const response = accumulator.result()
        return response === undefined
          ? Effect.fail(internalErrors.truncated(events, "", undefined))
          : Effect.succeed(response)
      })
    )
  })
