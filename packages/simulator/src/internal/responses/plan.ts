/** Plans a Response: its output items, status, usage and the conversation state it leaves for a follow-up. */
import { answer, type Markers, markersOf, noMarkers } from "../answer.js"
import { answerTokens, estimateTokens, fnv1a, newId, tokenize } from "../text.js"
import type { Effort, Item, Request } from "./request.js"

/** A conversation so far: the hash of its items and their tokens (what `previous_response_id` carries). */
export interface Context {
  readonly hash: number
  readonly tokens: number
}

export const emptyContext: Context = { hash: 0x811c9dc5, tokens: 3 }

/** One output item, with its text as pseudo-tokens (so it can be cut and streamed). */
export type OutItem =
  | { readonly type: "reasoning"; readonly id: string; readonly summary: ReadonlyArray<string> | undefined }
  | {
      readonly type: "message"
      readonly id: string
      readonly part: "output_text" | "refusal"
      readonly tokens: ReadonlyArray<string>
      readonly complete: boolean
    }
  | {
      readonly type: "function_call"
      readonly id: string
      readonly callId: string
      readonly name: string
      readonly tokens: ReadonlyArray<string>
      readonly complete: boolean
    }

export interface Usage {
  readonly input: number
  readonly cached: number
  readonly output: number
  readonly reasoning: number
}

export interface Plan {
  readonly id: string
  readonly createdAt: number
  readonly request: Request
  readonly items: ReadonlyArray<OutItem>
  readonly outcome: "completed" | "incomplete"
  readonly incompleteReason: "max_output_tokens" | "content_filter" | undefined
  readonly usage: Usage
  /** The conversation after this response, for `previous_response_id`. */
  readonly context: Context
  /** Tokens charged at admission: the input + `max_output_tokens` (or the default). */
  readonly admissionTokens: number
}

interface Folded {
  readonly hash: number
  readonly tokens: number
  readonly markers: Markers
  readonly filter: boolean
  readonly toolOutput: string | undefined
}

/** Folds input items into the conversation: hash, token estimate (as chat: 3 per item + ceil(len / 4)), markers. */
const fold = (context: Context, items: ReadonlyArray<Item>): Folded => {
  let hash = context.hash
  let tokens = context.tokens
  let markers = noMarkers
  let filter = false
  for (const item of items) {
    if (item.kind === "message") {
      hash = fnv1a(item.text, fnv1a(item.role, hash))
      tokens += 3 + estimateTokens(item.text)
      if (item.role === "user") markers = markersOf(item.text)
      if (item.text.includes("[[content_filter]]")) filter = true
    } else if (item.kind === "function_call") {
      hash = fnv1a(item.arguments, fnv1a(item.name, hash))
      tokens += 3 + estimateTokens(item.name) + estimateTokens(item.arguments)
    } else if (item.kind === "function_call_output") {
      hash = fnv1a(item.output, fnv1a("tool", hash))
      tokens += 3 + estimateTokens(item.output)
    } else tokens += estimateTokens(item.text)
  }
  const last = items.at(-1)
  return { hash, tokens, markers, filter, toolOutput: last?.kind === "function_call_output" ? last.output : undefined }
}

const EFFORT_TOKENS: Record<Effort, number> = { none: 0, minimal: 8, low: 32, medium: 96, high: 256, xhigh: 512 }

/** Cached input: the previous response's context, in whole 128-token blocks once it reaches 1,024 tokens. */
const cachedOf = (previous: Context | undefined): number =>
  previous === undefined || previous.tokens < 1024 ? 0 : Math.floor(previous.tokens / 128) * 128

/** The visible output items of the answer, cut to `budget` tokens (undefined: no cap). */
const visibleItems = (req: Request, folded: Folded, hash: number, budget: number | undefined) => {
  const a = answer({
    hash,
    markers: folded.markers,
    toolOutput: folded.toolOutput,
    tools: req.tools,
    toolChoice: req.toolChoice,
    parallel: req.body["parallel_tool_calls"] !== false,
    format: req.format
  })
  let left = budget ?? Number.POSITIVE_INFINITY
  let reason: Plan["incompleteReason"]
  const items: Array<OutItem> = []
  if (a.kind === "calls") {
    for (const call of a.calls) {
      if (left <= 0) break
      const all = tokenize(call.arguments)
      const tokens = all.slice(0, left)
      left -= tokens.length
      if (tokens.length < all.length) reason = "max_output_tokens"
      const complete = tokens.length === all.length
      items.push({
        type: "function_call",
        id: newId("fc", "_"),
        callId: newId("call", "_"),
        name: call.name,
        tokens,
        complete
      })
    }
    return { items, reason }
  }
  let tokens = a.tokens
  if (folded.filter && a.kind === "text") {
    tokens = tokens.slice(0, Math.ceil(tokens.length / 2))
    reason = "content_filter"
  }
  if (tokens.length > left) {
    tokens = tokens.slice(0, left)
    reason = "max_output_tokens"
  }
  const part = a.kind === "text" ? "output_text" : "refusal"
  items.push({ type: "message", id: newId("msg", "_"), part, tokens, complete: reason === undefined })
  return { items, reason }
}

const visibleTokens = (items: ReadonlyArray<OutItem>): number => {
  let n = 0
  for (const item of items) if (item.type !== "reasoning") n += item.tokens.length
  return n
}

/** Plans the response to `req` in the conversation `previous` (undefined: a new one). */
export const planResponse = (
  req: Request,
  previous: Context | undefined,
  createdAt: number,
  defaultMaxTokens: number
): Plan => {
  const folded = fold(previous ?? emptyContext, req.items)
  const hash = req.instructions === null ? folded.hash : fnv1a(req.instructions, fnv1a("developer", folded.hash))
  const input = folded.tokens + (req.instructions === null ? 0 : 3 + estimateTokens(req.instructions))
  const max = req.maxOutputTokens
  const wanted = req.effort === undefined ? 0 : EFFORT_TOKENS[req.effort] + (hash % 32)
  const reasoning = max === undefined ? wanted : Math.min(wanted, max)
  const items: Array<OutItem> = []
  if (req.effort !== undefined) {
    const summary = req.summary ? answerTokens((hash ^ 0x5bd1e995) >>> 0) : undefined
    items.push({ type: "reasoning", id: newId("rs", "_"), summary })
  }
  let reason: Plan["incompleteReason"] = max !== undefined && reasoning >= max ? "max_output_tokens" : undefined
  if (reason === undefined) {
    const visible = visibleItems(req, folded, hash, max === undefined ? undefined : max - reasoning)
    items.push(...visible.items)
    reason = visible.reason
  }
  const output = reasoning + visibleTokens(items)
  return {
    id: newId("resp", "_"),
    createdAt,
    request: req,
    items,
    outcome: reason === undefined ? "completed" : "incomplete",
    incompleteReason: reason,
    usage: { input, cached: Math.min(input, cachedOf(previous)), output, reasoning },
    context: { hash: foldOutput(folded.hash, items), tokens: folded.tokens + visibleTokens(items) },
    admissionTokens: input + (max ?? defaultMaxTokens)
  }
}

/** The conversation hash after the output, as if the output items were input items of the next turn. */
const foldOutput = (hash: number, items: ReadonlyArray<OutItem>): number => {
  let h = hash
  for (const item of items) {
    if (item.type === "message") h = fnv1a(item.tokens.join(""), fnv1a("assistant", h))
    else if (item.type === "function_call") h = fnv1a(item.tokens.join(""), fnv1a(item.name, h))
  }
  return h
}
