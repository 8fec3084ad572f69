/**
 * Appends to a file through one reused buffer: each piece (a JSONL line, a matrix row) is copied into it as soon as
 * it is made, and the buffer goes to the file whenever the next piece might not fit. No piece outlives its copy, and
 * nothing the size of a whole group of lines (a joined string, its bytes) is allocated, so a journal's writes leave
 * no large garbage behind (decision 0013, "Memory"). The caller runs one write at a time (the group-commit writer
 * does): the buffer is reused only after the write that held it has completed.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import type * as PlatformError from "effect/PlatformError"

/** @internal */
export interface WriteBuffer {
  /** Appends the text's UTF-8 bytes (writing out what is buffered first, when they might not fit). */
  readonly text: (text: string) => Effect.Effect<void, PlatformError.PlatformError>
  /** Appends the bytes, copied (writing out what is buffered first, when they might not fit). */
  readonly bytes: (bytes: Uint8Array) => Effect.Effect<void, PlatformError.PlatformError>
  /** Writes out what is buffered. */
  readonly flush: Effect.Effect<void, PlatformError.PlatformError>
}

/** 1 MiB: a write of that size costs no more per byte than a larger one. */
const defaultSize = 1024 * 1024

const encoder = new TextEncoder()

/** @internal */
export const make = (file: FileSystem.File, size = defaultSize): WriteBuffer => {
  let buffer = new Uint8Array(size)
  let at = 0
  const flush = Effect.suspend(() => {
    if (at === 0) return Effect.void
    const out = buffer.subarray(0, at)
    at = 0
    return file.writeAll(out)
  })
  /** Copies a piece of at most `most` bytes in with `copy` (which returns the bytes it wrote). */
  const put = (most: number, copy: (into: Uint8Array) => number) => {
    const now = () => {
      // only when empty: a piece longer than the buffer gets a buffer of its own size
      if (most > buffer.length) buffer = new Uint8Array(most)
      at += copy(buffer.subarray(at))
    }
    if (at > 0 && at + most > buffer.length) return Effect.andThen(flush, Effect.sync(now))
    now()
    return Effect.void
  }
  return {
    // at most 3 UTF-8 bytes per UTF-16 code unit
    text: (text) => put(text.length * 3, (into) => encoder.encodeInto(text, into).written),
    bytes: (bytes) =>
      put(bytes.length, (into) => {
        into.set(bytes)
        return bytes.length
      }),
    flush
  }
}
