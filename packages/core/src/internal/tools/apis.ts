/**
 * The two APIs' halves of the tool loop: where a reply's function calls are, and how their outputs are appended
 * to the conversation (chat: the assistant message with its `tool_calls`, then one `tool` message per call;
 * Responses: the reply's output items, then one `function_call_output` per call — the whole conversation is sent
 * again, so it works with `store: false` and on stateless servers).
 *
 * @internal
 */
import type * as ChatCompletions from "../../ChatCompletions.js"
import type * as Responses from "../../Responses.js"
import type { Call } from "./loop.js"

type Outputs = ReadonlyArray<{ readonly call: Call; readonly output: string }>

/** @internal */
export const chatCalls = (completion: ChatCompletions.ChatCompletion): ReadonlyArray<Call> =>
  (completion.choices[0]?.message.tool_calls ?? []).map((call) => ({
    id: call.id,
    name: call.function.name,
    arguments: call.function.arguments
  }))

/** @internal */
export const chatAppend = (
  request: ChatCompletions.Request,
  completion: ChatCompletions.ChatCompletion,
  outputs: Outputs
): ChatCompletions.Request => {
  const message = completion.choices[0]?.message
  const assistant: ChatCompletions.Message = {
    role: "assistant",
    content: message?.content ?? null,
    tool_calls: (message?.tool_calls ?? []).map((call) => ({ id: call.id, type: "function", function: call.function }))
  }
  const results: Array<ChatCompletions.Message> = outputs.map(({ call, output }) => ({
    role: "tool",
    tool_call_id: call.id,
    content: output
  }))
  return { ...request, messages: [...request.messages, assistant, ...results] }
}

/** @internal */
export const responsesCalls = (response: Responses.Response): ReadonlyArray<Call> =>
  response.output.flatMap((item) =>
    item.type === "function_call"
      ? [
          {
            id: (item as Responses.FunctionCall).call_id,
            name: (item as Responses.FunctionCall).name,
            arguments: (item as Responses.FunctionCall).arguments
          }
        ]
      : []
  )

const inputItems = (input: Responses.Request["input"]): ReadonlyArray<Responses.InputItem> =>
  input === undefined ? [] : typeof input === "string" ? [{ role: "user", content: input }] : input

/** Output items given back as input: messages, function calls and reasoning as they came (less an empty `id`). */
const asInput = (item: Responses.OutputItem): Responses.InputItem => {
  if ((item as { readonly id?: unknown }).id !== "") return item as Responses.InputItem
  const { id: _id, ...rest } = item as Responses.OutputItem & { readonly id?: string }
  return rest as Responses.InputItem
}

/** @internal */
export const responsesAppend = (
  request: Responses.Request,
  response: Responses.Response,
  outputs: Outputs
): Responses.Request => ({
  ...request,
  input: [
    ...inputItems(request.input),
    ...response.output.map(asInput),
    ...outputs.map(
      ({ call, output }): Responses.InputItem => ({ type: "function_call_output", call_id: call.id, output })
    )
  ]
})
