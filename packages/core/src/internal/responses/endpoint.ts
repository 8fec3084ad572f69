/**
 * The `responses` endpoint family on the client's call path (`internal/client`): what each method sends, how its
 * answer decodes, and what the gates see (the model, the body for the token estimate, the usage for settlement).
 * Registered in `internal/client/endpoints.ts`.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { InvalidRequest } from "../../Errors.js"
import type { CallOptions, Service, StreamCallOptions } from "../../OpenAi.js"
import * as Responses from "../../Responses.js"
import * as Usage from "../../Usage.js"
import { call } from "../client/call.js"
import { type CallSpec, type Client, spec } from "../client/spec.js"
import { stream } from "../client/stream.js"
import { jsonDecoder, segment } from "../client/wire.js"
import * as Validate from "../validate.js"

const responseDecoder = jsonDecoder(Responses.Response, "POST /responses")
const retrievedDecoder = jsonDecoder(Responses.Response, "GET /responses/{response_id}")
const cancelledDecoder = jsonDecoder(Responses.Response, "POST /responses/{response_id}/cancel")
const deletedDecoder = jsonDecoder(Responses.Deleted, "DELETE /responses/{response_id}")
const inputTokensDecoder = jsonDecoder(Responses.InputTokens, "POST /responses/input_tokens")

/** `maxTokensPolicy` for `max_output_tokens`, as chat applies it to `max_completion_tokens`. */
const checkMaxTokens = (client: Client, request: Responses.Request): Effect.Effect<void, InvalidRequest> => {
  const policy = client.config.maxTokensPolicy
  if (policy === "off" || request.max_output_tokens != null) return Effect.void
  return policy === "require"
    ? Effect.fail(
        new InvalidRequest({
          message: 'responses request without max_output_tokens refused: maxTokensPolicy is "require"',
          path: "max_output_tokens"
        })
      )
    : Effect.logWarning("responses request without max_output_tokens: the output length (and cost) is unbounded")
}

const validated = (client: Client, request: Responses.Request) =>
  Effect.tap(Validate.request(Responses.Request, request, "responses"), (valid) => checkMaxTokens(client, valid))

const post = (request: Responses.Request, options: CallOptions | undefined) =>
  spec("POST", "/responses", responseDecoder, options, {
    body: { _tag: "Json", value: request },
    model: request.model,
    infoBody: request,
    usage: Usage.fromBody
  })

const streaming = <S>(client: Client, spec: ReturnType<typeof post>, options: StreamCallOptions<S>) => {
  const { start, firstTokenTimeout, ...callOptions } = options
  return stream(
    client,
    { ...spec, options: callOptions, stream: true, decode: () => Effect.never, usage: () => undefined },
    start,
    firstTokenTimeout === undefined ? undefined : Duration.fromInputUnsafe(firstTokenTimeout)
  )
}

const create =
  (client: Client): Service["responses"]["create"] =>
  (request, options) =>
    Effect.flatMap(validated(client, request), (valid) =>
      valid.stream === true
        ? Effect.fail(
            new InvalidRequest({
              message:
                "stream: true is not supported by create; use responses.stream (or @sluice/stream's ResponseStream)",
              path: "stream"
            })
          )
        : call(client, post(valid, options))
    )

const inputTokens =
  (client: Client): Service["responses"]["inputTokens"] =>
  (request, options) =>
    Effect.flatMap(Validate.request(Responses.InputTokensRequest, request, "input tokens"), (valid) =>
      call(
        client,
        spec("POST", "/responses/input_tokens", inputTokensDecoder, options, {
          body: { _tag: "Json", value: valid },
          model: valid.model,
          // Counting is not generating: no output for the gates to reserve, and it is free (settled at zero, so a
          // budget reservation for the prompt is released rather than kept).
          infoBody: { ...valid, max_output_tokens: 0 },
          usage: () => ({ promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0 })
        })
      )
    )

/** A call on one stored response, named by its id (escaped; never empty). */
const byId =
  <A>(client: Client, method: "GET" | "POST" | "DELETE", suffix: string, decode: CallSpec<A>["decode"]) =>
  (responseId: string, options?: CallOptions) =>
    Effect.flatMap(segment(responseId, "response_id"), (id) =>
      call(client, spec(method, `/responses/${id}${suffix}`, decode, options))
    )

/** @internal */
export const responses = (client: Client): Service["responses"] => ({
  create: create(client),
  stream: (request, options) =>
    Effect.flatMap(validated(client, request), (valid) =>
      streaming(client, post({ ...valid, stream: true }, undefined), options)
    ),
  resume: (responseId, startingAfter, options) =>
    Effect.flatMap(segment(responseId, "response_id"), (id) =>
      streaming(
        client,
        spec("GET", `/responses/${id}`, responseDecoder, undefined, {
          query: { stream: "true", starting_after: startingAfter },
          infoBody: { stream: true }
        }),
        options
      )
    ),
  retrieve: byId(client, "GET", "", retrievedDecoder),
  cancel: byId(client, "POST", "/cancel", cancelledDecoder),
  delete: byId(client, "DELETE", "", deletedDecoder),
  inputTokens: inputTokens(client)
})
