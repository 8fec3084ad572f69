/**
 * The bodies of `Embeddings`: base64 float32 vectors to and from bytes, and any decoded embedding as a
 * `Float32Array`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Result from "effect/Result"
import * as SchemaIssue from "effect/SchemaIssue"

const float32Issue = (text: string) =>
  new SchemaIssue.InvalidValue({ message: "base64 embedding is not a whole number of float32s" }, text)

/** Decodes base64 into a fresh vector made with `make` (the public `Float32Vector`). @internal */
export const fromBase64 =
  <V extends Float32Array>(make: new (length: number) => V) =>
  (text: string): Effect.Effect<V, SchemaIssue.Issue> => {
    const bytes = Buffer.from(text, "base64")
    if (bytes.length % 4 !== 0) return Effect.fail(float32Issue(text))
    // Copy into a fresh, aligned buffer: a pooled Buffer's offset need not be a multiple of 4.
    const floats = new make(bytes.length / 4)
    new Uint8Array(floats.buffer).set(bytes)
    return Effect.succeed(floats)
  }

/**
 * The numbers of a vector, by index: `Array.from` walks a typed array through its iterator, one result object and
 * one boxed number per element (55 bytes of garbage per float32, measured), where this fills an unboxed array.
 *
 * @internal
 */
export const numbersOf = (floats: Float32Array): Array<number> => {
  const numbers = new Array<number>(floats.length)
  for (let i = 0; i < floats.length; i++) numbers[i] = floats[i] as number
  return numbers
}

/** @internal */
export const toBase64 = (floats: Float32Array): string =>
  Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString("base64")

/** @internal */
export const toFloat32 =
  (decodeVector: (input: unknown) => Result.Result<Float32Array, unknown>) =>
  (embedding: unknown): Float32Array | undefined => {
    if (embedding instanceof Float32Array) return embedding
    const result = decodeVector(embedding)
    return result._tag === "Success" ? result.success : undefined
  }
