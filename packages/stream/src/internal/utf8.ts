/**
 * A streaming UTF-8 validator (the WHATWG decoder's state machine without the output), for the SSE parser's
 * `strictUtf8` mode: it says where the first invalid byte is, across chunk boundaries, so the parser can name the
 * line. The default (lenient) mode never runs it.
 *
 * @internal
 */

/** @internal */
export class Utf8Validator {
  private needed = 0
  private lower = 0x80
  private upper = 0xbf

  /** The offset of the first byte of `bytes` that makes the input so far invalid, or -1. */
  check(bytes: Uint8Array): number {
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i]!
      if (this.needed === 0) {
        if (byte <= 0x7f) continue
        if (!this.lead(byte)) return i
      } else if (byte < this.lower || byte > this.upper) {
        return i
      } else {
        this.lower = 0x80
        this.upper = 0xbf
        this.needed--
      }
    }
    return -1
  }

  /** Whether the input so far ends inside a multi-byte character. */
  get incomplete(): boolean {
    return this.needed > 0
  }

  private lead(byte: number): boolean {
    if (byte >= 0xc2 && byte <= 0xdf) {
      this.needed = 1
    } else if (byte >= 0xe0 && byte <= 0xef) {
      if (byte === 0xe0) this.lower = 0xa0
      if (byte === 0xed) this.upper = 0x9f
      this.needed = 2
    } else if (byte >= 0xf0 && byte <= 0xf4) {
      if (byte === 0xf0) this.lower = 0x90
      if (byte === 0xf4) this.upper = 0x8f
      this.needed = 3
    } else {
      return false
    }
    return true
  }
}
