/**
 * The bodies of `StructuredOutput`: a Schema made ready for strict mode, its wire forms on both APIs, and the two
 * calls that send one and decode the reply.
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
import type { Format, Options, Parsed, RespondOptions } from "../../StructuredOutput.js"
import * as Names from "../names.js"
import * as Decode from "./decode.js"
import * as Strict from "./strict.js"

/** @internal */
export const make = <A, I>(
  schema: Schema.ConstraintCodec<A, I>,
  options: Options
): Effect.Effect<Format<A>, InvalidRequest> =>
  Effect.suspend(() => {
    if (!Names.namePattern.test(options.name)) {
      return Effect.fail(
        new InvalidRequest({
          message: `structured output name ${JSON.stringify(options.name)} must be 1-64 characters of a-z, A-Z, 0-9, _ and -`,
          path: "name"
        })
      )
    }
    const strict = Strict.toStrict(schema, `structured output ${options.name}`)
    if (Result.isFailure(strict)) return Effect.fail(strict.failure)
    return Effect.succeed({
      name: options.name,
      description: options.description,
      jsonSchema: strict.success.jsonSchema,
      strict: strict.success
    })
  })

/** The fields a strict JSON Schema format has on both APIs. */
const schemaFields = <A>(format: Format<A>) => ({
  name: format.name,
  ...(format.description === undefined ? {} : { description: format.description }),
  schema: format.jsonSchema as Record<string, unknown>,
  strict: true
})

/** @internal */
export const responseFormat = <A>(format: Format<A>): NonNullable<ChatCompletions.Request["response_format"]> => ({
  type: "json_schema",
  json_schema: schemaFields(format)
})

/** @internal */
export const textFormat = <A>(format: Format<A>): Responses.TextFormat => ({
  type: "json_schema",
  ...schemaFields(format)
})

/** @internal */
export const chat = <A>(
  format: Format<A>,
  request: Omit<ChatCompletions.Request, "response_format">,
  options?: OpenAi.CallOptions
): Effect.Effect<Parsed<A, ChatCompletions.ChatCompletion>, OpenAiError, OpenAi.OpenAi> =>
  Effect.gen(function* () {
    const openai = yield* OpenAi.OpenAi
    const response = yield* openai.chat.completions.create(
      { ...request, response_format: responseFormat(format) },
      options
    )
    const value = yield* Decode.fromChatCompletion(format, response.body, response.requestId)
    return { value, response }
  })

/** @internal */
export const respond = <A>(
  format: Format<A>,
  request: Responses.Request,
  options?: RespondOptions
): Effect.Effect<Parsed<A, Responses.Response>, OpenAiError, OpenAi.OpenAi> =>
  Effect.gen(function* () {
    const openai = yield* OpenAi.OpenAi
    const { chatResponseFormat, ...callOptions } = options ?? {}
    const body: Responses.Request = {
      ...request,
      text: { ...request.text, format: textFormat(format) },
      // Unknown fields pass the request schema unchanged.
      ...(chatResponseFormat === true ? ({ response_format: responseFormat(format) } as object) : {})
    }
    const response = yield* openai.responses.create(body, callOptions)
    const value = yield* Decode.fromResponse(format, response.body, response.requestId)
    return { value, response }
  })
