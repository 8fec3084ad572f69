/**
 * Tolerant decoding of what a server sends (and of requests a user builds): a schema validates the fields it
 * knows, and every field it does not know is kept on the decoded value, at every depth. Servers add fields all
 * the time (`reasoning_content`, `timings`, `service_tier` …) and requests carry vendor extensions (vLLM's
 * `top_k`): nothing is dropped.
 *
 * Effect 3 did this with `onExcessProperty: "preserve"`; Effect 4.1 only knows `"ignore"` and `"error"`, so the
 * decoder here runs the schema with the default options (the parser's fast path) and then copies the keys the
 * schema dropped from the input onto the output. Decoders are compiled once per schema and cached.
 *
 * @since 0.1.0
 */
import type * as Schema from "effect/Schema"
import type { ChatCompletion, ChatCompletionChunk } from "./ChatCompletions.js"
import * as internal from "./internal/decoding/tolerant.js"

/**
 * Copies onto `decoded` (in place, at every depth) the keys of `input` that decoding dropped: what
 * `onExcessProperty: "preserve"` did in Effect 3. Only plain objects are extended (never class instances);
 * arrays are walked by index. Returns `decoded`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const keepUnknown: <A>(decoded: A, input: unknown) => A = internal.keepUnknown

/**
 * One problem found by a decoder: where (`path`) and what (`message`, with the offending value).
 *
 * @since 0.1.0
 * @category models
 */
export type Problem = internal.Problem

/**
 * A compiled tolerant decoder. `Failure` holds every problem (not just the first).
 *
 * @since 0.1.0
 * @category models
 */
export type Decoder<A> = internal.Decoder<A>

/**
 * The tolerant decoder of a schema (compiled on first use, then cached per schema): validates, fills
 * defaults, and keeps unknown fields. The schema must need no services to decode.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decoder: <S extends Schema.ConstraintDecoder<unknown>>(schema: S) => Decoder<S["Type"]> = internal.decoder

/**
 * The tolerant decoder of `ChatCompletions.ChatCompletion` with a fast path in front for the common shapes (text,
 * refusal and reasoning answers, with or without usage), which fills the schema's defaults in place on the input
 * (a fresh `JSON.parse` result). Anything else goes through the schema. Both give the same value.
 *
 * @since 0.3.0
 * @category decoding
 */
export const chatCompletion: Decoder<ChatCompletion> = internal.chatCompletion

/**
 * The tolerant decoder of `ChatCompletions.ChatCompletionChunk` (one streamed event) with a fast path in front for
 * the common shapes (text, refusal, reasoning and tool-call deltas, the usage chunk), which fills the schema's
 * defaults in place on the input (a fresh `JSON.parse` result). Anything else goes through the schema, which also
 * writes the problems. Both give the same value.
 *
 * @since 0.3.0
 * @category decoding
 */
export const chatCompletionChunk: Decoder<ChatCompletionChunk> = internal.chatCompletionChunk

/**
 * Formats a path the way error messages show it: `messages[0].content`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatPath: (path: ReadonlyArray<PropertyKey>) => string = internal.formatPath
