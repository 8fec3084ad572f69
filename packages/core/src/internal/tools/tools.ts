/**
 * The bodies of the public `Tools` module: checking and converting the tools (names, strict parameters), the
 * loop options, and the two loops, which differ only in how a turn is sent and read (`Api`).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type * as Schema from "effect/Schema"
import type * as ChatCompletions from "../../ChatCompletions.js"
import { InvalidRequest, type OpenAiError } from "../../Errors.js"
import * as OpenAi from "../../OpenAi.js"
import type * as Responses from "../../Responses.js"
import type { Any, LoopOptions, LoopResult, Tool } from "../../Tools.js"
import * as Names from "../names.js"
import * as Strict from "../structuredOutput/strict.js"
import * as Apis from "./apis.js"
import * as Loop from "./loop.js"

/** @internal */
export const make = <A, I, E = never, R = never>(
  name: string,
  options: {
    readonly description?: string | undefined
    readonly parameters: Schema.ConstraintCodec<A, I>
    readonly handler: (args: A) => Effect.Effect<unknown, E, R>
  }
): Tool<A, E, R> => ({
  name,
  description: options.description,
  // The encoded side is only ever read as JSON Schema (Strict.toStrict), never typed: forget it.
  parameters: options.parameters as unknown as Schema.ConstraintCodec<A, unknown>,
  handler: options.handler
})

interface Prepared<E, R> extends Loop.Runnable<E, R> {
  readonly description: string | undefined
}

const prepare = <T extends Any>(
  tools: ReadonlyArray<T>
): Effect.Effect<ReadonlyArray<Prepared<Tool.Error<T>, Tool.Services<T>>>, InvalidRequest> =>
  Effect.forEach(tools, (tool, index) => {
    if (!Names.namePattern.test(tool.name)) {
      return Effect.fail(
        new InvalidRequest({
          message: `tool ${JSON.stringify(tool.name)}: a name is 1-64 characters of a-z, A-Z, 0-9, _ and -`,
          path: `tools[${index}].name`
        })
      )
    }
    if (tools.findIndex((other) => other.name === tool.name) !== index) {
      return Effect.fail(
        new InvalidRequest({ message: `two tools are named ${tool.name}`, path: `tools[${index}].name` })
      )
    }
    const strict = Strict.toStrict(tool.parameters, `tool ${tool.name} parameters`)
    if (Result.isFailure(strict)) return Effect.fail(strict.failure)
    return Effect.succeed({
      name: tool.name,
      description: tool.description,
      strict: strict.success as Strict.Strict<unknown>,
      handler: tool.handler as (args: unknown) => Effect.Effect<unknown, Tool.Error<T>, Tool.Services<T>>
    })
  })

/** @internal */
export const chatTools = (tools: ReadonlyArray<Any>): Effect.Effect<Array<ChatCompletions.Tool>, InvalidRequest> =>
  Effect.map(prepare(tools), (prepared) =>
    prepared.map((tool) => ({
      type: "function" as const,
      function: {
        name: tool.name,
        ...(tool.description === undefined ? {} : { description: tool.description }),
        parameters: tool.strict.jsonSchema as Record<string, unknown>,
        strict: true
      }
    }))
  )

/** @internal */
export const responsesTools = (
  tools: ReadonlyArray<Any>
): Effect.Effect<Array<Responses.FunctionTool>, InvalidRequest> =>
  Effect.map(prepare(tools), (prepared) =>
    prepared.map((tool) => ({
      type: "function" as const,
      name: tool.name,
      ...(tool.description === undefined ? {} : { description: tool.description }),
      parameters: tool.strict.jsonSchema as Record<string, unknown>,
      strict: true
    }))
  )

const loopOptions = (options: LoopOptions | undefined): Effect.Effect<Loop.Options, InvalidRequest> => {
  const maxTurns = options?.maxTurns ?? 8
  const concurrency = options?.concurrency ?? 1
  if (!Number.isInteger(maxTurns) || maxTurns < 1) {
    return Effect.fail(
      new InvalidRequest({ message: `maxTurns must be an integer ≥ 1, got ${maxTurns}`, path: "maxTurns" })
    )
  }
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    return Effect.fail(
      new InvalidRequest({ message: `concurrency must be an integer ≥ 1, got ${concurrency}`, path: "concurrency" })
    )
  }
  return Effect.succeed({ maxTurns, concurrency, onToolError: options?.onToolError ?? "feed" })
}

/** `append`, then (unless turned off) a forcing `tool_choice` relaxed to `"auto"`. */
const relaxing =
  <Req extends { readonly tool_choice?: unknown }, Res, Outputs>(
    append: (request: Req, response: Res, outputs: Outputs) => Req,
    options: LoopOptions | undefined
  ) =>
  (request: Req, response: Res, outputs: Outputs): Req => {
    const next = append(request, response, outputs)
    const forcing = next.tool_choice !== undefined && next.tool_choice !== "auto" && next.tool_choice !== "none"
    return options?.resetToolChoice !== false && forcing ? { ...next, tool_choice: "auto" } : next
  }

const callOptions = (options: LoopOptions | undefined): OpenAi.CallOptions | undefined => {
  if (options === undefined) return undefined
  const { maxTurns: _m, onToolError: _o, concurrency: _c, resetToolChoice: _r, ...rest } = options
  return rest
}

/** What differs between the two loops: the wire tools, how a turn is sent, where its calls are, how to append. */
interface Family<Req, Res, W> {
  readonly wire: (tools: ReadonlyArray<Any>) => Effect.Effect<Array<W>, InvalidRequest>
  readonly send: (
    openai: OpenAi.Service,
    request: Req,
    options: OpenAi.CallOptions | undefined
  ) => Effect.Effect<OpenAi.Response<Res>, OpenAiError>
  readonly calls: (response: Res) => ReadonlyArray<Loop.Call>
  readonly append: Loop.Api<Req, Res, never>["append"]
}

const loop =
  <Req extends { readonly tools?: ReadonlyArray<unknown> | undefined; readonly tool_choice?: unknown }, Res, W>(
    family: Family<Req, Res, W>
  ) =>
  <T extends Any>(
    request: Req,
    tools: ReadonlyArray<T>,
    options?: LoopOptions
  ): Effect.Effect<LoopResult<Req, Res>, OpenAiError | Tool.Error<T>, OpenAi.OpenAi | Tool.Services<T>> =>
    Effect.gen(function* () {
      const settings = yield* loopOptions(options)
      const prepared = yield* prepare(tools)
      const wire = yield* family.wire(tools)
      const openai = yield* OpenAi.OpenAi
      const first = { ...request, tools: [...wire, ...(request.tools ?? [])] } as Req
      return yield* Loop.run(
        {
          send: (next: Req) => family.send(openai, next, callOptions(options)),
          calls: family.calls,
          append: relaxing(family.append, options)
        },
        first,
        prepared,
        settings
      )
    })

/** @internal */
export const chat = loop<ChatCompletions.Request, ChatCompletions.ChatCompletion, ChatCompletions.Tool>({
  wire: chatTools,
  send: (openai, request, options) => openai.chat.completions.create(request, options),
  calls: Apis.chatCalls,
  append: Apis.chatAppend
})

/** @internal */
export const responses = loop<Responses.Request, Responses.Response, Responses.FunctionTool>({
  wire: responsesTools,
  send: (openai, request, options) => openai.responses.create(request, options),
  calls: Apis.responsesCalls,
  append: Apis.responsesAppend
})
