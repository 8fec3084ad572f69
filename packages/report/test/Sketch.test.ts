import { describe, expect, it } from "@effect/vitest"
import { Sketch } from "../src/internal/sketch.js"

describe("Sketch (the one quantile estimate of Alerts and RunReport)", () => {
  it("quantiles within 2 %, and a removed value no longer counts", () => {
    const sketch = new Sketch()
    for (let i = 1; i <= 1000; i++) sketch.add(i)
    for (const [q, exact] of [
      [0.5, 500],
      [0.9, 900],
      [0.99, 990]
    ] as const) {
      expect(Math.abs(sketch.quantile(q)! - exact)).toBeLessThanOrEqual(exact * 0.02)
    }
    // the slowest tenth leaves (a sliding window dropping its samples): the p99 is now that of 1..900
    for (let i = 901; i <= 1000; i++) sketch.remove(i)
    expect(sketch.total).toBe(900)
    expect(Math.abs(sketch.quantile(0.99)! - 891)).toBeLessThanOrEqual(891 * 0.02)
    for (let i = 1; i <= 900; i++) sketch.remove(i)
    expect(sketch.total).toBe(0)
    expect(sketch.counts.size).toBe(0)
    expect(sketch.quantile(0.5)).toBeUndefined()
  })
})
