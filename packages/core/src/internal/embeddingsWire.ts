/**
 * An embeddings response read straight from its bytes. A base64 answer is almost all vector text (2,048 vectors
 * of 256 dimensions: 2.8 MB, of which the rest is ~60 KB), and the standard path holds it four times: the bytes,
 * one string of the whole body, one base64 string per vector (`JSON.parse`), then one `Float32Array` each. Here a
 * scan of the bytes finds each `data[i].embedding` string and decodes its byte range into the vector's own buffer;
 * only the rest (object, index, model, usage, unknown fields) becomes text, with each vector replaced by `[]`, and
 * goes through the same tolerant schema. Anything unexpected (float arrays, escapes, non-canonical base64, an
 * unusual layout, a schema problem) returns `undefined`, and the standard path decides, errors included.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { EmbeddingList, Float32Vector } from "../Embeddings.js"
import type { OpenAiError } from "../Errors.js"
import type { ResponseMeta } from "./client/spec.js"
import { jsonDecoder } from "./client/wire.js"
import { decoder as tolerant } from "./decoding/tolerant.js"
import * as OwnedBody from "./transport/ownedBody.js"

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a
const COMMA = 0x2c
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const EQUALS = 0x3d
const INVALID = 0xff

const isSpace = (byte: number): boolean => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09

/** Canonical base64 only: `+` and `/`, no whitespace, no URL alphabet (the standard path takes those). */
const table = (() => {
  const out = new Uint8Array(256).fill(INVALID)
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  for (let i = 0; i < alphabet.length; i++) out[alphabet.charCodeAt(i)] = i
  return out
})()

/** Where the closing quote of the string opened before `from` is (escapes skipped), or -1. */
const stringEnd = (bytes: Uint8Array, from: number): number => {
  let at = from
  for (;;) {
    const quote = bytes.indexOf(QUOTE, at)
    if (quote < 0) return -1
    let slashes = 0
    while (quote - slashes - 1 >= from && bytes[quote - slashes - 1] === BACKSLASH) slashes++
    if (slashes % 2 === 0) return quote
    at = quote + 1
  }
}

const equalsAscii = (bytes: Uint8Array, start: number, end: number, text: string): boolean => {
  if (end - start !== text.length) return false
  for (let i = 0; i < text.length; i++) if (bytes[start + i] !== text.charCodeAt(i)) return false
  return true
}

/** One vector's text: `start`/`end` bound the base64 (quotes excluded) of `data[item].embedding`. */
interface Span {
  readonly item: number
  readonly start: number
  readonly end: number
}

/** The key just read: `data` of the top object, `embedding` of an object in it, or another. */
type Key = "data" | "embedding" | "other"

interface Scan {
  depth: number
  inData: boolean
  dataSeen: boolean
  items: number
  key: Key | undefined
  keyStart: number
  keyEnd: number
  readonly spans: Array<Span>
}

/**
 * The vectors' spans, or `undefined` when the layout is not the plain one: top-level object, one `data` array of
 * objects, each with exactly one `embedding` that is a string without escapes. Brackets are only counted here;
 * `JSON.parse` of the rest checks the syntax.
 */
export const scan = (bytes: Uint8Array): ReadonlyArray<Span> | undefined => {
  const state: Scan = {
    depth: 0,
    inData: false,
    dataSeen: false,
    items: 0,
    key: undefined,
    keyStart: 0,
    keyEnd: 0,
    spans: []
  }
  let at = 0
  while (at < bytes.length && isSpace(bytes[at] as number)) at++
  if (bytes[at] !== OPEN_OBJECT) return undefined
  while (at < bytes.length) {
    const next = step(bytes, at, state)
    if (next < 0) return undefined
    at = next
  }
  if (state.depth !== 0 || !state.dataSeen || state.spans.length !== state.items || state.items === 0) return undefined
  return state.spans
}

/** One token from `at`; the index after it, or -1 to give up. */
const step = (bytes: Uint8Array, at: number, state: Scan): number => {
  const byte = bytes[at] as number
  const pending = state.key
  if (isSpace(byte)) return at + 1
  if (state.inData && state.depth === 2 && byte !== OPEN_OBJECT && byte !== COMMA && byte !== CLOSE_ARRAY) return -1
  if (pending === "embedding" && byte !== QUOTE) return -1
  state.key = undefined
  if (byte === QUOTE) return string(bytes, at, state, pending)
  if (byte === COLON) {
    state.key = keyOf(bytes, state)
    return at + 1
  }
  if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
    if (pending === "data") {
      if (byte !== OPEN_ARRAY || state.dataSeen) return -1
      state.inData = true
      state.dataSeen = true
    }
    state.depth++
    if (state.inData && state.depth === 3) state.items++
    return at + 1
  }
  if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
    state.depth--
    if (state.inData && state.depth === 1) state.inData = false
    return at + 1
  }
  return pending === "data" ? -1 : at + 1
}

const string = (bytes: Uint8Array, at: number, state: Scan, pending: Key | undefined): number => {
  const end = stringEnd(bytes, at + 1)
  if (end < 0) return -1
  if (pending === "embedding") {
    const last = state.spans[state.spans.length - 1]
    if (last?.item === state.items - 1) return -1
    state.spans.push({ item: state.items - 1, start: at + 1, end })
  } else if (pending === undefined) {
    state.keyStart = at + 1
    state.keyEnd = end
  }
  return end + 1
}

const keyOf = (bytes: Uint8Array, state: Scan): Key => {
  if (state.depth === 1 && equalsAscii(bytes, state.keyStart, state.keyEnd, "data")) return "data"
  if (state.inData && state.depth === 3 && equalsAscii(bytes, state.keyStart, state.keyEnd, "embedding")) {
    return "embedding"
  }
  return "other"
}

/** Base64 `bytes[start, end)` as float32s in a fresh vector, or `undefined` unless canonical and whole. */
export const vectorOf = (bytes: Uint8Array, start: number, end: number): Float32Vector | undefined => {
  const length = end - start
  if (length % 4 !== 0) return undefined
  const padding = length === 0 ? 0 : bytes[end - 1] === EQUALS ? (bytes[end - 2] === EQUALS ? 2 : 1) : 0
  const size = (length / 4) * 3 - padding
  if (size % 4 !== 0) return undefined
  const vector = new Float32Vector(size / 4)
  return decodeInto(bytes, start, end - (padding === 0 ? 0 : 4), padding, new Uint8Array(vector.buffer))
    ? vector
    : undefined
}

const decodeInto = (bytes: Uint8Array, start: number, whole: number, padding: number, out: Uint8Array): boolean => {
  let o = 0
  let at = start
  for (; at < whole; at += 4) {
    const a = table[bytes[at] as number] as number
    const b = table[bytes[at + 1] as number] as number
    const c = table[bytes[at + 2] as number] as number
    const d = table[bytes[at + 3] as number] as number
    if ((a | b | c | d) > 63) return false
    const bits = (a << 18) | (b << 12) | (c << 6) | d
    out[o++] = bits >>> 16
    out[o++] = bits >>> 8
    out[o++] = bits
  }
  if (padding === 0) return true
  const a = table[bytes[at] as number] as number
  const b = table[bytes[at + 1] as number] as number
  const c = padding === 1 ? (table[bytes[at + 2] as number] as number) : 0
  if ((a | b | c) > 63) return false
  const bits = (a << 18) | (b << 12) | (c << 6)
  out[o++] = bits >>> 16
  if (padding === 1) out[o] = bits >>> 8
  return true
}

/** The body with each vector's string replaced by `[]`, as text. */
const rest = (bytes: Uint8Array, spans: ReadonlyArray<Span>): string => {
  let size = bytes.length
  for (const span of spans) size -= span.end - span.start
  const out = new Uint8Array(size)
  let from = 0
  let o = 0
  for (const span of spans) {
    out.set(bytes.subarray(from, span.start), o)
    o += span.start - from
    out[o - 1] = OPEN_ARRAY
    out[o] = CLOSE_ARRAY
    o++
    from = span.end + 1
  }
  out.set(bytes.subarray(from), o)
  return textDecoder.decode(out)
}

const textDecoder = new TextDecoder()
const decodeList = tolerant(EmbeddingList)

/**
 * The decoded response, equal to what the standard path (`JSON.parse` + `EmbeddingList`) gives, or `undefined`
 * when that path should decide.
 *
 * @internal
 */
export const fromBytes = (bytes: Uint8Array): EmbeddingList | undefined => {
  const spans = scan(bytes)
  if (spans === undefined) return undefined
  const vectors: Array<Float32Vector> = []
  for (const span of spans) {
    const vector = vectorOf(bytes, span.start, span.end)
    if (vector === undefined) return undefined
    vectors.push(vector)
  }
  let json: unknown
  try {
    json = JSON.parse(rest(bytes, spans))
  } catch {
    return undefined
  }
  const decoded = decodeList(json)
  if (Result.isFailure(decoded) || decoded.success.data.length !== vectors.length) return undefined
  const data = decoded.success.data.map((item, index) => ({ ...item, embedding: vectors[index] as Float32Vector }))
  return { ...decoded.success, data }
}

/**
 * `standard` (the endpoint's JSON decoder) with {@link fromBytes} in front.
 *
 * @internal
 */
export const withFastPath =
  <M, E>(standard: (bytes: Uint8Array, meta: M) => Effect.Effect<EmbeddingList, E>) =>
  (bytes: Uint8Array, meta: M): Effect.Effect<EmbeddingList, E> => {
    const fast = fromBytes(bytes)
    if (fast === undefined) return standard(bytes, meta)
    // everything is copied out (vectors into their own buffers, the rest into a string): the body can go now
    OwnedBody.release(bytes)
    return Effect.succeed(fast)
  }

/**
 * The decoder of `POST /embeddings` responses: {@link fromBytes}, else the standard JSON decoder (whose errors,
 * `ResponseDecodeFailed` with the body's start, are the call's).
 *
 * @internal
 */
export const decoder = (
  what: string
): ((bytes: Uint8Array, meta: ResponseMeta) => Effect.Effect<EmbeddingList, OpenAiError>) =>
  withFastPath(jsonDecoder(EmbeddingList, what))
