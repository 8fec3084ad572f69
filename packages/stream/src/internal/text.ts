/**
 * Splitters for re-chunking streamed text. Each takes the text buffered so far and returns the
 * pieces that are certainly complete plus the rest to keep buffering. A boundary is only trusted
 * once text after it has arrived, so no word, sentence, line, grapheme or surrogate pair is split.
 *
 * @internal
 */

/** @internal */
export interface Split {
  readonly complete: Array<string>
  readonly rest: string
}

// Past this many buffered characters without a trusted boundary, flush up to the last segment start
// (a long run of punctuation or whitespace must not be held until the end).
const MAX_HELD = 4096

const wordSegmenter = new Intl.Segmenter("und", { granularity: "word" })
const sentenceSegmenter = new Intl.Segmenter("und", { granularity: "sentence" })

/**
 * Words: each piece is one word together with the whitespace and punctuation around it up to the
 * next word (the first piece also takes any leading non-word text).
 *
 * @internal
 */
export const splitWords = (buffer: string): Split => {
  const starts: Array<number> = []
  let seenWord = false
  let lastSegment = 0
  for (const segment of wordSegmenter.segment(buffer)) {
    lastSegment = segment.index
    if (segment.isWordLike) {
      if (seenWord) starts.push(segment.index)
      seenWord = true
    }
  }
  if (starts.length === 0) return overflow(buffer, lastSegment)
  const complete: Array<string> = []
  let from = 0
  for (const start of starts) {
    complete.push(buffer.slice(from, start))
    from = start
  }
  return { complete, rest: buffer.slice(from) }
}

/**
 * Sentences (with their trailing whitespace), as `Intl.Segmenter` sees them.
 *
 * @internal
 */
export const splitSentences = (buffer: string): Split => {
  const segments = Array.from(sentenceSegmenter.segment(buffer), (s) => s.segment)
  // Whether a sentence ends after "Hi. " depends on the next letter ("Hi. the" is one sentence), so a
  // boundary is trusted only once a letter or a terminator has arrived after it.
  let tail = ""
  let keep = segments.length
  while (keep > 0) {
    keep--
    tail = segments[keep] + tail
    if (keep > 0 && RESOLVES_SENTENCE.test(tail)) break
  }
  if (keep === 0) return overflow(buffer, 0)
  return { complete: segments.slice(0, keep), rest: tail }
}

const RESOLVES_SENTENCE = /[\p{L}\n\r.!?\u3002]/u

/**
 * Lines, each with its `"\n"` (a `"\r\n"` pair stays together).
 *
 * @internal
 */
export const splitLines = (buffer: string): Split => {
  const last = buffer.lastIndexOf("\n")
  if (last === -1) return { complete: [], rest: buffer }
  const complete: Array<string> = []
  let from = 0
  while (from <= last) {
    const end = buffer.indexOf("\n", from)
    complete.push(buffer.slice(from, end + 1))
    from = end + 1
  }
  return { complete, rest: buffer.slice(last + 1) }
}

const overflow = (buffer: string, lastSegmentStart: number): Split =>
  buffer.length > MAX_HELD && lastSegmentStart > 0
    ? { complete: [buffer.slice(0, lastSegmentStart)], rest: buffer.slice(lastSegmentStart) }
    : { complete: [], rest: buffer }
