/**
 * The WHATWG `text/event-stream` parser as a plain, synchronous state machine. The public `Sse`
 * module wraps it in a `Channel`; keeping it free of Effect makes the hot loop cheap and easy to
 * test.
 *
 * Lines are found in the byte domain (`Uint8Array.indexOf` is native): CR and LF are ASCII, so a
 * line end can never fall inside a multi-byte UTF-8 sequence, and a line is only decoded once all
 * of its bytes have arrived. That is what makes every re-chunking of the input decode the same.
 *
 * @internal
 */

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

const LF = 0x0a
const CR = 0x0d
const COLON = 0x3a
const SPACE = 0x20
const DIGITS = /^[0-9]+$/
const EMPTY = new Uint8Array(0)

/** Whether the field name (the bytes before `colon`) is exactly `data`. */
const isData = (bytes: Uint8Array, colon: number): boolean =>
  colon === 4 && bytes[0] === 0x64 && bytes[1] === 0x61 && bytes[2] === 0x74 && bytes[3] === 0x61

/** @internal */
export class SseParser {
  private readonly decoder: TextDecoder
  // bytes of the current, not yet terminated line
  private pendingParts: Array<Uint8Array> = []
  private pendingBytes = 0
  // a CR ended the previous chunk: an LF at the start of the next one belongs to it
  private skipLeadingLf = false
  private atStart = true
  // number of complete lines seen so far; the line being read is `linesSeen + 1`
  private linesSeen = 0

  private dataLines: Array<string> = []
  private dataBytes = 0
  private eventType = ""
  private lastEventId: string | undefined = undefined
  private retry: number | undefined = undefined

  constructor(readonly options: ParserOptions) {
    // BOM handling is ours (only at the very start of the stream), so the decoder must not strip it per line.
    this.decoder = new TextDecoder("utf-8", { fatal: options.strictUtf8, ignoreBOM: true })
  }

  /** Feeds one chunk; appends dispatched events to `out`. Returns a failure or undefined. */
  feed(chunk: Uint8Array, out: Array<ParsedEvent>): ParseFailure | undefined {
    const length = chunk.length
    let start = 0
    if (length === 0) return undefined
    if (this.skipLeadingLf) {
      this.skipLeadingLf = false
      if (chunk[0] === LF) start = 1
    }
    let nextCr = chunk.indexOf(CR, start)
    let nextLf = chunk.indexOf(LF, start)
    while (start < length) {
      if (nextCr !== -1 && nextCr < start) nextCr = chunk.indexOf(CR, start)
      if (nextLf !== -1 && nextLf < start) nextLf = chunk.indexOf(LF, start)
      const end = nextCr === -1 ? nextLf : nextLf === -1 ? nextCr : Math.min(nextCr, nextLf)
      if (end === -1) {
        const rest = chunk.subarray(start)
        this.pendingParts.push(rest)
        this.pendingBytes += rest.length
        if (this.pendingBytes + this.dataBytes > this.options.maxEventBytes) return this.tooLarge(this.linesSeen + 1)
        return undefined
      }
      let line: Uint8Array
      if (this.pendingParts.length === 0) {
        line = chunk.subarray(start, end)
      } else {
        const total = this.pendingBytes + (end - start)
        line = new Uint8Array(total)
        let offset = 0
        for (const part of this.pendingParts) {
          line.set(part, offset)
          offset += part.length
        }
        line.set(chunk.subarray(start, end), offset)
        this.pendingParts = []
        this.pendingBytes = 0
      }
      if (chunk[end] === CR) {
        if (end + 1 < length) {
          start = chunk[end + 1] === LF ? end + 2 : end + 1
        } else {
          start = length
          this.skipLeadingLf = true
        }
      } else {
        start = end + 1
      }
      const failure = this.processLine(line, out)
      if (failure !== undefined) return failure
    }
    return undefined
  }

  /** Signals the end of input. */
  end(out: Array<ParsedEvent>): ParseFailure | undefined {
    if (!this.options.dispatchIncompleteEvent) return undefined
    if (this.pendingParts.length > 0) {
      const failure = this.feed(new Uint8Array([LF]), out)
      if (failure !== undefined) return failure
    }
    return this.processLine(EMPTY, out)
  }

  private tooLarge(line: number): ParseFailure {
    return {
      reason: "EventTooLarge",
      line,
      detail: `event exceeds ${this.options.maxEventBytes} bytes`
    }
  }

  private processLine(bytes: Uint8Array, out: Array<ParsedEvent>): ParseFailure | undefined {
    this.linesSeen++
    if (this.atStart) {
      this.atStart = false
      if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3)
    }
    if (bytes.length === 0) {
      this.dispatch(out)
      return undefined
    }
    if (bytes[0] === COLON) return undefined
    let colon = bytes.indexOf(COLON)
    let valueStart: number
    if (colon === -1) {
      colon = bytes.length
      valueStart = bytes.length
    } else {
      valueStart = bytes[colon + 1] === SPACE ? colon + 2 : colon + 1
    }
    let field: string
    let value: string
    try {
      // `data` (nearly every line of a stream) is recognised in the byte domain: one decode per line, not two.
      field = isData(bytes, colon) ? "data" : this.decoder.decode(bytes.subarray(0, colon))
      value = this.decoder.decode(bytes.subarray(valueStart))
    } catch {
      return { reason: "InvalidUtf8", line: this.linesSeen, detail: "invalid UTF-8 byte sequence" }
    }
    switch (field) {
      case "data": {
        const size = bytes.length - valueStart + (this.dataLines.length > 0 ? 1 : 0)
        this.dataBytes += size
        if (this.dataBytes > this.options.maxEventBytes) return this.tooLarge(this.linesSeen)
        this.dataLines.push(value)
        break
      }
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

  private dispatch(out: Array<ParsedEvent>): void {
    if (this.dataLines.length === 0) {
      this.eventType = ""
      return
    }
    const data = this.dataLines.length === 1 ? this.dataLines[0]! : this.dataLines.join("\n")
    out.push({
      event: this.eventType === "" ? "message" : this.eventType,
      data,
      id: this.lastEventId,
      retry: this.retry
    })
    this.dataLines = []
    this.dataBytes = 0
    this.eventType = ""
    this.retry = undefined
  }
}
