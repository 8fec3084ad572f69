/**
 * `ResponseStream.stream` / `.resume` on the core client's streaming call, through the same `gatedStream` as chat
 * streams (core retries up to the first event that counts; idle and total timeouts, a bounded buffer, settlement
 * with the stream's usage): this module says what counts as the first event and how a body decodes.
 *
 * @internal
 */
import type { Errors, Gates, OpenAi } from "@sluice/core"
import * as Usage from "@sluice/core/Usage"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Sse from "../../Sse.js"
import * as GatedStream from "../gatedStream.js"
import * as internalErrors from "../errors.js"
import * as Decoder from "./decoder.js"
import type * as Events from "./events.js"

/** @internal */
export type Options = GatedStream.Options

/** @internal */
export const defaults = GatedStream.defaults

type Started = GatedStream.Started<Events.Event, Progress>

/** The decoder's progress plus the first failure, for settlement. */
class Progress extends Decoder.Progress {
  error: Errors.OpenAiError | undefined = undefined
  constructor(readonly requestId: string | undefined) {
    super()
  }
  fail<E extends Errors.OpenAiError>(error: E): E {
    this.error ??= error
    return error
  }
  usageFor(call: Gates.Call): Usage.Usage {
    return Usage.fromWire(this.usage) ?? Usage.streamed(call.estimatedPromptTokens, this.outputChars)
  }
}

const terminal = new Set(["response.completed", "response.incomplete", "response.failed"])

/**
 * Whether an event ends the wait for the first token: output (any delta, a finished item) or the end. Lifecycle
 * events are held back so that nothing has reached the consumer while a retry is still possible — except a
 * background response's `response.created`: it carries the id to resume with, and a retry would start a second
 * response.
 */
const counts = (background: boolean) => (event: Events.Event) =>
  event.type.endsWith(".delta") ||
  event.type === "response.output_item.done" ||
  terminal.has(event.type) ||
  (background && event.type === "response.created")

const decodeBody = (head: OpenAi.StreamHead, progress: Progress, sse: Sse.DecodeOptions | undefined) =>
  Decoder.decodeBytes(head.body, sse, head.requestId, progress).pipe(
    Stream.mapError((error) =>
      progress.fail(
        // A connection that breaks after the first event leaves half an answer: a truncated stream. Before it, the
        // failure stays a (retryable) ConnectionFailed.
        error._tag === "ConnectionFailed" && progress.events > 0
          ? internalErrors.truncated(progress.events, progress.text.toString(), head.requestId)
          : internalErrors.withRequestId(error, head.requestId)
      )
    )
  )

/** The stream of one streaming call `open` makes (a new response, or a resumed one). @internal */
export const run = <R>(
  open: (
    options: OpenAi.StreamCallOptions<Started>
  ) => Effect.Effect<OpenAi.StreamStarted<Started>, Errors.OpenAiError, Scope.Scope | R>,
  options: Options,
  background: boolean
): Stream.Stream<Events.Event, Errors.OpenAiError, R> => {
  const { sse, ...rest } = options
  return GatedStream.run<Events.Event, Progress, R>(
    open,
    {
      progress: (requestId) => new Progress(requestId),
      decode: (head, progress) => decodeBody(head, progress, sse),
      isFirst: counts(background)
    },
    rest
  )
}
