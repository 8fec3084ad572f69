/**
 * Tools: a function the model may call, defined by an Effect `Schema` for its parameters and an Effect handler,
 * and the loop that runs them on either API. The parameters become a strict function tool (the JSON Schema of
 * structured outputs, so the model's arguments match it); the arguments are decoded into the Schema's type before
 * the handler sees them. Every turn of the loop is an ordinary gated call: budget, limiter, breaker, retries and
 * telemetry apply to each.
 *
 * @since 0.3.0
 */
import type * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import type * as ChatCompletions from "./ChatCompletions.js"
import type { InvalidRequest, OpenAiError } from "./Errors.js"
import * as internal from "./internal/tools/tools.js"
import type * as OpenAi from "./OpenAi.js"
import type * as Responses from "./Responses.js"
import type * as Usage from "./Usage.js"

/**
 * A tool: name, description, parameters Schema and handler. The handler's result is sent to the model as text
 * (a string as it is, anything else as JSON).
 *
 * @since 0.3.0
 * @category models
 */
export interface Tool<A, E = never, R = never> {
  readonly name: string
  readonly description: string | undefined
  readonly parameters: Schema.ConstraintCodec<A, unknown>
  readonly handler: (args: A) => Effect.Effect<unknown, E, R>
}

/**
 * Any tool, for lists of tools with different parameter types.
 *
 * @since 0.3.0
 * @category models
 */
// biome-ignore lint/suspicious/noExplicitAny: a list of tools holds every parameter type
export type Any = Tool<any, any, any>

/**
 * Defines a tool. Its name is checked, and its parameters are converted to strict mode's JSON Schema, when it is
 * first used (before anything is sent): a name or Schema the API cannot take fails the loop with
 * `InvalidRequest` naming the tool and the field.
 *
 * @since 0.3.0
 * @category constructors
 */
export const make: <A, I, E = never, R = never>(
  name: string,
  options: {
    readonly description?: string | undefined
    readonly parameters: Schema.ConstraintCodec<A, I>
    readonly handler: (args: A) => Effect.Effect<unknown, E, R>
  }
) => Tool<A, E, R> = internal.make

/**
 * Type-level helpers of {@link Tool}.
 *
 * @since 0.3.0
 * @category models
 */
export declare namespace Tool {
  /** The error type of a tool's handler. */
  export type Error<T> = T extends Tool<infer _A, infer E, infer _R> ? E : never
  /** The services a tool's handler needs. */
  export type Services<T> = T extends Tool<infer _A, infer _E, infer R> ? R : never
}

/**
 * The tools as Chat Completions `tools` (strict function tools).
 *
 * @since 0.3.0
 * @category wire
 */
export const chatTools: (tools: ReadonlyArray<Any>) => Effect.Effect<Array<ChatCompletions.Tool>, InvalidRequest> =
  internal.chatTools

/**
 * The tools as Responses `tools` (strict function tools).
 *
 * @since 0.3.0
 * @category wire
 */
export const responsesTools: (
  tools: ReadonlyArray<Any>
) => Effect.Effect<Array<Responses.FunctionTool>, InvalidRequest> = internal.responsesTools

/**
 * Options of the tool loops.
 *
 * @since 0.3.0
 * @category models
 */
export interface LoopOptions extends OpenAi.CallOptions {
  /** Model calls at most (each turn is one call). Default 8; the last turn must answer without tools. */
  readonly maxTurns?: number | undefined
  /**
   * What a failing tool does. `"feed"` (default): the failure — the handler's error, arguments that do not decode,
   * an unknown tool — goes back to the model as the call's output, `{"error": "…"}`, and the loop goes on.
   * `"fail"`: the loop fails with the handler's own error, or `StructuredOutputInvalid` for bad arguments.
   */
  readonly onToolError?: "feed" | "fail" | undefined
  /** Calls of one turn run at most this many at once. Default 1 (in order). */
  readonly concurrency?: number | undefined
  /**
   * After a turn that called tools, send `tool_choice: "auto"` instead of a forcing one (`"required"`, a named
   * function), so that a forced first call cannot repeat until `maxTurns` (as OpenAI's Agents SDK does).
   * Default `true`.
   */
  readonly resetToolChoice?: boolean | undefined
}

/**
 * What a tool loop ended with.
 *
 * @since 0.3.0
 * @category models
 */
export interface LoopResult<Req, Res> {
  /** The last reply: the one that called no tool. */
  readonly response: OpenAi.Response<Res>
  /** The conversation as last sent (every tool call and output in it). */
  readonly request: Req
  readonly turns: number
  /** Usage summed over every turn. */
  readonly usage: Usage.Usage
}

/**
 * A tool loop over one API: the request, the tools and the options in; the last reply, the conversation, the turns
 * and the summed usage out.
 *
 * @since 0.3.0
 * @category models
 */
export type Loop<Req, Res> = <T extends Any>(
  request: Req,
  tools: ReadonlyArray<T>,
  options?: LoopOptions
) => Effect.Effect<LoopResult<Req, Res>, OpenAiError | Tool.Error<T>, OpenAi.OpenAi | Tool.Services<T>>

/**
 * Runs a chat completion with `tools` until the model answers without calling one. The request's own `tools` are
 * kept after these.
 *
 * @since 0.3.0
 * @category loops
 */
export const chat: Loop<ChatCompletions.Request, ChatCompletions.ChatCompletion> = internal.chat

/**
 * Runs a Responses call with `tools` until the model answers without calling one. Each turn sends the whole
 * conversation (input, the model's output items, the `function_call_output`s), so it works with `store: false` and
 * on stateless servers. The request's own `tools` are kept after these.
 *
 * @since 0.3.0
 * @category loops
 */
export const responses: Loop<Responses.Request, Responses.Response> = internal.responses
