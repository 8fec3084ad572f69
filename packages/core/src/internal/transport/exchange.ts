/**
 * One request and its response on undici's handler API (`dispatcher.dispatch(options, handler)`): no
 * `RequestHandler` (an `AsyncResource`), no abort signal and no `Readable` per response unless the body is
 * streamed. A body read whole (`bytes`) is the chunks undici hands over, joined once at the end
 * (docs/decisions/0014-call-hot-path.md); one whose `content-length` is announced and spans several chunks is copied,
 * chunk by chunk as it arrives, into one buffer of that length, so the socket's read buffers die young instead of
 * piling up (an embeddings answer is ~45 of them) until the join (decision 0013, "Memory").
 *
 * The exchange is the attempt's abort target: aborting before the request started fails the send at once (the
 * request is aborted when undici starts it, before anything is written); after that it aborts through undici's
 * controller, which fails the response or its body.
 *
 * @internal
 */
import { Readable } from "node:stream"
import * as NodeStream from "@effect/platform-node/NodeStream"
import type Undici from "@effect/platform-node/Undici"
import * as Effect from "effect/Effect"
import type { OpenAiError } from "../../Errors.js"
import type { Response } from "../../Transport.js"
import { type Abortable, type Attempt, announcedLength, concatArrays } from "./attempt.js"
import * as OwnedBody from "./ownedBody.js"

type Controller = Undici.Dispatcher.DispatchController
type Resume<A> = (effect: Effect.Effect<A, OpenAiError>) => void

/** The reason undici is given when we abort; the attempt itself knows why (a deadline, or its scope closed). */
const abortedByUs = new Error("request aborted by the client")

/** A body nobody has asked for yet is paused past this many buffered bytes. */
const pendingLimit = 64 * 1024

/**
 * A body announced larger than `fillFrom` is filled into one buffer as it arrives (smaller ones are one chunk);
 * `fillUpTo` keeps an absurd announced length (`bytes` is read under `maxResponseBytes`) from being allocated up front.
 */
const fillFrom = 64 * 1024
const fillUpTo = 1024 * 1024 * 1024

const flattenHeaders = (raw: Record<string, string | Array<string> | undefined>): Readonly<Record<string, string>> => {
  const headers: Record<string, string> = {}
  for (const name in raw) {
    const value = raw[name]
    if (value !== undefined) headers[name] = typeof value === "string" ? value : value.join(", ")
  }
  return headers
}

/** @internal */
export class Exchange implements Abortable, Undici.Dispatcher.DispatchHandler {
  attempt!: Attempt<Exchange>
  private controller: Controller | undefined
  private aborted = false
  private resumeSend: Resume<Response> | undefined
  private chunks: Array<Uint8Array> = []
  private buffered = 0
  /** The body's bytes so far, in a buffer of its announced length (`bytes` asked for a large body). */
  private whole: Uint8Array | undefined
  private filled = 0
  private ended = false
  private failure: { readonly error: unknown } | undefined
  private resumeBytes: Resume<Uint8Array> | undefined
  private readable: Readable | undefined

  constructor(private readonly connectTimeoutMs: number) {}

  /** Starts waiting for the response headers; `send` dispatches the request. */
  start(resume: Resume<Response>, send: () => void): void {
    this.resumeSend = resume
    send()
  }

  abort(): void {
    if (this.aborted) return
    this.aborted = true
    if (this.controller !== undefined) this.controller.abort(abortedByUs)
    else this.fail(abortedByUs)
  }

  onRequestStart(controller: Controller): void {
    if (this.aborted) controller.abort(abortedByUs)
    else this.controller = controller
  }

  onResponseStart(
    _controller: Controller,
    statusCode: number,
    headers: Record<string, string | Array<string> | undefined>
  ): void {
    if (statusCode < 200) return
    const resume = this.resumeSend
    if (resume === undefined) return
    this.resumeSend = undefined
    this.attempt.headersArrived()
    resume(Effect.succeed(this.response(statusCode, flattenHeaders(headers))))
  }

  onResponseData(controller: Controller, chunk: Uint8Array): void {
    if (this.readable !== undefined) {
      if (!this.readable.push(chunk)) controller.pause()
      return
    }
    if (this.whole !== undefined && this.filled + chunk.length <= this.whole.length) {
      this.whole.set(chunk, this.filled)
      this.filled += chunk.length
      return
    }
    this.chunks.push(chunk)
    this.buffered += chunk.length
    if (this.resumeBytes === undefined && this.buffered > pendingLimit) controller.pause()
  }

  /** From now on, chunks go into one buffer of the announced length (what came so far is copied first). */
  private fillInto(length: number): void {
    const whole = new Uint8Array(length)
    let filled = 0
    for (const chunk of this.chunks) {
      if (filled + chunk.length > length) return
      whole.set(chunk, filled)
      filled += chunk.length
    }
    this.chunks = []
    this.whole = whole
    this.filled = filled
  }

  onResponseEnd(): void {
    this.ended = true
    if (this.readable !== undefined) {
      this.readable.push(null)
      return
    }
    this.attempt.finish()
    const resume = this.resumeBytes
    this.resumeBytes = undefined
    resume?.(Effect.succeed(this.joined()))
  }

  onResponseError(_controller: Controller, error: unknown): void {
    this.fail(error)
  }

  private fail(error: unknown): void {
    const send = this.resumeSend
    if (send !== undefined) {
      this.resumeSend = undefined
      this.attempt.finish()
      send(Effect.fail(this.attempt.requestFailure(error, this.connectTimeoutMs)))
      return
    }
    if (this.ended || this.failure !== undefined) return
    this.failure = { error }
    if (this.readable !== undefined) {
      this.readable.destroy(error instanceof Error ? error : abortedByUs)
      return
    }
    this.attempt.finish()
    const resume = this.resumeBytes
    this.resumeBytes = undefined
    resume?.(Effect.fail(this.attempt.bodyFailure(error)))
  }

  private joined(): Uint8Array {
    const filled = this.whole
    if (filled !== undefined) {
      this.whole = undefined
      // undici fails a body shorter or longer than its content-length; anything past the buffer is in `chunks`
      const head = this.filled === filled.length ? OwnedBody.own(filled) : filled.subarray(0, this.filled)
      if (this.chunks.length === 0) return head
      this.chunks.unshift(head)
    }
    const whole = concatArrays(this.chunks)
    this.chunks = []
    // A plain `Uint8Array` over the same memory (undici's chunks are `Buffer`s).
    return new Uint8Array(whole.buffer, whole.byteOffset, whole.byteLength)
  }

  private response(status: number, headers: Readonly<Record<string, string>>): Response {
    const self = this
    return {
      status,
      headers,
      // undici enforces a `content-length` it was sent (and does not decode bodies).
      contentLength: announcedLength(headers["content-length"]),
      // Built when asked for: a body read with `bytes` (every non-streamed call) never needs it.
      get stream() {
        return NodeStream.fromReadable<Uint8Array, OpenAiError>({
          evaluate: () => self.readableBody(),
          onError: self.attempt.bodyFailure
        })
      },
      bytes: Effect.callback<Uint8Array, OpenAiError>((resume) => {
        if (this.failure !== undefined) return resume(Effect.fail(this.attempt.bodyFailure(this.failure.error)))
        if (this.ended) return resume(Effect.succeed(this.joined()))
        const length = announcedLength(headers["content-length"])
        if (length !== undefined && length > fillFrom && length <= fillUpTo) this.fillInto(length)
        this.resumeBytes = resume
        this.controller?.resume()
      })
    }
  }

  /** The body as a `Readable`, with what arrived so far; destroying it before its end aborts the request. */
  private readableBody(): Readable {
    if (this.readable !== undefined) return this.readable
    const readable = new Readable({
      // undici's own body stream's buffer: pausing the socket more often costs throughput.
      highWaterMark: 64 * 1024,
      read: () => this.controller?.resume(),
      destroy: (error, callback) => {
        if (!this.ended && this.failure === undefined) this.controller?.abort(abortedByUs)
        callback(error)
      }
    })
    this.readable = readable
    // Ended, failed or destroyed: nothing left to abort, no deadline left.
    readable.once("close", this.attempt.finish)
    for (const chunk of this.chunks) readable.push(chunk)
    this.chunks = []
    const failed = this.failure?.error
    if (this.failure !== undefined) readable.destroy(failed instanceof Error ? failed : abortedByUs)
    else if (this.ended) readable.push(null)
    return readable
  }
}
