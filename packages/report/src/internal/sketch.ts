/**
 * The one quantile estimate of the reports: a log-bucketed histogram (bucket i holds values in (γ^(i-1), γ^i]), so
 * a quantile is within (γ − 1) / 2 ≈ 2 % of the true value, memory is bounded by the range of values (not their
 * number), and a value can be taken out again (the alerts' sliding window). Not public.
 */

const gamma = 1.04
const logGamma = Math.log(gamma)

const indexOf = (value: number): number => (value <= 1 ? 0 : Math.ceil(Math.log(value) / logGamma))

export class Sketch {
  readonly counts = new Map<number, number>()
  total = 0

  add(value: number): void {
    const index = indexOf(value)
    this.counts.set(index, (this.counts.get(index) ?? 0) + 1)
    this.total++
  }

  /** Takes out a value that was added (a sample leaving a window). */
  remove(value: number): void {
    const index = indexOf(value)
    const count = this.counts.get(index)
    if (count === undefined) return
    if (count <= 1) this.counts.delete(index)
    else this.counts.set(index, count - 1)
    this.total--
  }

  merge(other: Sketch): void {
    for (const [index, count] of other.counts) this.counts.set(index, (this.counts.get(index) ?? 0) + count)
    this.total += other.total
  }

  /** The nearest-rank `q` quantile (0 < q ≤ 1), within 2 %; `undefined` when empty. */
  quantile(q: number): number | undefined {
    if (this.total === 0) return undefined
    const rank = Math.max(1, Math.ceil(q * this.total))
    let seen = 0
    for (const index of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(index)!
      if (seen >= rank) return index === 0 ? 1 : (2 * gamma ** index) / (1 + gamma)
    }
    return undefined
  }
}
