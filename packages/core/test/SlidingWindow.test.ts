import { describe, expect, it } from "@effect/vitest"
import * as SlidingWindow from "../src/SlidingWindow.js"

describe("SlidingWindow (the one sliding window: the breaker's slots, the alerts' samples)", () => {
  it("prune drops the entries windowMs old or older, oldest first, through onDrop", () => {
    const window = SlidingWindow.make<string>(1000)
    window.push(0, "a")
    window.push(500, "b")
    window.push(999, "c")
    const dropped: Array<string> = []
    window.prune(1499, (value) => dropped.push(value))
    // 0 is 1499 ms old: dropped; 500 is 999 ms old: kept
    expect(dropped).toEqual(["a"])
    window.prune(1500, (value) => dropped.push(value))
    // exactly windowMs old: dropped
    expect(dropped).toEqual(["a", "b"])
    expect(window.values()).toEqual(["c"])
    expect(window.size).toBe(1)
  })

  it("past maxSamples the oldest entry goes first, through onDrop", () => {
    const window = SlidingWindow.make<number>(60_000, 3)
    const dropped: Array<number> = []
    for (let i = 1; i <= 5; i++) window.push(i, i, (value) => dropped.push(value))
    expect(dropped).toEqual([1, 2])
    expect(window.values()).toEqual([3, 4, 5])
    expect(window.maxSamples).toBe(3)
  })

  it("newest is the last entry pushed, updated in place by a caller coalescing by slot", () => {
    const window = SlidingWindow.make<{ calls: number }>(1000)
    expect(window.newest).toBeUndefined()
    for (const now of [0, 10, 99, 100, 250]) {
      const start = Math.floor(now / 100) * 100
      const newest = window.newest
      if (newest !== undefined && newest.at === start) newest.value.calls++
      else window.push(start, { calls: 1 })
    }
    const slots: Array<[number, number]> = []
    window.forEach((slot, at) => {
      slots.push([at, slot.calls])
    })
    expect(slots).toEqual([
      [0, 3],
      [100, 1],
      [200, 1]
    ])
    window.prune(1100)
    expect(window.newest?.at).toBe(200)
    window.prune(1200)
    expect(window.newest).toBeUndefined()
  })

  it("keeps order and size across its compaction (many entries pushed and pruned)", () => {
    const window = SlidingWindow.make<number>(1000)
    let sum = 0
    const drop = (value: number) => {
      sum -= value
    }
    for (let at = 0; at < 10_000; at++) {
      window.prune(at, drop)
      window.push(at, at, drop)
      sum += at
    }
    // pruned at 9999 (8999 and older gone), then 9999 pushed: 9000..9999
    expect(window.size).toBe(1000)
    expect(window.values()[0]).toBe(9000)
    expect(window.values()[999]).toBe(9999)
    expect(sum).toBe(((9000 + 9999) * 1000) / 2)
    window.clear()
    expect(window.size).toBe(0)
    expect(window.values()).toEqual([])
    window.push(20_000, 1)
    expect(window.values()).toEqual([1])
  })
})
