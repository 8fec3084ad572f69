/**
 * Token counts that stay linear in the length of the text.
 *
 * gpt-tokenizer's byte-pair merge is quadratic in the length of one pre-tokenizer chunk, and a run without
 * whitespace (`aaaa…`, a minified blob, a long run of spaces) is one chunk: 80,000 repeated characters took 3 s
 * and a 5 MB line hours, on the main thread, where no signal is handled. Here:
 *
 * - text whose pre-tokenizer chunks are all at most `pieceLength` characters is counted exactly, in segments
 *   cut at chunk boundaries (the same chunks, so the same count);
 * - a longer chunk is counted in pieces of `pieceLength` characters, plus one token per cut, and never more
 *   than its UTF-8 byte count (a strict upper bound on byte-level BPE tokens): an estimate, not the exact BPE
 *   count, and on the safe (higher) side in every case we have seen;
 * - the work is a generator that yields every `yieldEvery` characters, so the `Tokens` service can run it with
 *   `Effect.yieldNow` in between (a huge prompt does not block interruption) and plain callers run it straight.
 *
 * @internal
 */

/** @internal */
export interface Tokenizer {
  readonly countTokens: (text: string, options?: { readonly disallowedSpecial?: Set<string> }) => number
}

/** User text may contain `<|endoftext|>`: count it as text, like the API does for content. */
const noSpecial = { disallowedSpecial: new Set<string>() }

/** Chunks longer than this are counted in pieces (the merge costs ~pieceLength² per piece). */
export const pieceLength = 256

/** Exactly counted text is handed to the tokenizer in segments of about this many characters. */
export const segmentLength = 16_384

/** The generator yields after about this many characters of work. */
export const yieldEvery = 65_536

const utf8Length = (text: string): number => {
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x80) bytes += 1
    else if (code < 0x800) bytes += 2
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4
        i++
      } else bytes += 3
    } else bytes += 3
  }
  return bytes
}

/**
 * The count of `text` as a generator: it yields (nothing) every `yieldEvery` characters and returns the count.
 *
 * @internal
 */
export function* countSteps(tokenizer: Tokenizer, split: RegExp, text: string): Generator<void, number> {
  if (text.length === 0) return 0
  // No chunk can be longer than the text: short text is one exact call.
  if (text.length <= pieceLength) return tokenizer.countTokens(text, noSpecial)
  const exact = (from: number, to: number) => (to > from ? tokenizer.countTokens(text.slice(from, to), noSpecial) : 0)
  let total = 0
  let segmentStart = 0
  let sinceYield = 0
  for (const match of text.matchAll(split)) {
    const chunk = match[0]
    const at = match.index
    const end = at + chunk.length
    if (chunk.length > pieceLength) {
      total += exact(segmentStart, at)
      total += yield* countLongChunk(tokenizer, chunk)
      segmentStart = end
    } else if (end - segmentStart >= segmentLength) {
      total += exact(segmentStart, end)
      segmentStart = end
    }
    sinceYield += chunk.length
    if (sinceYield >= yieldEvery) {
      sinceYield = 0
      yield
    }
  }
  return total + exact(segmentStart, text.length)
}

function* countLongChunk(tokenizer: Tokenizer, chunk: string): Generator<void, number> {
  let total = 0
  let cuts = 0
  let sinceYield = 0
  for (let start = 0; start < chunk.length; ) {
    let end = Math.min(chunk.length, start + pieceLength)
    // Never cut a surrogate pair in two.
    const last = chunk.charCodeAt(end - 1)
    if (end < chunk.length && last >= 0xd800 && last <= 0xdbff) end++
    total += tokenizer.countTokens(chunk.slice(start, end), noSpecial)
    if (end < chunk.length) cuts++
    sinceYield += end - start
    start = end
    if (sinceYield >= yieldEvery) {
      sinceYield = 0
      yield
    }
  }
  return Math.min(total + cuts, utf8Length(chunk))
}

/**
 * Runs {@link countSteps} to the end without yielding.
 *
 * @internal
 */
export const countNow = (tokenizer: Tokenizer, split: RegExp, text: string): number => {
  const steps = countSteps(tokenizer, split, text)
  for (;;) {
    const step = steps.next()
    if (step.done === true) return step.value
  }
}

/** @internal */
export const utf8Bytes = utf8Length
