/**
 * Folds streaming chunks into one completion. Mutable on purpose: one instance per stream run.
 *
 * @internal
 */
import type { ChatCompletion, ChatCompletionChunk, ToolCall, Usage } from "./chunk.js"

interface ToolCallState {
  id: string
  name: string
  arguments: string
}

interface ChoiceState {
  role: string
  content: string | null
  refusal: string | null
  reasoning: string | null
  finishReason: string | null
  toolCalls: Map<number, ToolCallState>
  logprobs: { content: Array<unknown>; refusal: Array<unknown> } | null
}

const append = (current: string | null, piece: string | null | undefined): string | null =>
  piece === undefined || piece === null ? current : (current ?? "") + piece

/** @internal */
export class Accumulator {
  chunks = 0
  private id = ""
  private created: number | undefined
  private model = ""
  private systemFingerprint: string | null | undefined
  private serviceTier: string | null | undefined
  private usage: Usage | null | undefined
  private readonly choices = new Map<number, ChoiceState>()

  add(chunk: ChatCompletionChunk): void {
    this.chunks++
    if (this.id === "" && chunk.id !== "") this.id = chunk.id
    if (this.model === "" && chunk.model !== undefined) this.model = chunk.model
    if (this.created === undefined && chunk.created !== undefined) this.created = chunk.created
    if (chunk.system_fingerprint !== undefined && chunk.system_fingerprint !== null) {
      this.systemFingerprint = chunk.system_fingerprint
    }
    if (chunk.service_tier !== undefined && chunk.service_tier !== null) this.serviceTier = chunk.service_tier
    if (chunk.usage !== undefined && chunk.usage !== null) this.usage = chunk.usage
    for (const choice of chunk.choices) {
      let state = this.choices.get(choice.index)
      if (state === undefined) {
        state = {
          role: "assistant",
          content: null,
          refusal: null,
          reasoning: null,
          finishReason: null,
          toolCalls: new Map(),
          logprobs: null
        }
        this.choices.set(choice.index, state)
      }
      const delta = choice.delta
      if (delta.role !== undefined && delta.role !== null) state.role = delta.role
      state.content = append(state.content, delta.content)
      state.refusal = append(state.refusal, delta.refusal)
      state.reasoning = append(state.reasoning, delta.reasoning_content)
      if (choice.finish_reason !== null) state.finishReason = choice.finish_reason
      if (delta.tool_calls !== undefined && delta.tool_calls !== null) {
        for (const call of delta.tool_calls) {
          let callState = state.toolCalls.get(call.index)
          if (callState === undefined) {
            callState = { id: "", name: "", arguments: "" }
            state.toolCalls.set(call.index, callState)
          }
          if (call.id !== undefined && call.id !== null && call.id !== "") callState.id = call.id
          const fn = call.function
          if (fn !== undefined && fn !== null) {
            if (fn.name !== undefined && fn.name !== null) callState.name += fn.name
            if (fn.arguments !== undefined && fn.arguments !== null) callState.arguments += fn.arguments
          }
        }
      }
      mergeLogprobs(state, choice.logprobs)
    }
  }

  /** The content of choice 0 so far (what a truncated stream had delivered). */
  partialContent(): string {
    return this.choices.get(0)?.content ?? ""
  }

  result(): ChatCompletion {
    const choices = [...this.choices.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, state]) => {
        const toolCalls: Array<ToolCall> = [...state.toolCalls.entries()]
          .sort(([a], [b]) => a - b)
          .map(([, call]) => ({
            id: call.id,
            type: "function" as const,
            function: { name: call.name, arguments: call.arguments }
          }))
        return {
          index,
          message: {
            role: state.role,
            content: state.content,
            refusal: state.refusal,
            ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
            ...(state.reasoning !== null ? { reasoning_content: state.reasoning } : {})
          },
          finish_reason: state.finishReason,
          logprobs: state.logprobs
        }
      })
    return {
      id: this.id,
      object: "chat.completion",
      ...(this.created !== undefined ? { created: this.created } : {}),
      model: this.model,
      ...(this.systemFingerprint !== undefined ? { system_fingerprint: this.systemFingerprint } : {}),
      ...(this.serviceTier !== undefined ? { service_tier: this.serviceTier } : {}),
      choices,
      ...(this.usage !== undefined ? { usage: this.usage } : {})
    }
  }
}

const mergeLogprobs = (state: ChoiceState, logprobs: unknown): void => {
  if (typeof logprobs !== "object" || logprobs === null) return
  const { content, refusal } = logprobs as { content?: unknown; refusal?: unknown }
  if (state.logprobs === null) state.logprobs = { content: [], refusal: [] }
  if (Array.isArray(content)) state.logprobs.content.push(...content)
  if (Array.isArray(refusal)) state.logprobs.refusal.push(...refusal)
}
