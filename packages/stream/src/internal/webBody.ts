/**
 * A Web body as bytes for the decoders (`Sse.fromReadableStream`, `ChatStream.fromReadableStream`): core's
 * `WebBody.decode` with their steps, its read failures as core's `ConnectionFailed`.
 *
 * @internal
 */
import { ConnectionFailed } from "@sluice/core/Errors"
import * as WebBody from "@sluice/core/WebBody"
import type * as Stream from "effect/Stream"
import type * as PullStep from "./pullStep.js"

/** Where the body came from, named on a read failure. */
export interface BodyOptions {
  readonly url?: string | undefined
}

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

const readFailure =
  (options: BodyOptions | undefined) =>
  (cause: unknown): ConnectionFailed =>
    new ConnectionFailed({
      message: `reading the response body failed: ${messageOf(cause)}`,
      ...(options?.url === undefined ? {} : { url: options.url })
    })

/** The body through a decoder's step, read failures as `ConnectionFailed`. @internal */
export const decode = <Out, E>(
  body: ReadableStream<Uint8Array>,
  step: () => PullStep.Step<Uint8Array, Out, E>,
  options: BodyOptions | undefined
): Stream.Stream<Out, E | ConnectionFailed> => WebBody.decode(body, step, readFailure(options))
