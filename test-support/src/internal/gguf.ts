/**
 * Just enough of the GGUF format (v3, little-endian) to make a tiny llama model for the llama.cpp peer suite: read
 * the metadata of one of llama.cpp's vocab-only files (`models/ggml-vocab-*.gguf`, in the source node-llama-cpp
 * bundles) and write a model with that tokenizer and small, seeded random F32 weights. The model's answers are noise,
 * but the server's HTTP surface, streaming, grammar-constrained JSON and tool calls are real.
 *
 * Format: magic "GGUF", u32 version, u64 tensor count, u64 metadata count, the metadata (key, u32 type, value), the
 * tensor infos (name, u32 dims, u64 each dim, u32 type, u64 offset), padding to the alignment, the tensor data.
 */

/** A GGUF metadata value with its wire type, so that a copied key keeps exactly the type it had. */
export type Value =
  | { readonly type: "u32"; readonly value: number }
  | { readonly type: "i32"; readonly value: number }
  | { readonly type: "f32"; readonly value: number }
  | { readonly type: "bool"; readonly value: boolean }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "raw"; readonly typeId: number; readonly bytes: Uint8Array }

const T = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12
}
const fixedSize: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 }
const ALIGNMENT = 32

/** Reads the metadata of a GGUF file; values other than scalars and strings are kept as raw bytes. */
export const readMetadata = (file: Buffer): Map<string, Value> => {
  if (file.toString("latin1", 0, 4) !== "GGUF") throw new Error("not a GGUF file (bad magic)")
  let at = 8
  const tensors = Number(file.readBigUInt64LE(at))
  const count = Number(file.readBigUInt64LE(at + 8))
  if (tensors !== 0) throw new Error("expected a vocab-only GGUF file (no tensors)")
  at += 16
  const string = (): string => {
    const length = Number(file.readBigUInt64LE(at))
    const text = file.toString("utf8", at + 8, at + 8 + length)
    at += 8 + length
    return text
  }
  const skip = (type: number): void => {
    if (type === T.string) {
      at += 8 + Number(file.readBigUInt64LE(at))
    } else if (type === T.array) {
      const itemType = file.readUInt32LE(at)
      const items = Number(file.readBigUInt64LE(at + 4))
      at += 12
      if (itemType === T.string || itemType === T.array) for (let i = 0; i < items; i++) skip(itemType)
      else at += items * (fixedSize[itemType] ?? 0)
    } else {
      const size = fixedSize[type]
      if (size === undefined) throw new Error(`unknown GGUF value type ${type}`)
      at += size
    }
  }
  const metadata = new Map<string, Value>()
  for (let i = 0; i < count; i++) {
    const key = string()
    const type = file.readUInt32LE(at)
    at += 4
    const start = at
    if (type === T.u32) metadata.set(key, { type: "u32", value: file.readUInt32LE(at) })
    else if (type === T.i32) metadata.set(key, { type: "i32", value: file.readInt32LE(at) })
    else if (type === T.f32) metadata.set(key, { type: "f32", value: file.readFloatLE(at) })
    else if (type === T.bool) metadata.set(key, { type: "bool", value: file[at] !== 0 })
    else if (type === T.string) {
      metadata.set(key, { type: "string", value: string() })
      continue
    }
    skip(type)
    if (!metadata.has(key)) metadata.set(key, { type: "raw", typeId: type, bytes: file.subarray(start, at) })
  }
  return metadata
}

/** The strings of a raw string-array value (e.g. `tokenizer.ggml.tokens`). */
export const stringArray = (value: Value | undefined): ReadonlyArray<string> => {
  if (value?.type !== "raw" || value.typeId !== T.array) throw new Error("not an array value")
  const bytes = Buffer.from(value.bytes.buffer, value.bytes.byteOffset, value.bytes.byteLength)
  if (bytes.readUInt32LE(0) !== T.string) throw new Error("not an array of strings")
  const count = Number(bytes.readBigUInt64LE(4))
  const out: Array<string> = []
  let at = 12
  for (let i = 0; i < count; i++) {
    const length = Number(bytes.readBigUInt64LE(at))
    out.push(bytes.toString("utf8", at + 8, at + 8 + length))
    at += 8 + length
  }
  return out
}

/** The shape of the tiny llama model. */
export interface Shape {
  readonly vocab: number
  readonly embedding: number
  readonly heads: number
  readonly feedForward: number
  readonly layers: number
  readonly context: number
  /**
   * Bigrams the model prefers, `[from, to, weight]` token ids: the attention and feed-forward outputs are zero, so
   * the last hidden state is the last token's embedding and the model is a bigram table. Each `from` token gets an
   * embedding dimension of its own, and `to`'s output row has `weight` there: after RMS norm a logit of
   * weight·√embedding (40 for 5 at 64) against noise of a few tenths for every other token.
   */
  readonly bigrams?: ReadonlyArray<readonly [from: number, to: number, weight: number]> | undefined
}

const tensorsOf = (shape: Shape): ReadonlyArray<readonly [string, ReadonlyArray<number>]> => {
  const { embedding: e, feedForward: f, vocab: v } = shape
  const layer = (i: number): ReadonlyArray<readonly [string, ReadonlyArray<number>]> => [
    [`blk.${i}.attn_norm.weight`, [e]],
    [`blk.${i}.attn_q.weight`, [e, e]],
    [`blk.${i}.attn_k.weight`, [e, e]],
    [`blk.${i}.attn_v.weight`, [e, e]],
    [`blk.${i}.attn_output.weight`, [e, e]],
    [`blk.${i}.ffn_norm.weight`, [e]],
    [`blk.${i}.ffn_gate.weight`, [e, f]],
    [`blk.${i}.ffn_up.weight`, [e, f]],
    [`blk.${i}.ffn_down.weight`, [f, e]]
  ]
  return [
    ["token_embd.weight", [e, v]],
    ["output_norm.weight", [e]],
    ["output.weight", [e, v]],
    ...Array.from({ length: shape.layers }, (_, i) => layer(i)).flat()
  ]
}

class Writer {
  private readonly chunks: Array<Buffer> = []
  length = 0
  push(buffer: Buffer): void {
    this.chunks.push(buffer)
    this.length += buffer.length
  }
  u32(value: number): void {
    const b = Buffer.alloc(4)
    b.writeUInt32LE(value)
    this.push(b)
  }
  u64(value: number): void {
    const b = Buffer.alloc(8)
    b.writeBigUInt64LE(BigInt(value))
    this.push(b)
  }
  string(text: string): void {
    const bytes = Buffer.from(text, "utf8")
    this.u64(bytes.length)
    this.push(bytes)
  }
  value(value: Value): void {
    switch (value.type) {
      case "u32":
        this.u32(T.u32)
        this.u32(value.value)
        return
      case "i32": {
        this.u32(T.i32)
        const b = Buffer.alloc(4)
        b.writeInt32LE(value.value)
        this.push(b)
        return
      }
      case "f32": {
        this.u32(T.f32)
        const b = Buffer.alloc(4)
        b.writeFloatLE(value.value)
        this.push(b)
        return
      }
      case "bool":
        this.u32(T.bool)
        this.push(Buffer.from([value.value ? 1 : 0]))
        return
      case "string":
        this.u32(T.string)
        this.string(value.value)
        return
      case "raw":
        this.u32(value.typeId)
        this.push(Buffer.from(value.bytes))
    }
  }
  pad(): void {
    const rest = this.length % ALIGNMENT
    if (rest !== 0) this.push(Buffer.alloc(ALIGNMENT - rest))
  }
  concat(): Buffer {
    return Buffer.concat(this.chunks, this.length)
  }
}

/** Deterministic small weights (xorshift32), norms at 1. */
const weights = (name: string, count: number, state: { seed: number }): Buffer => {
  const data = new Float32Array(count)
  if (name.endsWith("_norm.weight")) data.fill(1)
  else if (name.endsWith("attn_output.weight") || name.endsWith("ffn_down.weight")) data.fill(0)
  else {
    let s = state.seed
    for (let i = 0; i < count; i++) {
      s ^= s << 13
      s ^= s >>> 17
      s ^= s << 5
      data[i] = ((s >>> 0) / 0xffffffff - 0.5) * 0.08
    }
    state.seed = s
  }
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength)
}

/** Writes `shape.bigrams` into the embeddings and output rows (the writer still references both buffers). */
const bigramRows = (output: Buffer, embeddings: Buffer, shape: Shape): void => {
  const bigrams = shape.bigrams ?? []
  const e = shape.embedding
  const out = new Float32Array(output.buffer, output.byteOffset, output.byteLength / 4)
  const emb = new Float32Array(embeddings.buffer, embeddings.byteOffset, embeddings.byteLength / 4)
  const dimension = new Map<number, number>()
  for (const [from] of bigrams) if (!dimension.has(from)) dimension.set(from, dimension.size)
  if (dimension.size >= e) throw new Error(`at most ${e - 1} distinct bigram sources fit an embedding of ${e}`)
  for (let token = 0; token < shape.vocab; token++)
    for (let k = 0; k < dimension.size; k++) {
      emb[token * e + k] = 0
      out[token * e + k] = 0
    }
  for (const [token, j] of dimension) for (let k = 0; k < e; k++) emb[token * e + k] = k === j ? 1 : 0
  for (const [from, to, weight] of bigrams) out[to * e + dimension.get(from)!] = weight
}

/**
 * A llama model of `shape` with the tokenizer (every `tokenizer.*` key) of `vocabFile`'s metadata, as GGUF bytes.
 */
export const tinyLlama = (vocab: Map<string, Value>, shape: Shape, seed = 0x5eed): Buffer => {
  const metadata: Array<readonly [string, Value]> = [
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.name", { type: "string", value: "sluice-tiny-llama" }],
    ["general.alignment", { type: "u32", value: ALIGNMENT }],
    ["llama.context_length", { type: "u32", value: shape.context }],
    ["llama.embedding_length", { type: "u32", value: shape.embedding }],
    ["llama.block_count", { type: "u32", value: shape.layers }],
    ["llama.feed_forward_length", { type: "u32", value: shape.feedForward }],
    ["llama.attention.head_count", { type: "u32", value: shape.heads }],
    ["llama.attention.head_count_kv", { type: "u32", value: shape.heads }],
    ["llama.rope.dimension_count", { type: "u32", value: shape.embedding / shape.heads }],
    ["llama.attention.layer_norm_rms_epsilon", { type: "f32", value: 1e-5 }],
    ["llama.vocab_size", { type: "u32", value: shape.vocab }],
    ...[...vocab].filter(([key]) => key.startsWith("tokenizer."))
  ]
  const tensors = tensorsOf(shape)
  const head = new Writer()
  head.push(Buffer.from("GGUF", "latin1"))
  head.u32(3)
  head.u64(tensors.length)
  head.u64(metadata.length)
  for (const [key, value] of metadata) {
    head.string(key)
    head.value(value)
  }
  const data = new Writer()
  const state = { seed }
  let embeddings: Buffer | undefined
  for (const [name, dims] of tensors) {
    head.string(name)
    head.u32(dims.length)
    for (const dim of dims) head.u64(dim)
    head.u32(0) // F32
    head.u64(data.length)
    const tensor = weights(
      name,
      dims.reduce((a, b) => a * b, 1),
      state
    )
    if (name === "token_embd.weight") embeddings = tensor
    if (name === "output.weight" && embeddings !== undefined) bigramRows(tensor, embeddings, shape)
    data.push(tensor)
    data.pad()
  }
  head.pad()
  return Buffer.concat([head.concat(), data.concat()])
}
