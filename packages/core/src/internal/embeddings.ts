/**
 * The bodies of `Embeddings`: base64 float32 vectors to and from bytes, and any decoded embedding as a
 * `Float32Array`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Result from "effect/Result"
import * as SchemaIssue from "effect/SchemaIssue"
import { Float32Vector } from "../Embeddings.js"

const float32Issue = (text: string) =>
  new SchemaIssue.InvalidValue({ message: "base64 embedding is not a whole number of float32s" }, text)

/** @internal */
export const fromBase64 = (text: string): Effect.Effect<Float32Vector, SchemaIssue.Issue> => {
  const bytes = Buffer.from(text, "base64")
  if (bytes.length % 4 !== 0) return Effect.fail(float32Issue(text))
  // Copy into a fresh, aligned buffer: a pooled Buffer's offset need not be a multiple of 4.
  const floats = new Float32Vector(bytes.length / 4)
  new Uint8Array(floats.buffer).set(bytes)
  return Effect.succeed(floats)
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
