/** The Response object and its output items as JSON, in any state of their life. */
import type { Json } from "../errors.js"
import type { OutItem, Plan } from "./plan.js"

export type Status = "queued" | "in_progress" | "completed" | "incomplete" | "failed" | "cancelled"

const text = (tokens: ReadonlyArray<string>): string => tokens.join("")

/** An output item when done (`final`), or as first announced (empty). */
export const itemJson = (item: OutItem, final: boolean): Json => {
  switch (item.type) {
    case "reasoning":
      return {
        id: item.id,
        type: "reasoning",
        summary: final && item.summary !== undefined ? [{ type: "summary_text", text: text(item.summary) }] : []
      }
    case "message":
      return {
        id: item.id,
        type: "message",
        status: final ? (item.complete ? "completed" : "incomplete") : "in_progress",
        role: "assistant",
        content: final ? [partJson(item, true)] : []
      }
    case "function_call":
      return {
        id: item.id,
        type: "function_call",
        status: final ? (item.complete ? "completed" : "incomplete") : "in_progress",
        arguments: final ? text(item.tokens) : "",
        call_id: item.callId,
        name: item.name
      }
  }
}

/** A message's content part, empty or complete. */
export const partJson = (item: Extract<OutItem, { type: "message" }>, final: boolean): Json =>
  item.part === "refusal"
    ? { type: "refusal", refusal: final ? text(item.tokens) : "" }
    : { type: "output_text", text: final ? text(item.tokens) : "", annotations: [], logprobs: [] }

const usageJson = (plan: Plan): Json => ({
  input_tokens: plan.usage.input,
  input_tokens_details: { cached_tokens: plan.usage.cached, cache_write_tokens: 0 },
  output_tokens: plan.usage.output,
  output_tokens_details: { reasoning_tokens: plan.usage.reasoning },
  total_tokens: plan.usage.input + plan.usage.output
})

const echo = (plan: Plan) => {
  const body = plan.request.body
  const req = plan.request
  return {
    instructions: req.instructions,
    max_output_tokens: req.maxOutputTokens ?? null,
    max_tool_calls: body["max_tool_calls"] ?? null,
    model: req.model,
    parallel_tool_calls: body["parallel_tool_calls"] ?? true,
    previous_response_id: req.previousResponseId ?? null,
    reasoning: {
      effort: req.effort ?? null,
      summary: req.summary ? ((body["reasoning"] as Json)["summary"] ?? "auto") : null
    },
    service_tier: "default",
    store: req.store,
    temperature: body["temperature"] ?? 1,
    text: { format: (body["text"] as Json | undefined)?.["format"] ?? { type: "text" }, verbosity: "medium" },
    tool_choice: body["tool_choice"] ?? "auto",
    tools: body["tools"] ?? [],
    top_p: body["top_p"] ?? 1,
    truncation: body["truncation"] ?? "disabled",
    ...(typeof body["user"] === "string" ? { user: body["user"] } : {}),
    metadata: body["metadata"] ?? {}
  }
}

/**
 * The Response object. `output` is every item when the response is done, else the items done so far; usage only
 * once it has finished (completed or incomplete).
 */
export const responseJson = (
  plan: Plan,
  status: Status,
  options: {
    readonly output?: ReadonlyArray<Json>
    readonly error?: { readonly code: string; readonly message: string }
    readonly completedAt?: number
  } = {}
): Json => {
  const finished = status === "completed" || status === "incomplete"
  return {
    id: plan.id,
    object: "response",
    created_at: plan.createdAt,
    status,
    background: plan.request.background,
    completed_at: status === "completed" ? (options.completedAt ?? plan.createdAt) : null,
    error: options.error ?? null,
    incomplete_details:
      status === "incomplete" && plan.incompleteReason !== undefined ? { reason: plan.incompleteReason } : null,
    output: options.output ?? (finished ? plan.items.map((i) => itemJson(i, true)) : []),
    ...echo(plan),
    usage: finished ? usageJson(plan) : null
  }
}
