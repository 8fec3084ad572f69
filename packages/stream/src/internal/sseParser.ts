/**
 * The WHATWG `text/event-stream` parser as a plain, synchronous state machine. The public `Sse`
 * module wraps it in a `Channel`; keeping it free of Effect makes the hot loop cheap and easy to
 * test.
 *
 * Each chunk of bytes is decoded to text once, by one streaming `TextDecoder` (a UTF-8 character split across
 * chunks is held until it is complete), and lines are then found in the text. CR and LF are ASCII, so a line end
 * can never fall inside a multi-byte character, and the WHATWG decoder replaces an invalid sequence by U+FFFD the
 * same way whether it decodes a line or the whole stream: every re-chunking of the input decodes the same. One
 * decode per chunk instead of one per line (with a byte copy for every line split across chunks) is what makes
 * small reads cheap (decision 0014, session 4).
 *
 * `maxEventBytes` counts UTF-8 bytes: the line being read in raw bytes, the data exactly once it could be near the
 * limit (a UTF-16 unit is at most 3 bytes, so below a third of the limit nothing is measured). `strictUtf8` runs a
 * validator over the bytes, which names the line of the first invalid byte.
 *
 * @internal
 */
import * as PullStep from "./pullStep.js"
import { Utf8Validator } from "./utf8.js"

/** @internal */
export interface ParsedEvent {
  readonly event: string
  readonly data: string
  readonly id: string | undefined
  readonly retry: number | undefined
}

/** @internal */
export interface ParseFailure {
  readonly reason: "EventTooLarge" | "InvalidUtf8"
  readonly line: number
  readonly detail: string
}

/** @internal */
export interface ParserOptions {
  readonly maxEventBytes: number
  readonly strictUtf8: boolean
  readonly dispatchIncompleteEvent: boolean
}

/** Default of `maxEventBytes`: 8 MiB. @internal */
export const defaultMaxEventBytes = 8 * 1024 * 1024

/** The options with their defaults. @internal */
export const parserOptions = (
  options: { readonly [K in keyof ParserOptions]?: ParserOptions[K] | undefined } | undefined
): ParserOptions => ({
  maxEventBytes: options?.maxEventBytes ?? defaultMaxEventBytes,
  strictUtf8: options?.strictUtf8 ?? false,
  dispatchIncompleteEvent: options?.dispatchIncompleteEvent ?? false
})

const LF = 0x0a
const CR = 0x0d
const COLON = 0x3a
const SPACE = 0x20
const BOM = 0xfeff
const DIGITS = /^[0-9]+$/
const STREAM = { stream: true } as const
const encoder = new TextEncoder()
const utf8Length = (text: string): number => encoder.encode(text).length

/** @internal */
export class SseParser {
  // Lenient always: `strictUtf8` is the validator's job, so that it can say where.
  private readonly decoder = new TextDecoder("utf-8", { ignoreBOM: true })
  private readonly validator: Utf8Validator | undefined
  // the current, not yet terminated line: its text, and its raw size in bytes
  private pending = ""
  private pendingBytes = 0
  // a CR ended the previous chunk: an LF at the start of the next one belongs to it
  private skipLeadingLf = false
  // the last chunk ended in a non-ASCII byte: the decoder may hold part of a character
  private mayHold = false
  private atStart = true
  // number of complete lines seen so far; the line being read is `linesSeen + 1`
  private linesSeen = 0

  // the data lines of the event being assembled, joined with "\n"
  private data = ""
  private dataLines = 0
  // exact UTF-8 size of `data`, measured only once it could be near the limit (-1: not measured)
  private dataBytes = -1
  private eventType = ""
  private lastEventId: string | undefined = undefined
  private retry: number | undefined = undefined

  constructor(readonly options: ParserOptions) {
    this.validator = options.strictUtf8 ? new Utf8Validator() : undefined
  }

  /** Feeds one chunk; appends dispatched events to `out`. Returns a failure or undefined. */
  feed(chunk: Uint8Array, out: Array<ParsedEvent>): ParseFailure | undefined {
    if (chunk.length === 0) return undefined
    const invalid = this.validator === undefined ? -1 : this.validator.check(chunk)
    if (invalid !== -1) {
      // The lines before the invalid byte are processed (their events delivered), then the line it is on fails.
      const failure = this.feedText(this.decoder.decode(chunk.subarray(0, invalid), STREAM), out)
      return failure ?? this.invalidUtf8()
    }
    const failure = this.feedText(this.decode(chunk), out)
    if (failure !== undefined) return failure
    this.countPendingBytes(chunk)
    return this.pending !== "" && this.tooLarge(this.pendingBytes)
      ? this.tooLargeFailure(this.linesSeen + 1)
      : undefined
  }

  /** Signals the end of input. */
  end(out: Array<ParsedEvent>): ParseFailure | undefined {
    if (!this.options.dispatchIncompleteEvent) return undefined
    if (this.validator?.incomplete) return this.invalidUtf8()
    const rest = this.decoder.decode()
    if (rest !== "") this.pending += rest
    if (this.pending !== "") {
      const line = this.pending
      this.pending = ""
      const failure = this.processLine(line, out)
      if (failure !== undefined) return failure
    }
    return this.processLine("", out)
  }

  /**
   * The chunk's text. Streaming decode (which holds a character split across chunks) only when a character may be
   * split: after a chunk that ended in a non-ASCII byte, or for one that does. The plain decode is cheaper.
   */
  private decode(chunk: Uint8Array): string {
    const split = this.mayHold || chunk[chunk.length - 1]! >= 0x80
    this.mayHold = chunk[chunk.length - 1]! >= 0x80
    return split ? this.decoder.decode(chunk, STREAM) : this.decoder.decode(chunk)
  }

  /** Splits decoded text into lines; what follows the last line end is kept as the pending line. */
  private feedText(text: string, out: Array<ParsedEvent>): ParseFailure | undefined {
    const length = text.length
    if (length === 0) return undefined
    let start = 0
    if (this.skipLeadingLf) {
      this.skipLeadingLf = false
      if (text.charCodeAt(0) === LF) start = 1
    }
    // `includes` first: most streams have no CR at all, and V8's `indexOf` from a position scans a large two-byte
    // string several times slower (measured: 64 KiB reads 11.8 → 3.7 ms/MB).
    let nextCr = text.includes("\r") ? text.indexOf("\r", start) : -1
    let nextLf = text.indexOf("\n", start)
    while (start < length) {
      if (nextCr !== -1 && nextCr < start) nextCr = text.indexOf("\r", start)
      if (nextLf !== -1 && nextLf < start) nextLf = text.indexOf("\n", start)
      const end = nextCr === -1 ? nextLf : nextLf === -1 ? nextCr : Math.min(nextCr, nextLf)
      if (end === -1) {
        this.pending += text.slice(start)
        return undefined
      }
      const line = this.pending === "" ? text.slice(start, end) : this.pending + text.slice(start, end)
      this.pending = ""
      if (text.charCodeAt(end) === CR && end + 1 === length) this.skipLeadingLf = true
      start = text.charCodeAt(end) === CR && text.charCodeAt(end + 1) === LF ? end + 2 : end + 1
      const failure = this.processLine(line, out)
      if (failure !== undefined) return failure
    }
    return undefined
  }

  /** The raw size of the pending line after `chunk`: its bytes after the chunk's last line end. */
  private countPendingBytes(chunk: Uint8Array): void {
    const lastEnd = Math.max(chunk.lastIndexOf(LF), chunk.lastIndexOf(CR))
    this.pendingBytes = lastEnd === -1 ? this.pendingBytes + chunk.length : chunk.length - lastEnd - 1
  }

  private processLine(line: string, out: Array<ParsedEvent>): ParseFailure | undefined {
    this.linesSeen++
    if (this.atStart) {
      this.atStart = false
      if (line.charCodeAt(0) === BOM) line = line.slice(1)
    }
    if (line.length === 0) {
      this.dispatch(out)
      return undefined
    }
    // `data:` (nearly every line of a stream) first; then the general field/value split.
    if (line.startsWith("data:")) return this.addData(line.slice(line.charCodeAt(5) === SPACE ? 6 : 5))
    if (line.charCodeAt(0) === COLON) return undefined
    const colon = line.indexOf(":")
    if (colon === -1) return this.field(line, "")
    return this.field(line.slice(0, colon), line.slice(line.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1))
  }

  private field(name: string, value: string): ParseFailure | undefined {
    switch (name) {
      case "data":
        return this.addData(value)
      case "event":
        this.eventType = value
        break
      case "id":
        if (!value.includes("\u0000")) this.lastEventId = value
        break
      case "retry":
        if (DIGITS.test(value)) this.retry = Number(value)
        break
    }
    return undefined
  }

  private addData(value: string): ParseFailure | undefined {
    this.data = this.dataLines === 0 ? value : this.data + "\n" + value
    if (this.dataBytes !== -1) this.dataBytes += (this.dataLines === 0 ? 0 : 1) + utf8Length(value)
    this.dataLines++
    return this.tooLarge(0) ? this.tooLargeFailure(this.linesSeen) : undefined
  }

  /** Whether the event's data plus `extra` bytes exceed `maxEventBytes` (measuring the data only when it might). */
  private tooLarge(extra: number): boolean {
    const max = this.options.maxEventBytes
    if (this.dataBytes === -1) {
      if (this.data.length * 3 + extra <= max) return false
      this.dataBytes = this.dataLines === 0 ? 0 : utf8Length(this.data)
    }
    return this.dataBytes + extra > max
  }

  private tooLargeFailure(line: number): ParseFailure {
    return { reason: "EventTooLarge", line, detail: `event exceeds ${this.options.maxEventBytes} bytes` }
  }

  private invalidUtf8(): ParseFailure {
    return { reason: "InvalidUtf8", line: this.linesSeen + 1, detail: "invalid UTF-8 byte sequence" }
  }

  private dispatch(out: Array<ParsedEvent>): void {
    if (this.dataLines === 0) {
      this.eventType = ""
      return
    }
    out.push({
      event: this.eventType === "" ? "message" : this.eventType,
      data: this.data,
      id: this.lastEventId,
      retry: this.retry
    })
    this.data = ""
    this.dataLines = 0
    this.dataBytes = -1
    this.eventType = ""
    this.retry = undefined
  }
}

/** A parser as a decoder step: events out, a parse failure as `toError` makes it. @internal */
export const step = <E>(
  parser: SseParser,
  toError: (failure: ParseFailure) => E
): PullStep.Step<Uint8Array, ParsedEvent, E> => ({
  input: (input, out) => {
    for (let i = 0; i < input.length; i++) {
      const failure = parser.feed(input[i]!, out)
      if (failure !== undefined) return PullStep.fail(toError(failure))
    }
    return undefined
  },
  end: (out) => {
    const failure = parser.end(out)
    return failure === undefined ? PullStep.done : PullStep.fail(toError(failure))
  }
})

/**
 * Bytes → elements in one step: the SSE parser's step feeding an event decoder's step, with no stream stage in
 * between. The event decoder's halt wins (it decided first, e.g. at `[DONE]`), then the parser's failure; at the end
 * of input, the event decoder's `end` unless the parser failed.
 *
 * @internal
 */
export const throughSse = <A, E>(
  sse: PullStep.Step<Uint8Array, ParsedEvent, E>,
  events: PullStep.Step<ParsedEvent, A, E>
): PullStep.Step<Uint8Array, A, E> => {
  const parsed: Array<ParsedEvent> = []
  const drain = (out: Array<A>): PullStep.Halt<E> | undefined => {
    const halt = parsed.length === 0 ? undefined : events.input(parsed, out)
    parsed.length = 0
    return halt
  }
  return {
    input: (input, out) => {
      const failure = sse.input(input, parsed)
      return drain(out) ?? failure
    },
    end: (out) => {
      const end = sse.end(parsed)
      return drain(out) ?? (end._tag === "Fail" ? end : events.end(out))
    }
  }
}
