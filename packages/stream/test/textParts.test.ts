import { describe, expect, it } from "@effect/vitest"
import { TextParts } from "../src/internal/textParts.js"

describe("TextParts", () => {
  it("is the concatenation of every piece, in order, across block boundaries", () => {
    for (const count of [0, 1, 511, 512, 513, 1024, 5_000]) {
      const parts = new TextParts()
      let expected = ""
      for (let i = 0; i < count; i++) {
        const piece = i % 7 === 0 ? " 水は" : ` w${i}`
        parts.append(piece)
        expected += piece
      }
      expect(parts.toString()).toBe(expected)
    }
  })

  it("can be read while it grows", () => {
    const parts = new TextParts()
    parts.append("a")
    expect(parts.toString()).toBe("a")
    for (let i = 0; i < 600; i++) parts.append("b")
    expect(parts.toString()).toBe(`a${"b".repeat(600)}`)
  })
})
