import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { shardLines, shardOf } from "../src/internal/shard.js"

const line = (i: number) => JSON.stringify({ custom_id: `id-${i}`, method: "POST", url: "/v1/embeddings", body: {} })
const lines = Array.from({ length: 1000 }, (_, i) => line(i))

const collect = (stream: Stream.Stream<string>) =>
  Effect.map(Stream.runCollect(stream), (chunks) => Array.from(chunks).join("\n").split("\n"))

describe("--shard", () => {
  it.effect("N shards split the input: every line in exactly one, line numbers kept, per line or per chunk", () =>
    Effect.gen(function* () {
      for (const input of [
        Stream.fromIterable(lines),
        Stream.make(lines.slice(0, 400).join("\n"), lines.slice(400).join("\n"))
      ]) {
        const seen = new Map<string, number>()
        for (let index = 1; index <= 3; index++) {
          const out = yield* collect(shardLines(input, { index, count: 3 }))
          expect(out.length).toBe(lines.length)
          out.forEach((text, i) => {
            if (text === "") return
            expect(text).toBe(lines[i])
            seen.set(text, (seen.get(text) ?? 0) + 1)
          })
        }
        expect(seen.size).toBe(lines.length)
        expect([...seen.values()].every((n) => n === 1)).toBe(true)
      }
    })
  )

  it.effect("a line without a readable custom_id stays in every shard (each reports it)", () =>
    Effect.gen(function* () {
      for (let index = 1; index <= 2; index++) {
        const out = yield* collect(shardLines(Stream.make(`not json\n${line(1)}`), { index, count: 2 }))
        expect(out[0]).toBe("not json")
      }
    })
  )

  it("the hash is stable and spreads ids evenly", () => {
    expect(shardOf("id-1", 3)).toBe(shardOf("id-1", 3))
    const counts = [0, 0, 0]
    for (let i = 0; i < 3000; i++) counts[shardOf(`id-${i}`, 3) - 1]!++
    for (const c of counts) expect(c).toBeGreaterThan(850)
  })
})
