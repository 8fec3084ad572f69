/** The semantic SSE events of a streamed Response, in order, and their framing. */
import { streamError, type Json } from "../errors.js"
import { itemJson, partJson, responseJson } from "./body.js"
import type { OutItem, Plan } from "./plan.js"

/** One event before framing; `delta` marks the events that carry generated tokens (latency applies to them). */
export interface Event {
  readonly type: string
  readonly data: Json
  readonly delta: boolean
}

const ev = (type: string, data: Json, delta = false): Event => ({ type, data, delta })

/** Splits tokens into deltas of `pieces()` tokens each. */
const deltas = (tokens: ReadonlyArray<string>, pieces: () => number): Array<string> => {
  const out: Array<string> = []
  for (let i = 0; i < tokens.length; ) {
    const n = Math.max(1, pieces())
    out.push(tokens.slice(i, i + n).join(""))
    i += n
  }
  return out
}

const reasoningEvents = (item: Extract<OutItem, { type: "reasoning" }>, at: Json, pieces: () => number) => {
  if (item.summary === undefined) return []
  const base = { item_id: item.id, ...at, summary_index: 0 }
  const text = item.summary.join("")
  return [
    ev("response.reasoning_summary_part.added", { ...base, part: { type: "summary_text", text: "" } }),
    ...deltas(item.summary, pieces).map((delta) =>
      ev("response.reasoning_summary_text.delta", { ...base, delta }, true)
    ),
    ev("response.reasoning_summary_text.done", { ...base, text }),
    ev("response.reasoning_summary_part.done", { ...base, part: { type: "summary_text", text } })
  ]
}

const messageEvents = (item: Extract<OutItem, { type: "message" }>, at: Json, pieces: () => number) => {
  const base = { item_id: item.id, ...at, content_index: 0 }
  const refusal = item.part === "refusal"
  const text = item.tokens.join("")
  const chunks = deltas(item.tokens, pieces)
  return [
    ev("response.content_part.added", { ...base, part: partJson(item, false) }),
    ...chunks.map((delta) =>
      refusal
        ? ev("response.refusal.delta", { ...base, delta }, true)
        : ev("response.output_text.delta", { ...base, delta, logprobs: [] }, true)
    ),
    refusal
      ? ev("response.refusal.done", { ...base, refusal: text })
      : ev("response.output_text.done", { ...base, text, logprobs: [] }),
    ev("response.content_part.done", { ...base, part: partJson(item, true) })
  ]
}

const callEvents = (item: Extract<OutItem, { type: "function_call" }>, at: Json, pieces: () => number) => {
  const base = { item_id: item.id, ...at }
  return [
    ...deltas(item.tokens, pieces).map((delta) =>
      ev("response.function_call_arguments.delta", { ...base, delta }, true)
    ),
    ev("response.function_call_arguments.done", { ...base, name: item.name, arguments: item.tokens.join("") })
  ]
}

const itemEvents = (item: OutItem, index: number, pieces: () => number): Array<Event> => {
  const at = { output_index: index }
  const inner =
    item.type === "reasoning"
      ? reasoningEvents(item, at, pieces)
      : item.type === "message"
        ? messageEvents(item, at, pieces)
        : callEvents(item, at, pieces)
  return [
    ev("response.output_item.added", { ...at, item: itemJson(item, false) }),
    ...inner,
    ev("response.output_item.done", { ...at, item: itemJson(item, true) })
  ]
}

/** Every event of the response, from `response.created` to `response.completed`/`response.incomplete`. */
export const responseEvents = (plan: Plan, pieces: () => number, completedAt: number): Array<Event> => {
  const first = plan.request.background ? "queued" : "in_progress"
  const out: Array<Event> = [
    ev("response.created", { response: responseJson(plan, first) }),
    ev("response.in_progress", { response: responseJson(plan, "in_progress") })
  ]
  plan.items.forEach((item, i) => {
    for (const e of itemEvents(item, i, pieces)) out.push(e)
  })
  out.push(ev(`response.${plan.outcome}`, { response: responseJson(plan, plan.outcome, { completedAt }) }))
  return out
}

/** The `error` event of the `streamError` fault. */
export const errorEvent = (code: "server_error" | "insufficient_quota" | "rate_limit_exceeded"): Event => {
  const e = streamError(code)
  return ev("error", { code: e.code ?? code, message: e.message, param: null })
}

export const FAILED_ERROR = { code: "server_error", message: "The server had an error while processing your request." }

/** `response.failed` (the `responseFailed` fault), carrying the items done so far. */
export const failedEvent = (plan: Plan, output: ReadonlyArray<Json>): Event =>
  ev("response.failed", { response: responseJson(plan, "failed", { output, error: FAILED_ERROR }) })

/** An SSE frame: `event:` and `data:` lines; the data without `sequence_number`/`output_index` when asked. */
export const frame = (e: Event, sequence: number, eol: string, indexes: boolean): string => {
  let data: Json
  if (indexes) data = { type: e.type, ...e.data, sequence_number: sequence }
  else {
    const { output_index: _, ...rest } = e.data
    data = { type: e.type, ...rest }
  }
  return `event: ${e.type}${eol}data: ${JSON.stringify(data)}${eol}${eol}`
}
