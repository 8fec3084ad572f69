/** Deterministic answers from a fixed, precomputed corpus; token estimates; hashing. */

/** FNV-1a 32-bit over UTF-16 code units, continuing from `h`. */
export const fnv1a = (s: string, h = 0x811c9dc5): number => {
  let x = h >>> 0
  for (let i = 0; i < s.length; i++) {
    x ^= s.charCodeAt(i)
    x = Math.imul(x, 0x01000193) >>> 0
  }
  return x
}

/** The estimate: one token per 4 UTF-16 code units, rounded up (0 for ""). */
export const estimateTokens = (s: string): number => Math.ceil(s.length / 4)

const sentences: ReadonlyArray<string> = [
  "The sluice gate opens slowly, and the water finds its level.",
  "Rate limits are a promise about the average, not about any single second.",
  "Café crème, déjà vu, naïve façade: accents are part of the text.",
  "水は低きに流れる。",
  "Backpressure is how a slow reader says “please wait” without shouting.",
  "🚀 Streams start fast; 🐢 some finish slowly; 🌊 all of them end.",
  "Ein Fluss lässt sich nicht drängen, aber man kann ihn lenken.",
  "数据流经过闸门，每个请求都要排队。",
  "A retry that ignores the server's hint is just a louder failure.",
  "Zürich, São Paulo, Kraków and Reykjavík all have rivers.",
  "The budget is reserved before the request is sent, and settled after it returns.",
  "한국어 문장도 토큰으로 나뉩니다.",
  "Every stream ends with [DONE], unless something went wrong 💥.",
  "Le débit est régulé, la file d'attente est équitable.",
  "Idempotency keys prevent double billing when a POST is retried.",
  "Ω ≈ ∑ λ — symbols travel through the pipe unchanged.",
  "Small, deterministic answers make tests easy to read. ✅",
  "En route, the model said «bonjour» and then stopped.",
  "Tokens are counted at admission: prompt plus the maximum completion.",
  "👩‍💻 writes code while ☕ cools down on the desk."
]

/** Splits text into pseudo-tokens of up to 4 code points (never splits a surrogate pair). */
export const tokenize = (s: string): Array<string> => {
  const out: Array<string> = []
  let current = ""
  let n = 0
  for (const cp of s) {
    current += cp
    n++
    if (n === 4 || cp === " ") {
      out.push(current)
      current = ""
      n = 0
    }
  }
  if (current !== "") out.push(current)
  return out
}

/** Each sentence pre-split into pseudo-tokens; a space token separates sentences. */
const tokenized: ReadonlyArray<ReadonlyArray<string>> = sentences.map((s) => tokenize(s))

/** The deterministic answer for a prompt hash, as pseudo-tokens (1–4 sentences). */
export const answerTokens = (hash: number): ReadonlyArray<string> => {
  const count = 1 + (hash % 4)
  const out: Array<string> = []
  let h = hash
  for (let i = 0; i < count; i++) {
    h = Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0
    if (i > 0) out.push(" ")
    for (const t of tokenized[h % tokenized.length]!) out.push(t)
  }
  return out
}

/** A few words of the corpus, for tool-call arguments. */
export const words = (hash: number, count: number): string => {
  const all = sentences[hash % sentences.length]!.split(" ")
  return all.slice(0, Math.max(1, count)).join(" ")
}

let counter = 0
const prefix = Math.floor(Math.random() * 0xffffffff)
  .toString(16)
  .padStart(8, "0")

/** A unique id with a prefix, e.g. `req_…`, `chatcmpl-…`. Cheap: a random process prefix and a counter. */
export const newId = (kind: string, sep = "-"): string => {
  counter = (counter + 1) >>> 0
  return `${kind}${sep}${prefix}${counter.toString(16).padStart(8, "0")}${((counter * 2654435761) >>> 0).toString(36)}`
}
