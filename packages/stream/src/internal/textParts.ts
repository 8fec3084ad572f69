/**
 * Text appended piece by piece (a stream's content so far), kept compact: `s += piece` over a long answer
 * builds a V8 cons-string tree, one node per piece (a 1,000,000-token answer: a million nodes on top of the
 * characters, and old-space garbage for the GC to trace). Pieces are joined into one flat string every
 * {@link BLOCK} appends instead, so memory is about the characters themselves, and the whole text is built
 * only when asked for (a `StreamTruncated`). Amortized O(1) per append.
 *
 * @internal
 */

const BLOCK = 1024

/** @internal */
export class TextParts {
  private blocks: Array<string> = []
  private pending: Array<string> = []

  append(piece: string): void {
    this.pending.push(piece)
    if (this.pending.length === BLOCK) {
      this.blocks.push(this.pending.join(""))
      this.pending = []
      // keep the number of blocks small too: fold them when they pile up
      if (this.blocks.length === BLOCK) this.blocks = [this.blocks.join("")]
    }
  }

  toString(): string {
    return this.blocks.join("") + this.pending.join("")
  }
}
