/**
 * Reading a Response's output: its text, refusal and function calls. Structural, so that the schema module and
 * the stream's accumulator share it without an import cycle.
 *
 * @internal
 */

interface Part {
  readonly type: string
  readonly text?: string
  readonly refusal?: string
}
interface Item {
  readonly type: string
}
interface WithOutput<I extends Item = Item> {
  readonly output: ReadonlyArray<I>
}

const parts = (response: WithOutput): ReadonlyArray<Part> =>
  response.output.flatMap((item) => {
    const content = (item as { readonly content?: unknown }).content
    return item.type === "message" && Array.isArray(content) ? (content as ReadonlyArray<Part>) : []
  })

/** @internal */
export const outputText = (response: WithOutput): string => {
  let text = ""
  for (const part of parts(response))
    if (part.type === "output_text" && typeof part.text === "string") text += part.text
  return text
}

/** @internal */
export const refusal = (response: WithOutput): string | undefined => {
  let found: string | undefined
  for (const part of parts(response)) {
    if (part.type === "refusal" && typeof part.refusal === "string") found = (found ?? "") + part.refusal
  }
  return found
}

/** @internal */
export const functionCalls = <I extends Item>(
  response: WithOutput<I>
): ReadonlyArray<Extract<I, { type: "function_call" }>> =>
  response.output.filter((item): item is Extract<I, { type: "function_call" }> => item.type === "function_call")
