/**
 * `--shard I/N`: which lines of one input this process runs. A line belongs to shard `1 + (h mod N)`, where `h` is the
 * first 32 bits of the SHA-256 of its `custom_id`: the same on every machine and in every run, so N processes given
 * `--shard 1/N` … `--shard N/N` split one input with no line run twice and none left out, and a resumed shard
 * finds its own lines again. A line of another shard becomes a blank line (line numbers in messages stay the
 * input's own); a line without a readable `custom_id` stays in every shard, so each shard reports it.
 *
 * @internal
 */
import { createHash } from "node:crypto"
import * as Stream from "effect/Stream"
import type { Shard } from "./redis.js"

/** The shard (1-based) of a custom_id. @internal */
export const shardOf = (customId: string, count: number): number =>
  1 + (createHash("sha256").update(customId).digest().readUInt32BE(0) % count)

const customIdOf = (line: string): string | undefined => {
  if (line.trim() === "") return undefined
  try {
    const parsed: unknown = JSON.parse(line)
    const id = (parsed as { custom_id?: unknown } | null)?.custom_id
    return typeof id === "string" ? id : undefined
  } catch {
    return undefined
  }
}

/** A chunk of whole lines (what `Batch.linesFromFile` yields) with the lines of other shards blanked. */
const keepShard = (chunk: string, shard: Shard): string =>
  chunk
    .split("\n")
    .map((line) => {
      const id = customIdOf(line)
      return id === undefined || shardOf(id, shard.count) === shard.index ? line : ""
    })
    .join("\n")

/** The lines of `shard`, others blanked; each element may hold one line or a chunk of whole lines. @internal */
export const shardLines = <E, R>(lines: Stream.Stream<string, E, R>, shard: Shard | undefined) =>
  shard === undefined ? lines : Stream.map(lines, (chunk) => keepShard(chunk, shard))
