/**
 * The errors a chat stream can fail with. `StreamTruncated` and `ResponseDecodeFailed` have the same
 * tag and fields as those in `@sluice/core/Errors` (plus nothing), so switching to core's is an
 * import change. `StreamError` (an error reported inside the stream) has no counterpart in core yet.
 *
 * @internal
 */
import { Schema } from "effect"

/** @internal */
export class ResponseDecodeFailed extends Schema.TaggedError<ResponseDecodeFailed>()("ResponseDecodeFailed", {
  message: Schema.String,
  status: Schema.optional(Schema.Number),
  requestId: Schema.optional(Schema.String),
  body: Schema.optional(Schema.String)
}) {
  get retryable(): boolean {
    return true
  }
}

/** @internal */
export class StreamTruncated extends Schema.TaggedError<StreamTruncated>()("StreamTruncated", {
  requestId: Schema.optional(Schema.String),
  chunks: Schema.Number,
  partialContent: Schema.String
}) {
  get retryable(): boolean {
    return false
  }
  override get message(): string {
    return `stream ended without [DONE] after ${this.chunks} chunks (${this.partialContent.length} characters of content)`
  }
}

/** @internal */
export class StreamError extends Schema.TaggedError<StreamError>()("StreamError", {
  message: Schema.String,
  code: Schema.optional(Schema.String),
  type: Schema.optional(Schema.String),
  param: Schema.optional(Schema.String),
  requestId: Schema.optional(Schema.String)
}) {
  get retryable(): boolean {
    // a server-side failure mid-stream; the caller decides whether re-asking is worth it
    return false
  }
}
