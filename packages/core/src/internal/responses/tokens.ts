/**
 * The prompt of a Responses request as the estimator counts it: `instructions`, `input` (a string, or items:
 * messages, function calls and their outputs, reasoning summaries), the tools and the `text.format` schema, with
 * the same per-message and per-tool overheads as chat. Called from `Tokens.countPrompt`.
 *
 * @internal
 */

type Counter = (text: string) => number

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null

/** Per-message overhead, reply priming, per-tool overheads: `Tokens.overhead`, passed in to avoid a cycle. */
export interface Overhead {
  readonly perMessage: number
  readonly replyPriming: number
  readonly perTool: number
  readonly toolsBase: number
}

const countItem = (
  count: Counter,
  item: Record<string, unknown>,
  countContent: (content: unknown) => number
): number => {
  switch (item["type"]) {
    case "function_call":
      return count(String(item["name"] ?? "")) + count(String(item["arguments"] ?? ""))
    case "function_call_output":
      return typeof item["output"] === "string" ? count(item["output"]) : countContent(item["output"])
    case "reasoning": {
      // Reasoning given back is billed as input: its summary text (encrypted content is opaque, counted by size).
      const summary = Array.isArray(item["summary"]) ? item["summary"] : []
      const encrypted =
        typeof item["encrypted_content"] === "string" ? Math.ceil(item["encrypted_content"].length / 4) : 0
      return countContent(summary) + encrypted
    }
    case "item_reference":
      return 0
    default:
      return (typeof item["role"] === "string" ? count(item["role"]) : 0) + countContent(item["content"])
  }
}

/**
 * Prompt tokens of a Responses body (`input` present). `countContent` counts a message `content` (text and
 * parts) as chat does.
 *
 * @internal
 */
export const countPrompt = (
  count: Counter,
  body: Record<string, unknown>,
  countContent: (content: unknown) => number,
  overhead: Overhead
): number => {
  let total = overhead.replyPriming
  if (typeof body["instructions"] === "string") total += overhead.perMessage + count(body["instructions"])
  const input = body["input"]
  if (typeof input === "string") total += overhead.perMessage + count(input)
  else if (Array.isArray(input)) {
    for (const item of input) if (isRecord(item)) total += overhead.perMessage + countItem(count, item, countContent)
  }
  const tools = Array.isArray(body["tools"]) ? body["tools"] : []
  if (tools.length > 0) {
    total += overhead.toolsBase
    for (const tool of tools) total += overhead.perTool + count(JSON.stringify(tool))
  }
  const text = body["text"]
  const format = isRecord(text) ? text["format"] : undefined
  if (isRecord(format) && format["type"] === "json_schema") total += count(JSON.stringify(format["schema"] ?? {}))
  return total
}
