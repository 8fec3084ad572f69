/**
 * The `responses` endpoint family on the client's call path: what each method sends, how its answer decodes, and
 * what the gates see (the model, the body for the token estimate, the usage for settlement). The client supplies
 * `call` (one gated, retried, settled JSON call) and `streamCall` (the same up to 2xx response headers).
 *
 * @internal
 */
import { Effect, type Scope } from "effect"
import { InvalidRequest, type OpenAiError } from "../../Errors.js"
import type * as OpenAi from "../../OpenAi.js"
import * as Responses from "../../Responses.js"
import * as Usage from "../../Usage.js"
import * as Validate from "../validate.js"

/** A call as the client runs it (its `CallSpec`). */
export interface Spec<A> {
  readonly method: "GET" | "POST" | "DELETE"
  readonly path: string
  readonly query?: Readonly<Record<string, string | number | undefined>> | undefined
  readonly body: { readonly _tag: "Json"; readonly value: unknown } | undefined
  readonly model: string | undefined
  readonly infoBody: unknown
  readonly decode: (
    bytes: Uint8Array,
    meta: { status: number; requestId: string | undefined }
  ) => Effect.Effect<A, OpenAiError>
  readonly usage: (body: A) => Usage.Usage | undefined
  readonly options: OpenAi.CallOptions | undefined
}

/** What the client lends the endpoints. */
export interface Deps {
  readonly call: <A>(spec: Spec<A>) => Effect.Effect<OpenAi.Response<A>, OpenAiError>
  readonly streamCall: (spec: Spec<never>) => Effect.Effect<OpenAi.StreamResponse, OpenAiError, Scope.Scope>
  readonly decoder: <S extends Parameters<typeof Validate.response>[0]>(
    schema: S,
    what: string
  ) => Spec<S["Type"]>["decode"]
  /** What to do with a request that sets no `max_output_tokens`: refuse, warn, or nothing. */
  readonly maxTokensPolicy: "require" | "warn" | "off"
}

const noUsage = (): Usage.Usage | undefined => undefined

const segment = (value: string, name: string): Effect.Effect<string, InvalidRequest> =>
  value.length === 0
    ? Effect.fail(new InvalidRequest({ message: `${name} must not be empty`, path: name }))
    : Effect.succeed(encodeURIComponent(value))

/** @internal */
export const make = (deps: Deps): OpenAi.Service["responses"] => {
  const responseDecoder = deps.decoder(Responses.Response, "POST /responses")
  const retrievedDecoder = deps.decoder(Responses.Response, "GET /responses/{response_id}")

  const validated = (request: Responses.Request) =>
    Effect.gen(function* () {
      const valid = yield* Validate.request(Responses.Request, request, "responses")
      if (valid.max_output_tokens == null && deps.maxTokensPolicy === "require") {
        return yield* new InvalidRequest({
          message: 'responses request without max_output_tokens refused: maxTokensPolicy is "require"',
          path: "max_output_tokens"
        })
      }
      if (valid.max_output_tokens == null && deps.maxTokensPolicy === "warn") {
        yield* Effect.logWarning(
          "responses request without max_output_tokens: the output length (and cost) is unbounded"
        )
      }
      return valid
    })

  const post = <A>(
    body: Responses.Request,
    decode: Spec<A>["decode"],
    usage: Spec<A>["usage"],
    options: OpenAi.CallOptions | undefined
  ): Spec<A> => ({
    method: "POST",
    path: "/responses",
    body: { _tag: "Json", value: body },
    model: body.model,
    infoBody: body,
    decode,
    usage,
    options
  })

  const get = <A>(
    path: string,
    decode: Spec<A>["decode"],
    options: OpenAi.CallOptions | undefined,
    method: Spec<A>["method"] = "GET",
    query?: Spec<A>["query"],
    infoBody?: unknown
  ): Spec<A> => ({
    method,
    path,
    query,
    body: undefined,
    model: undefined,
    infoBody,
    decode,
    usage: noUsage,
    options
  })

  return {
    create: (request, options) =>
      Effect.gen(function* () {
        const valid = yield* validated(request)
        if (valid.stream === true) {
          return yield* new InvalidRequest({
            message:
              "stream: true is not supported by create; use responses.stream (or @sluice/stream's ResponseStream)",
            path: "stream"
          })
        }
        return yield* deps.call(post(valid, responseDecoder, Usage.fromBody, options))
      }),
    stream: (request, options) =>
      Effect.flatMap(validated(request), (valid) =>
        deps.streamCall(post<never>({ ...valid, stream: true }, () => Effect.never, noUsage, options))
      ),
    resume: (responseId, startingAfter, options) =>
      Effect.flatMap(segment(responseId, "response_id"), (id) =>
        deps.streamCall(
          get<never>(
            `/responses/${id}`,
            () => Effect.never,
            options,
            "GET",
            { stream: "true", starting_after: startingAfter },
            { stream: true }
          )
        )
      ),
    retrieve: (responseId, options) =>
      Effect.flatMap(segment(responseId, "response_id"), (id) =>
        deps.call(get(`/responses/${id}`, retrievedDecoder, options))
      ),
    cancel: (responseId, options) =>
      Effect.flatMap(segment(responseId, "response_id"), (id) =>
        deps.call(
          get(
            `/responses/${id}/cancel`,
            deps.decoder(Responses.Response, "POST /responses/{response_id}/cancel"),
            options,
            "POST"
          )
        )
      ),
    delete: (responseId, options) =>
      Effect.flatMap(segment(responseId, "response_id"), (id) =>
        deps.call(
          get(`/responses/${id}`, deps.decoder(Responses.Deleted, "DELETE /responses/{response_id}"), options, "DELETE")
        )
      ),
    inputTokens: (request, options) =>
      Effect.flatMap(Validate.request(Responses.InputTokensRequest, request, "input tokens"), (valid) =>
        deps.call({
          method: "POST",
          path: "/responses/input_tokens",
          body: { _tag: "Json", value: valid },
          model: valid.model,
          // Counting is not generating: no output tokens for the gates to reserve.
          infoBody: { ...valid, max_output_tokens: 0 },
          decode: deps.decoder(Responses.InputTokens, "POST /responses/input_tokens"),
          // Free: settles at zero, so a budget reservation for the prompt is released, not kept.
          usage: () => ({ promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0 }),
          options
        })
      )
  }
}
