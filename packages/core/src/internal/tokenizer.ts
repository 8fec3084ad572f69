/**
 * The token counting behind `Tokens`: the request walkers (one walk for any string counter), the default bound
 * (UTF-8 bytes: no tokenizer) and the exact counter, whose gpt-tokenizer tables are imported dynamically on its
 * first use only (nothing here imports gpt-tokenizer statically, so importing `@sluice/core` never loads it).
 *
 * @internal
 */
import * as Cache from "effect/Cache"
import * as Effect from "effect/Effect"
import type { Estimate, Request } from "../Tokens.js"
import * as LongText from "./longText.js"
import * as ResponsesTokens from "./responses/tokens.js"

/** @internal */
export type Encoding = "o200k_base" | "cl100k_base"

/** @internal */
export const imageTokens = { low: 85, high: 765 } as const

/** @internal */
export const overhead = { perMessage: 3, perName: 1, replyPriming: 3, perTool: 8, toolsBase: 12 } as const

/** @internal */
export const encodingFor = (model: string | undefined): Encoding => {
  if (model === undefined) return "o200k_base"
  const name = model.startsWith("ft:") ? (model.split(":")[1] ?? model) : model
  if (/^(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|o\d)/.test(name)) return "o200k_base"
  if (/^(gpt-4|gpt-3\.5|gpt-35|text-embedding-|davinci-002|babbage-002)/.test(name)) return "cl100k_base"
  return "o200k_base"
}

/** @internal */
export const maxOutput = (body: unknown, fallback: number): number => {
  if (typeof body !== "object" || body === null) return fallback
  const record = body as Record<string, unknown>
  const value = record["max_completion_tokens"] ?? record["max_tokens"] ?? record["max_output_tokens"]
  const max = typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : fallback
  const n = record["n"]
  return typeof n === "number" && Number.isInteger(n) && n > 1 ? max * n : max
}

/** @internal */
export const producesOutput = (path: string): boolean =>
  !path.startsWith("/embeddings") && !path.startsWith("/moderations")

/** A synchronous string counter for one encoding. */
export type Counter = (text: string) => number

/** A loaded encoding: the tokenizer and its pre-tokenizer split pattern. */
interface Loaded {
  readonly tokenizer: LongText.Tokenizer
  readonly split: RegExp
}

const splitPatterns = () => import("gpt-tokenizer/encodingParams/constants")

const loaders: Record<Encoding, () => Promise<Loaded>> = {
  o200k_base: () =>
    Promise.all([import("gpt-tokenizer/encoding/o200k_base"), splitPatterns()]).then(([tokenizer, patterns]) => ({
      tokenizer,
      split: patterns.O200K_TOKEN_SPLIT_REGEX
    })),
  cl100k_base: () =>
    Promise.all([import("gpt-tokenizer/encoding/cl100k_base"), splitPatterns()]).then(([tokenizer, patterns]) => ({
      tokenizer,
      split: patterns.CL100K_TOKEN_SPLIT_REGEX
    }))
}

/**
 * Exact for ordinary text; a run without whitespace longer than a few hundred characters is counted in pieces
 * (linear time, never above its UTF-8 byte count): see `internal/longText.ts`.
 */
const counterOf =
  (loaded: Loaded): Counter =>
  (text) =>
    LongText.countNow(loaded.tokenizer, loaded.split, text)

/** The same count as an Effect that yields every ~64 K characters, so a huge string does not block interruption. */
const countYielding = (loaded: Loaded, text: string): Effect.Effect<number> =>
  Effect.suspend(() => {
    const steps = LongText.countSteps(loaded.tokenizer, loaded.split, text)
    const loop: Effect.Effect<number> = Effect.suspend(() => {
      const step = steps.next()
      return step.done === true ? Effect.succeed(step.value) : Effect.andThen(Effect.yieldNow, loop)
    })
    return loop
  })

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null

/** Counts one message `content`: a string, or an array of parts. */
const countContent = (count: Counter, content: unknown): number => {
  if (typeof content === "string") return count(content)
  if (!Array.isArray(content)) return 0
  let total = 0
  for (const part of content) {
    if (typeof part === "string") total += count(part)
    else if (isRecord(part)) {
      if (typeof part["text"] === "string") total += count(part["text"])
      else if (typeof part["refusal"] === "string") total += count(part["refusal"])
      else if (part["type"] === "image_url" || part["type"] === "input_image") {
        const image = part["image_url"]
        const detail = isRecord(image) ? image["detail"] : part["detail"]
        total += detail === "low" ? imageTokens.low : imageTokens.high
      } else if (part["type"] === "input_audio" || part["type"] === "file" || part["type"] === "input_file") {
        // Audio and files are billed by the server's own measure; count what text we can see.
        total += count(JSON.stringify(part))
      }
    }
  }
  return total
}

/** Counts a chat `messages` array with OpenAI's documented overheads (without reply priming). */
const countMessages = (count: Counter, messages: ReadonlyArray<unknown>): number => {
  let total = 0
  for (const message of messages) {
    total += overhead.perMessage
    if (!isRecord(message)) continue
    if (typeof message["role"] === "string") total += count(message["role"])
    total += countContent(count, message["content"])
    if (typeof message["name"] === "string") total += overhead.perName + count(message["name"])
    const toolCalls = message["tool_calls"]
    if (Array.isArray(toolCalls)) {
      for (const call of toolCalls) {
        const fn = isRecord(call) ? call["function"] : undefined
        if (isRecord(fn)) {
          if (typeof fn["name"] === "string") total += count(fn["name"])
          if (typeof fn["arguments"] === "string") total += count(fn["arguments"])
        }
      }
    }
    const functionCall = message["function_call"]
    if (isRecord(functionCall) && typeof functionCall["arguments"] === "string") {
      total += count(functionCall["arguments"])
    }
  }
  return total
}

/**
 * Tool definitions are rendered into the prompt by the server in a format it does not publish; counting their
 * JSON plus a small per-tool overhead over-estimates slightly, which is the safe side for limits and budgets.
 */
const countTools = (count: Counter, body: Record<string, unknown>): number => {
  const tools = Array.isArray(body["tools"]) ? body["tools"] : Array.isArray(body["functions"]) ? body["functions"] : []
  if (tools.length === 0) return 0
  let total = overhead.toolsBase
  for (const tool of tools) total += overhead.perTool + count(JSON.stringify(tool))
  return total
}

/** Embeddings `input`: a string, strings, a token array or token arrays. */
const countEmbeddingInput = (count: Counter, input: unknown): number => {
  if (typeof input === "string") return count(input)
  if (!Array.isArray(input)) return 0
  let total = 0
  for (const item of input) {
    if (typeof item === "string") total += count(item)
    else if (typeof item === "number") total += 1
    else if (Array.isArray(item)) total += item.length
  }
  return total
}

/** @internal */
export const countPrompt = (count: Counter, path: string, body: unknown): number => {
  if (!isRecord(body)) return 0
  if (Array.isArray(body["messages"])) {
    return countMessages(count, body["messages"]) + overhead.replyPriming + countTools(count, body)
  }
  if (path.startsWith("/embeddings")) return countEmbeddingInput(count, body["input"])
  if (body["prompt"] !== undefined) return countEmbeddingInput(count, body["prompt"])
  // Responses API: instructions, a string or items, tools and the text.format schema.
  if (path.startsWith("/responses") || body["input"] !== undefined) {
    return ResponsesTokens.countPrompt(count, body, (content) => countContent(count, content), overhead)
  }
  return 0
}

/**
 * UTF-8 bytes of a string, without encoding it: every byte-level BPE token covers at least one byte, so this is a
 * strict upper bound on the tokens of any byte-level BPE encoding (o200k_base, cl100k_base …).
 *
 * @internal
 */
export const utf8Bytes: Counter = LongText.utf8Bytes

/**
 * The server's own admission measure for the token limit, as reported: about one token per four characters.
 *
 * @internal
 */
export const quarterChars: Counter = (text) => Math.ceil(text.length / 4)

/** Options of the exact estimator (see `Tokens.Options`). @internal */
export interface ExactOptions {
  readonly defaultMaxOutputTokens: number
  readonly cacheCapacity: number
  readonly cacheMinLength: number
}

/**
 * The bound estimator (the default): the UTF-8 bytes of the prompt's text plus OpenAI's documented overheads, an
 * upper bound on the exact count for the budget, and the server's character rule for the rate limiter. Loads no
 * tokenizer; synchronous.
 *
 * @internal
 */
export const estimateBound = (request: Request, defaultMaxOutputTokens: number): Estimate => {
  const maxOutputTokens = producesOutput(request.path) ? maxOutput(request.body, defaultMaxOutputTokens) : 0
  if (!isRecord(request.body)) return { promptTokens: 0, maxOutputTokens, admissionPromptTokens: 0 }
  return {
    promptTokens: countPrompt(utf8Bytes, request.path, request.body),
    maxOutputTokens,
    admissionPromptTokens: countPrompt(quarterChars, request.path, request.body)
  }
}

/** The exact estimator's caches: the loaded encodings, and counts of long strings keyed by encoding and text. */
interface Caches {
  readonly encodings: Cache.Cache<Encoding, Loaded>
  readonly longCounts: Cache.Cache<string, number>
}

const makeCaches = (cacheCapacity: number) =>
  Effect.gen(function* () {
    const encodings = yield* Cache.make({
      capacity: 2,
      timeToLive: Number.POSITIVE_INFINITY,
      lookup: (encoding: Encoding) => Effect.promise(loaders[encoding])
    })
    const longCounts = yield* Cache.make({
      capacity: Math.max(1, cacheCapacity),
      timeToLive: Number.POSITIVE_INFINITY,
      lookup: (key: string) =>
        Effect.flatMap(Cache.get(encodings, key.slice(0, key.indexOf("\u0000")) as Encoding), (loaded) =>
          countYielding(loaded, key.slice(key.indexOf("\u0000") + 1))
        )
    })
    return { encodings, longCounts } satisfies Caches
  })

// The tokenizer is synchronous CPU work: the request is walked once with a counter that answers long strings
// from counts seeded out of the cache (a batch's shared system prompt is tokenized once per process).
const counterFor = (caches: Caches, options: ExactOptions, encoding: Encoding) =>
  Effect.map(Cache.get(caches.encodings, encoding), (loaded) => {
    const raw = counterOf(loaded)
    const known = new Map<string, number>()
    const counter: Counter = (text) => {
      if (options.cacheCapacity === 0 || text.length < options.cacheMinLength) return raw(text)
      const hit = known.get(text)
      if (hit !== undefined) return hit
      const value = raw(text)
      known.set(text, value)
      return value
    }
    return { counter, known, loaded }
  })

/** The exact estimate of one request. */
const estimateExact = (caches: Caches, options: ExactOptions) => (request: Request) =>
  Effect.gen(function* () {
    const { defaultMaxOutputTokens, cacheCapacity, cacheMinLength } = options
    const maxOutputTokens = producesOutput(request.path) ? maxOutput(request.body, defaultMaxOutputTokens) : 0
    if (!isRecord(request.body)) return { promptTokens: 0, maxOutputTokens }
    const encoding = encodingFor(request.model)
    const { counter, known, loaded } = yield* counterFor(caches, options, encoding)
    // Pre-seed counts of long strings already cached from earlier calls (a batch's shared system prompt);
    // huge ones not seen before are counted here, yielding, so the synchronous walk below stays short.
    const longs = collectLongStrings(request.body, cacheMinLength)
    for (const text of longs) {
      if (known.has(text)) continue
      const cached =
        cacheCapacity === 0 ? undefined : yield* Cache.getOption(caches.longCounts, `${encoding}\u0000${text}`)
      if (cached !== undefined && cached._tag === "Some") known.set(text, cached.value)
      else if (text.length >= LongText.yieldEvery) known.set(text, yield* countYielding(loaded, text))
    }
    const promptTokens = countPrompt((text) => known.get(text) ?? counter(text), request.path, request.body)
    if (cacheCapacity > 0) {
      for (const text of longs) {
        const value = known.get(text)
        if (value !== undefined) yield* Cache.set(caches.longCounts, `${encoding}\u0000${text}`, value)
      }
    }
    return { promptTokens, maxOutputTokens } as Estimate
  })

/**
 * The exact estimator: gpt-tokenizer with the model's encoding, loaded (dynamic import) on its first use.
 *
 * @internal
 */
export const makeExact = (options: ExactOptions) =>
  Effect.map(makeCaches(options.cacheCapacity), (caches) => ({
    count: (text: string, encoding: Encoding) =>
      text.length < options.cacheMinLength || options.cacheCapacity === 0
        ? Effect.flatMap(Cache.get(caches.encodings, encoding), (loaded) => countYielding(loaded, text))
        : Cache.get(caches.longCounts, `${encoding}\u0000${text}`),
    estimate: estimateExact(caches, options)
  }))

/** Long strings in message contents and inputs (the ones worth caching). */
const collectLongStrings = (body: Record<string, unknown>, minLength: number): ReadonlyArray<string> => {
  const out: Array<string> = []
  const visit = (value: unknown, depth: number): void => {
    if (depth > 4) return
    if (typeof value === "string") {
      if (value.length >= minLength) out.push(value)
    } else if (Array.isArray(value)) {
      for (const item of value) visit(item, depth + 1)
    } else if (isRecord(value)) {
      if (typeof value["content"] === "string" || Array.isArray(value["content"])) visit(value["content"], depth + 1)
      if (typeof value["text"] === "string") visit(value["text"], depth + 1)
    }
  }
  visit(body["messages"], 0)
  visit(body["input"], 0)
  visit(body["instructions"], 0)
  return out
}
