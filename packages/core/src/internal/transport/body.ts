/**
 * Reading a response body into memory under the size cap (`maxResponseBytes`), for any transport.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { type OpenAiError, ResponseDecodeFailed } from "../../Errors.js"
import type { Response } from "../../Transport.js"
import { concatArrays } from "./attempt.js"

/**
 * Reads a whole body, failing as soon as it exceeds `maxBytes` (the rest is never buffered).
 *
 * @internal
 */
export const readBody = (
  response: Response,
  maxBytes: number,
  meta: { readonly status: number; readonly requestId: string | undefined }
): Effect.Effect<Uint8Array, OpenAiError> =>
  // A body whose announced length is within the cap is read in one go (undici enforces `content-length`); one
  // announced above it is refused without reading a byte (closing the scope aborts the request); otherwise it is
  // streamed and counted, so an oversized body is never buffered.
  (response.contentLength !== undefined && response.contentLength <= maxBytes
    ? response.bytes
    : response.contentLength !== undefined
      ? Effect.fail(tooLarge(maxBytes, meta, response.contentLength))
      : readCapped(response.stream, maxBytes, meta)
  ).pipe(
    Effect.mapError((error) =>
      error._tag === "ConnectionFailed"
        ? new ResponseDecodeFailed({
            message: `response body cut short: ${error.message}`,
            status: meta.status,
            ...(meta.requestId === undefined ? {} : { requestId: meta.requestId })
          })
        : error
    )
  )

/** An oversized body: deterministic (the server would send it again), so not retryable. */
const tooLarge = (
  maxBytes: number,
  meta: { readonly status: number; readonly requestId: string | undefined },
  announced?: number
): ResponseDecodeFailed =>
  new ResponseDecodeFailed({
    message: `response exceeds ${maxBytes} bytes (maxResponseBytes)${announced === undefined ? "" : `: content-length is ${announced}`}; not retried, the server would send it again`,
    status: meta.status,
    limitBytes: maxBytes,
    ...(meta.requestId === undefined ? {} : { requestId: meta.requestId })
  })

const readCapped = (
  stream: Stream.Stream<Uint8Array, OpenAiError>,
  maxBytes: number,
  meta: { readonly status: number; readonly requestId: string | undefined }
): Effect.Effect<Uint8Array, OpenAiError> =>
  stream.pipe(
    Stream.runFoldEffect(
      () => ({ total: 0, chunks: [] as Array<Uint8Array> }),
      (acc, chunk): Effect.Effect<{ total: number; chunks: Array<Uint8Array> }, OpenAiError> => {
        acc.total += chunk.length
        if (acc.total > maxBytes) {
          return Effect.fail(tooLarge(maxBytes, meta))
        }
        acc.chunks.push(chunk)
        return Effect.succeed(acc)
      }
    ),
    Effect.map((acc) => concatArrays(acc.chunks))
  )
