/**
 * A structured-output reply into the Schema's type: the text (or refusal) of a chat completion or a Response,
 * parsed as JSON and decoded with the strict codec.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as SchemaIssue from "effect/SchemaIssue"
import * as SchemaParser from "effect/SchemaParser"
import type * as ChatCompletions from "../../ChatCompletions.js"
import * as Decoding from "../../Decoding.js"
import { Refused, ServerError, StructuredOutputInvalid } from "../../Errors.js"
import type * as Responses from "../../Responses.js"
import * as Helpers from "../responses/helpers.js"
import type { Strict } from "./strict.js"

interface Format<A> {
  readonly name: string
  readonly strict: Strict<A>
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

const invalid = (name: string, message: string, text: string, requestId: string | undefined) =>
  new StructuredOutputInvalid({ name, message, text, ...(requestId === undefined ? {} : { requestId }) })

/** @internal */
export const decodeText = <A>(
  format: Format<A>,
  text: string,
  requestId: string | undefined
): Effect.Effect<A, StructuredOutputInvalid> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    const why = text.trim() === "" ? "the reply is empty" : `the reply is not JSON (${(error as Error).message})`
    return Effect.fail(invalid(format.name, `${format.name}: ${why}`, text, requestId))
  }
  // Not the tolerant decoder: the reply is the Schema's value exactly (a `null` for an optional field is dropped,
  // not grafted back).
  const decoded = SchemaParser.decodeUnknownResult(format.strict.codec)(json, { errors: "all" })
  if (Result.isSuccess(decoded)) return Effect.succeed(decoded.success)
  const problems = formatter(decoded.failure)
    .issues.slice(0, 3)
    .map((issue) => {
      const path = Decoding.formatPath(
        (issue.path ?? []).map((segment) => (typeof segment === "object" ? segment.key : segment))
      )
      return `${path || "(reply)"}: ${issue.message}`
    })
    .join("; ")
  return Effect.fail(
    invalid(format.name, `${format.name}: the reply does not match the schema: ${problems}`, text, requestId)
  )
}

/** @internal */
export const fromChatCompletion = <A>(
  format: Format<A>,
  completion: ChatCompletions.ChatCompletion,
  requestId: string | undefined
): Effect.Effect<A, StructuredOutputInvalid | Refused> => {
  const choice = completion.choices[0]
  const message = choice?.message
  if (message?.refusal != null && message.refusal !== "") {
    return Effect.fail(new Refused({ refusal: message.refusal, ...(requestId === undefined ? {} : { requestId }) }))
  }
  const text = message?.content ?? ""
  if (choice?.finish_reason === "length" || choice?.finish_reason === "content_filter") {
    return Effect.fail(
      invalid(
        format.name,
        `${format.name}: the reply was cut short (finish_reason ${choice.finish_reason})`,
        text,
        requestId
      )
    )
  }
  return decodeText(format, text, requestId)
}

/** @internal */
export const fromResponse = <A>(
  format: Format<A>,
  response: Responses.Response,
  requestId: string | undefined
): Effect.Effect<A, StructuredOutputInvalid | Refused | ServerError> => {
  const refusal = Helpers.refusal(response)
  if (refusal !== undefined) {
    return Effect.fail(new Refused({ refusal, ...(requestId === undefined ? {} : { requestId }) }))
  }
  if (response.status === "failed") {
    return Effect.fail(
      new ServerError({
        message: response.error?.message || "the response failed",
        ...(response.error?.code === undefined ? {} : { code: response.error.code }),
        ...(requestId === undefined ? {} : { requestId })
      })
    )
  }
  const text = Helpers.outputText(response)
  if (response.status === "incomplete") {
    const reason = response.incomplete_details?.reason ?? "unknown"
    return Effect.fail(invalid(format.name, `${format.name}: the response is incomplete (${reason})`, text, requestId))
  }
  return decodeText(format, text, requestId)
}
