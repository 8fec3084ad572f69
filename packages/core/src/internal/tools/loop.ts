/**
 * The tool loop, the same for both APIs: send, run the function calls the reply asks for, append their outputs,
 * send again, until a reply calls no tool or `maxTurns` is reached. Each turn is an ordinary client call (every
 * gate, the budget included). The API-specific parts (how to send, where the calls are, how to append outputs)
 * come from `Api`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { type OpenAiError, StructuredOutputInvalid, ToolLoopExceeded } from "../../Errors.js"
import type * as OpenAi from "../../OpenAi.js"
import * as Usage from "../../Usage.js"
import * as Decode from "../structuredOutput/decode.js"
import type { Strict } from "../structuredOutput/strict.js"

/** A function call the model made. */
export interface Call {
  readonly id: string
  readonly name: string
  readonly arguments: string
}

/** What the loop knows of a tool: its name, its strict argument codec and its handler. */
export interface Runnable<E, R> {
  readonly name: string
  readonly strict: Strict<unknown>
  readonly handler: (args: unknown) => Effect.Effect<unknown, E, R>
}

/** The API-specific steps. */
export interface Api<Req, Res, R> {
  readonly send: (request: Req) => Effect.Effect<OpenAi.Response<Res>, OpenAiError, R>
  readonly calls: (response: Res) => ReadonlyArray<Call>
  readonly append: (
    request: Req,
    response: Res,
    outputs: ReadonlyArray<{ readonly call: Call; readonly output: string }>
  ) => Req
}

export interface Options {
  readonly maxTurns: number
  readonly onToolError: "feed" | "fail"
  readonly concurrency: number
}

export interface Result<Req, Res> {
  readonly response: OpenAi.Response<Res>
  readonly request: Req
  readonly turns: number
  readonly usage: Usage.Usage
}

const serialize = (value: unknown): string => (typeof value === "string" ? value : (JSON.stringify(value) ?? "null"))

const feedError = (message: string) => JSON.stringify({ error: message })

const messageOf = (error: unknown): string =>
  typeof error === "object" && error !== null && typeof (error as { message?: unknown }).message === "string"
    ? (error as { message: string }).message
    : String(error)

/** One call's output: the handler's result, or under "feed" the failure as `{"error": …}` for the model to read. */
const runCall = <E, R>(
  tools: ReadonlyMap<string, Runnable<E, R>>,
  call: Call,
  options: Options,
  requestId: string | undefined
): Effect.Effect<string, E | StructuredOutputInvalid, R> => {
  const tool = tools.get(call.name)
  if (tool === undefined) {
    const message = `the model called ${call.name}, which is not one of the tools (${[...tools.keys()].join(", ")})`
    return options.onToolError === "feed"
      ? Effect.succeed(feedError(message))
      : Effect.fail(
          new StructuredOutputInvalid({
            name: call.name,
            message,
            text: call.arguments,
            ...(requestId === undefined ? {} : { requestId })
          })
        )
  }
  const run = Effect.flatMap(
    Decode.decodeText({ name: tool.name, strict: tool.strict }, call.arguments, requestId),
    (args) => Effect.map(tool.handler(args), serialize)
  )
  return options.onToolError === "feed"
    ? Effect.catch(run, (error) => Effect.succeed(feedError(messageOf(error))))
    : run
}

const add = (a: Usage.Usage, b: Usage.Usage | undefined): Usage.Usage =>
  b === undefined
    ? a
    : {
        promptTokens: a.promptTokens + b.promptTokens,
        completionTokens: a.completionTokens + b.completionTokens,
        cachedPromptTokens: a.cachedPromptTokens + b.cachedPromptTokens
      }

/** @internal */
export const run = <Req, Res, E, R, RA>(
  api: Api<Req, Res, RA>,
  first: Req,
  tools: ReadonlyArray<Runnable<E, R>>,
  options: Options
): Effect.Effect<Result<Req, Res>, OpenAiError | E, R | RA> =>
  Effect.gen(function* () {
    const byName = new Map(tools.map((tool) => [tool.name, tool]))
    let request = first
    let usage: Usage.Usage = { promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0 }
    for (let turn = 1; ; turn++) {
      const response = yield* api.send(request)
      usage = add(usage, Usage.fromBody(response.body))
      const calls = api.calls(response.body)
      if (calls.length === 0) return { response, request, turns: turn, usage }
      if (turn >= options.maxTurns) {
        return yield* new ToolLoopExceeded({ maxTurns: options.maxTurns, pending: calls.map((call) => call.name) })
      }
      const outputs = yield* Effect.forEach(
        calls,
        (call) => Effect.map(runCall(byName, call, options, response.requestId), (output) => ({ call, output })),
        { concurrency: options.concurrency }
      )
      request = api.append(request, response.body, outputs)
    }
  })
