/**
 * A time window over samples that arrive in (roughly) increasing time order: push at the back, drop from the
 * front once older than the window. Amortised O(1); never sorts. Not public.
 */
export class Window<A> {
  private items: Array<{ readonly at: number; readonly value: A }> = []
  private head = 0

  constructor(
    readonly windowMs: number,
    /** The most samples kept; beyond it the oldest go first (bounds memory at very high rates). */
    readonly maxSamples: number = 100_000
  ) {}

  push(at: number, value: A, onDrop?: (value: A) => void): void {
    this.items.push({ at, value })
    if (this.size > this.maxSamples) {
      onDrop?.(this.items[this.head]!.value)
      this.head++
    }
    this.compact()
  }

  /** Drops samples older than `windowMs` before `now` (a sample exactly `windowMs` old is dropped). */
  prune(now: number, onDrop?: (value: A) => void): void {
    while (this.head < this.items.length && this.items[this.head]!.at <= now - this.windowMs) {
      onDrop?.(this.items[this.head]!.value)
      this.head++
    }
    this.compact()
  }

  get size(): number {
    return this.items.length - this.head
  }

  values(): Array<A> {
    const out: Array<A> = []
    for (let index = this.head; index < this.items.length; index++) out.push(this.items[index]!.value)
    return out
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
  }
}

/**
 * Fires once when a condition becomes true, then stays quiet until it has cleared (hysteresis) and the
 * cool-down since the last firing has passed.
 */
export class Latch {
  private firing = false
  private lastFiredAt = Number.NEGATIVE_INFINITY

  constructor(readonly cooldownMs: number) {}

  /** `true` when the alert should fire now. */
  step(now: number, raised: boolean, cleared: boolean): boolean {
    if (this.firing) {
      if (cleared) this.firing = false
      return false
    }
    if (raised && now - this.lastFiredAt >= this.cooldownMs) {
      this.firing = true
      this.lastFiredAt = now
      return true
    }
    return false
  }
}
