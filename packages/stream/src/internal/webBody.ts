/**
 * A Web body as bytes for the decoders (`Sse.fromReadableStream`, `ChatStream.fromReadableStream`): core's
 * `WebBody` adapter, its read failures as core's `ConnectionFailed`.
 *
 * @internal
 */
import { ConnectionFailed } from "@sluice/core/Errors"
import * as WebBody from "@sluice/core/WebBody"
import type * as Stream from "effect/Stream"

/** Where the body came from, named on a read failure. */
export interface BodyOptions {
  readonly url?: string | undefined
}

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/** @internal */
export const bytes = (
  body: ReadableStream<Uint8Array>,
  options: BodyOptions | undefined
): Stream.Stream<Uint8Array, ConnectionFailed> =>
  WebBody.fromReadableStream(
    body,
    (cause) =>
      new ConnectionFailed({
        message: `reading the response body failed: ${messageOf(cause)}`,
        ...(options?.url === undefined ? {} : { url: options.url })
      })
  )
