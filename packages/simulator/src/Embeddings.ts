/**
 * The simulator's embedding vectors, for tests that check what a client received: each vector is a deterministic
 * function of (model, input, dimensions), of unit length, independent of the server's seed and process.
 *
 * @since 0.3.0
 */
import * as internal from "./internal/embeddings.js"

/**
 * The vector the simulator answers for `input` (a text or a token array) on `model`, with `dimensions`
 * components (default: the model's full length). A shortened vector is the full one cut to `dimensions` and
 * renormalized, as text-embedding-3's are. The values are float32, so they equal what a client decodes from
 * `encoding_format: "base64"` exactly, and from JSON floats exactly too.
 *
 * @since 0.3.0
 * @category vectors
 */
export const embeddingOf: (model: string, input: string | ReadonlyArray<number>, dimensions?: number) => Float32Array =
  internal.embeddingOf

/**
 * A model's full vector length: 3072 for `text-embedding-3-large`, 1536 for every other model.
 *
 * @since 0.3.0
 * @category vectors
 */
export const nativeDimensions: (model: string) => number = internal.nativeDimensions

/**
 * The tokens the simulator counts for one input (and bills, and charges to the token bucket): `ceil(length / 4)`
 * UTF-16 code units for a text, as for chat prompts; the length of a token array.
 *
 * @since 0.3.0
 * @category tokens
 */
export const inputTokens: (input: string | ReadonlyArray<number>) => number = internal.inputTokens

/**
 * OpenAI's per-request caps, enforced with its 400 errors: at most 2,048 inputs, 8,192 tokens per input and
 * 300,000 tokens summed over a request.
 *
 * @since 0.3.0
 * @category constants
 */
export const limits = {
  maxInputs: internal.MAX_INPUTS,
  maxInputTokens: internal.MAX_INPUT_TOKENS,
  maxRequestTokens: internal.MAX_REQUEST_TOKENS
} as const
