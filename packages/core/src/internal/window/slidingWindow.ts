/**
 * The body of `SlidingWindow`: a deque of timed entries over one array and a head index, pushed at the back and
 * dropped from the front. Amortised O(1); never sorts.
 *
 * @internal
 */
import type { Entry, SlidingWindow as Api } from "../../SlidingWindow.js"

/** Compacts the array once more than this many dropped entries sit before the head (and they are most of it). */
const compactAfter = 1024

export class SlidingWindow<A> implements Api<A> {
  private items: Array<{ readonly at: number; readonly value: A }> = []
  private head = 0

  constructor(
    readonly windowMs: number,
    readonly maxSamples: number
  ) {}

  get size(): number {
    return this.items.length - this.head
  }

  get newest(): Entry<A> | undefined {
    return this.size === 0 ? undefined : this.items[this.items.length - 1]
  }

  push(at: number, value: A, onDrop?: (value: A) => void): void {
    this.items.push({ at, value })
    if (this.size > this.maxSamples) this.dropHead(onDrop)
    this.compact()
  }

  prune(now: number, onDrop?: (value: A) => void): void {
    const horizon = now - this.windowMs
    while (this.head < this.items.length && this.items[this.head]!.at <= horizon) this.dropHead(onDrop)
    this.compact()
  }

  clear(): void {
    this.items = []
    this.head = 0
  }

  forEach(f: (value: A, at: number) => void): void {
    for (let index = this.head; index < this.items.length; index++) {
      const entry = this.items[index]!
      f(entry.value, entry.at)
    }
  }

  values(): Array<A> {
    const out: Array<A> = []
    this.forEach((value) => {
      out.push(value)
    })
    return out
  }

  private dropHead(onDrop: ((value: A) => void) | undefined): void {
    onDrop?.(this.items[this.head]!.value)
    this.head++
  }

  private compact(): void {
    if (this.head > compactAfter && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
  }
}

export const make = <A>(windowMs: number, maxSamples = 100_000): Api<A> => new SlidingWindow<A>(windowMs, maxSamples)
