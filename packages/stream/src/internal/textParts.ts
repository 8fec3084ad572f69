/**
 * Text appended piece by piece (a stream's content so far), kept compact: `s += piece` over a long answer
 * builds a V8 cons-string tree, one node per piece (a 1,000,000-token answer: a million nodes on top of the
 * characters, old-space garbage for the GC to trace; the bench's slow consumer peaked at +137 MB RSS). Here
 * every {@link BLOCK} pieces are joined into one flat string, so memory is about the characters themselves, and
 * the whole text is built only when asked for (a `StreamTruncated`). Blocks are never joined with each other
 * while the stream runs: re-joining a growing string makes large-object garbage (measured: worse, +128–152 MB).
 *
 * @internal
 */

const BLOCK = 512

/** @internal */
export class TextParts {
  private blocks: Array<string> = []
  private pending: Array<string> = []

  append(piece: string): void {
    this.pending.push(piece)
    if (this.pending.length === BLOCK) {
      this.blocks.push(this.pending.join(""))
      this.pending = []
    }
  }

  toString(): string {
    return this.blocks.join("") + this.pending.join("")
  }
}
