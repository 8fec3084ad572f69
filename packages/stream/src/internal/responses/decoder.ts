/**
 * SSE events of a streamed Response → typed events. The stream ends after `response.completed` or
 * `response.incomplete` (upstream is not read again, which releases the connection); `response.failed` is delivered
 * and then fails with the error its `error.code` names, an `error` event fails likewise (both through the chat
 * stream's classification: `insufficient_quota` → `QuotaExceeded`, `rate_limit_exceeded` → `RateLimited` …); an
 * input that ends before any of these fails with `StreamTruncated`.
 *
 * @internal
 */
import { Decoding, type Errors, type Responses } from "@sluice/core"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import type * as Sse from "../../Sse.js"
import { sseStep } from "../chatStream/decode.js"
import * as internalErrors from "../errors.js"
import * as PullStep from "../pullStep.js"
import { throughSse } from "../sseParser.js"
import { TextParts } from "../textParts.js"
import * as Events from "./events.js"

/** Every way decoding a Response stream can fail. */
export type DecodeError = Errors.StreamTruncated | Errors.ResponseDecodeFailed | internalErrors.InStreamError

/**
 * What the decoder has seen: for `StreamTruncated`, settlement (usage, or characters streamed), telemetry (status,
 * model) and resuming after the last `sequence_number`.
 */
export class Progress {
  events = 0
  readonly text = new TextParts()
  /** Characters of output of every kind (text, refusal, function arguments, reasoning), for a usage estimate. */
  outputChars = 0
  lastSequenceNumber: number | undefined = undefined
  responseId: string | undefined = undefined
  responseModel: string | undefined = undefined
  usage: Responses.Usage | undefined = undefined
  /** The terminal status, or the reason of an `incomplete` one. */
  finishReason: string | undefined = undefined
  terminal = false
  add(event: Events.Event): void {
    this.events++
    if (event.sequence_number !== undefined) this.lastSequenceNumber = event.sequence_number
    if (event.type.endsWith(".delta") && typeof (event as { readonly delta?: unknown }).delta === "string") {
      const delta = (event as { readonly delta: string }).delta
      this.outputChars += delta.length
      if (event.type === "response.output_text.delta") this.text.append(delta)
    }
    if ("response" in event) {
      const response = event.response as Responses.Response
      if (response.id !== "") this.responseId ??= response.id
      if (response.model !== "") this.responseModel ??= response.model
      if (response.usage != null) this.usage = response.usage
      if (
        event.type === "response.completed" ||
        event.type === "response.incomplete" ||
        event.type === "response.failed"
      ) {
        this.finishReason = response.incomplete_details?.reason ?? response.status
      }
    }
  }
}

type Step =
  | { readonly _tag: "Event"; readonly event: Events.Event; readonly after?: DecodeError | "end" | undefined }
  | { readonly _tag: "Skip" }
const skip: Step = { _tag: "Skip" }

const parseJson = (data: string): Result.Result<unknown, string> => {
  try {
    return Result.succeed(JSON.parse(data))
  } catch (e) {
    return Result.fail(e instanceof Error ? e.message : String(e))
  }
}

const failedError = (event: Events.Event, raw: string, requestId: string | undefined): DecodeError => {
  const response = (event as { readonly response: { readonly error?: unknown } }).response
  const error = Predicate.isObject(response.error)
    ? response.error
    : { code: "server_error", message: "the response failed" }
  return internalErrors.fromPayload({ error }, raw, requestId)
}

const interpret = (sse: Sse.Event, index: number, requestId: string | undefined): Result.Result<Step, DecodeError> => {
  const data = sse.data.trim()
  if (data === "" || data === "[DONE]") return Result.succeed(skip)
  const parsed = parseJson(data)
  if (Result.isFailure(parsed)) {
    return Result.fail(
      internalErrors.decodeFailed(`stream event ${index}: invalid JSON: ${parsed.failure}`, sse.data, requestId)
    )
  }
  const json = parsed.success
  if (!Predicate.isObject(json)) {
    return Result.fail(internalErrors.decodeFailed(`stream event ${index}: not an object`, sse.data, requestId))
  }
  // The type is in the data; servers that leave it out name the event instead.
  const type = typeof json.type === "string" ? json.type : sse.event !== "message" ? sse.event : undefined
  if (type === "error" || (type === undefined && json.error != null)) {
    return Result.fail(internalErrors.fromPayload(json, data, requestId))
  }
  if (type === undefined) {
    return Result.fail(internalErrors.decodeFailed(`stream event ${index}: no type`, sse.data, requestId))
  }
  const schema = Events.byType.get(type)
  if (schema === undefined) {
    const sequence = typeof json.sequence_number === "number" ? { sequence_number: json.sequence_number } : {}
    return Result.succeed({ _tag: "Event", event: { type: "unknown", name: type, data: json, ...sequence } })
  }
  const input = json.type === type ? json : { ...json, type }
  const decoded = Decoding.decoder(schema)(input)
  if (Result.isFailure(decoded)) {
    const problem = decoded.failure[0]
    const where = problem === undefined ? "" : `${Decoding.formatPath(problem.path) || "(event)"}: ${problem.message}`
    return Result.fail(
      internalErrors.decodeFailed(
        `stream event ${index} (${type}): ${internalErrors.truncate(where)}`,
        sse.data,
        requestId
      )
    )
  }
  const event = decoded.success as Events.Event
  if (type === "response.completed" || type === "response.incomplete")
    return Result.succeed({ _tag: "Event", event, after: "end" })
  if (type === "response.failed") {
    return Result.succeed({ _tag: "Event", event, after: failedError(event, data, requestId) })
  }
  return Result.succeed({ _tag: "Event", event })
}

/** The Responses event decoder as a step over SSE events. */
const eventStep = (
  requestId: string | undefined,
  progress: Progress
): PullStep.Step<Sse.Event, Events.Event, DecodeError> => {
  let index = 0
  return {
    input: (input, out) => {
      for (let i = 0; i < input.length; i++) {
        const step = interpret(input[i]!, index++, requestId)
        if (Result.isFailure(step)) return PullStep.fail(step.failure)
        if (step.success._tag === "Skip") continue
        out.push(step.success.event)
        progress.add(step.success.event)
        const after = step.success.after
        if (after !== undefined) {
          progress.terminal = true
          return after === "end" ? PullStep.done : PullStep.fail(after)
        }
      }
      return undefined
    },
    end: () => PullStep.fail(internalErrors.truncated(progress.events, progress.text.toString(), requestId))
  }
}

/** SSE events → Responses events. @internal */
export const decode = <E, R>(
  events: Stream.Stream<Sse.Event, E, R>,
  requestId: string | undefined,
  progress: Progress = new Progress()
): Stream.Stream<Events.Event, E | DecodeError, R> =>
  Stream.transformPull(events, (upstream) => Effect.sync(() => PullStep.make(upstream, eventStep(requestId, progress))))

/** Bytes → Responses events in one step (SSE failures become `ResponseDecodeFailed`). @internal */
export const decodeBytes = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  options: Sse.DecodeOptions | undefined,
  requestId: string | undefined,
  progress: Progress = new Progress()
): Stream.Stream<Events.Event, E | DecodeError, R> =>
  Stream.transformPull(bytes, (upstream) =>
    Effect.sync(() => PullStep.make(upstream, throughSse(sseStep(options, requestId), eventStep(requestId, progress))))
  )
