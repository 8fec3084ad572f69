/**
 * What the model answers, for chat completions and responses alike: text, a refusal, tool calls, or a JSON value
 * for a schema, decided from the conversation's hash and its markers.
 */
import { valueFor } from "./schema.js"
import { answerTokens, fnv1a, tokenize } from "./text.js"

/** A function tool the request offers. */
export interface Tool {
  readonly name: string
  readonly parameters: unknown
}

/** How the answer is formatted: plain text, a JSON value for a schema, or any JSON object. */
export type Format =
  | { readonly type: "text" }
  | { readonly type: "json_schema"; readonly schema: unknown }
  | { readonly type: "json_object" }

/** `"auto"` (call on a marker), `"none"` (never call), `"required"` (always call), or one named function. */
export type ToolChoice = "auto" | "none" | "required" | { readonly name: string }

/** Markers found in the latest user turn. */
export interface Markers {
  /** `[tool:NAME]`, in order. */
  readonly tools: ReadonlyArray<string>
  /** `[tools]` or the legacy `[[tool_call]]`: call the chosen (or first) tool. */
  readonly anyTool: boolean
  /** `[refuse]`. */
  readonly refuse: boolean
  /** `[[content_filter]]`. */
  readonly filter: boolean
}

export const noMarkers: Markers = { tools: [], anyTool: false, refuse: false, filter: false }

const TOOL_MARKER = /\[tool:([A-Za-z0-9_.-]+)\]/g

/** The markers in a text (cheap when it has no `[`). */
export const markersOf = (text: string): Markers => {
  if (!text.includes("[")) return noMarkers
  const tools: Array<string> = []
  for (const m of text.matchAll(TOOL_MARKER)) tools.push(m[1]!)
  return {
    tools,
    anyTool: text.includes("[tools]") || text.includes("[[tool_call]]"),
    refuse: text.includes("[refuse]"),
    filter: text.includes("[[content_filter]]")
  }
}

/** Everything the answer depends on. */
export interface Question {
  readonly hash: number
  readonly markers: Markers
  /** The output of the tool call the conversation ends with, if it ends with one. */
  readonly toolOutput: string | undefined
  readonly tools: ReadonlyArray<Tool>
  readonly toolChoice: ToolChoice
  /** `parallel_tool_calls` (default true): false keeps only the first call. */
  readonly parallel: boolean
  readonly format: Format
}

/** One function call: its name and its JSON arguments (valid for the tool's parameters). */
export interface Call {
  readonly name: string
  readonly arguments: string
}

/** The answer: exactly one of text (as pseudo-tokens), a refusal, or calls. */
export type Answer =
  | { readonly kind: "text"; readonly tokens: ReadonlyArray<string> }
  | { readonly kind: "refusal"; readonly tokens: ReadonlyArray<string> }
  | { readonly kind: "calls"; readonly calls: ReadonlyArray<Call> }

export const REFUSAL = "I'm sorry, but I can't help with that request."

const argumentsFor = (tool: Tool, hash: number): string =>
  JSON.stringify(valueFor(tool.parameters ?? { type: "object", properties: {} }, fnv1a(tool.name, hash)))

/** The tools to call, or none. */
const callsFor = (q: Question): ReadonlyArray<Tool> => {
  if (q.tools.length === 0 || q.toolChoice === "none" || q.toolOutput !== undefined) return []
  const named = q.markers.tools.map((n) => q.tools.find((t) => t.name === n)).filter((t) => t !== undefined)
  if (named.length > 0) return q.parallel ? named : named.slice(0, 1)
  const choice = q.toolChoice
  const chosen = typeof choice === "object" ? q.tools.find((t) => t.name === choice.name) : undefined
  if (q.markers.anyTool || q.toolChoice === "required" || chosen !== undefined) return [chosen ?? q.tools[0]!]
  return []
}

const textFor = (q: Question): ReadonlyArray<string> => {
  if (q.format.type === "json_schema") return tokenize(JSON.stringify(valueFor(q.format.schema, q.hash)))
  const sentences = answerTokens(q.hash)
  if (q.format.type === "json_object") return tokenize(JSON.stringify({ answer: sentences.join("") }))
  if (q.toolOutput === undefined) return sentences
  const output = q.toolOutput.length > 200 ? `${q.toolOutput.slice(0, 200)}…` : q.toolOutput
  return [...tokenize(`The tool returned: ${output}. `), ...sentences]
}

/** Decides the answer: a refusal on `[refuse]`, calls on a marker (or a forcing tool_choice), else text. */
export const answer = (q: Question): Answer => {
  if (q.markers.refuse && q.toolOutput === undefined) return { kind: "refusal", tokens: tokenize(REFUSAL) }
  const tools = callsFor(q)
  if (tools.length > 0) {
    return { kind: "calls", calls: tools.map((t, i) => ({ name: t.name, arguments: argumentsFor(t, q.hash + i) })) }
  }
  return { kind: "text", tokens: textFor(q) }
}
