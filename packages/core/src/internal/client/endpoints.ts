/**
 * The endpoint families: each turns its requests into `CallSpec`s for `call` (one response) or `stream`. Adding a
 * family: a function `(client: Client) => Service["family"]` here (or in a module of its own), registered in
 * `service` below, with its methods on `OpenAi.Service`. Not public.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Batches from "../../Batches.js"
import * as ChatCompletions from "../../ChatCompletions.js"
import * as Embeddings from "../../Embeddings.js"
import { InvalidRequest } from "../../Errors.js"
import * as Files from "../../Files.js"
import * as Models from "../../Models.js"
import type { CallOptions, Service } from "../../OpenAi.js"
import * as Usage from "../../Usage.js"
import * as EmbeddingsWire from "../embeddingsWire.js"
import { fastChatCompletion } from "../fastChat.js"
import { fastChatRequest } from "./fastRequest.js"
import * as Validate from "../validate.js"
import { call } from "./call.js"
import { type Client, spec } from "./spec.js"
import * as Responses from "../responses/endpoint.js"
import { stream } from "./stream.js"
import { jsonDecoder, segment } from "./wire.js"

const chatCompletionDecoder = jsonDecoder(ChatCompletions.ChatCompletion, "POST /chat/completions", fastChatCompletion)

/** The validated chat request: the plain shape by `fastChatRequest`, anything else by the schema. */
const validChat = (request: ChatCompletions.Request): Effect.Effect<ChatCompletions.Request, InvalidRequest> => {
  const fast = fastChatRequest(request)
  return fast === undefined
    ? Validate.request(ChatCompletions.Request, request, "chat completion")
    : Effect.succeed(fast)
}

const checkMaxTokens = (client: Client, request: ChatCompletions.Request): Effect.Effect<void, InvalidRequest> => {
  const policy = client.config.maxTokensPolicy
  if (policy === "off") return Effect.void
  if (request.max_tokens !== undefined || request.max_completion_tokens !== undefined) return Effect.void
  return policy === "require"
    ? Effect.fail(
        new InvalidRequest({
          message: 'chat request without max_completion_tokens (or max_tokens) refused: maxTokensPolicy is "require"',
          path: "max_completion_tokens"
        })
      )
    : Effect.logWarning("chat request without max_completion_tokens: the completion length (and cost) is unbounded")
}

/** The validated streaming request: `stream: true`, usage in the last chunk unless the request says otherwise. */
const streamingRequest = (client: Client, request: ChatCompletions.Request) =>
  Effect.gen(function* () {
    const valid = yield* validChat(request)
    yield* checkMaxTokens(client, valid)
    return {
      ...valid,
      stream: true,
      stream_options: { include_usage: true, ...valid.stream_options }
    } satisfies ChatCompletions.Request
  })

const chatStreamSpec = (request: ChatCompletions.Request, options: CallOptions | undefined) =>
  spec<never>("POST", "/chat/completions", () => Effect.never, options, {
    body: { _tag: "Json", value: request },
    model: request.model,
    infoBody: request,
    stream: true
  })

export const chat = (client: Client): Service["chat"] => ({
  completions: {
    create: (request, options) =>
      // Plain combinators, not `Effect.gen`: this runs once per call (docs/decisions/0014-call-hot-path.md).
      Effect.flatMap(validChat(request), (valid) => {
        if (valid.stream === true) {
          return Effect.fail(
            new InvalidRequest({
              message: "stream: true is not supported by create; use chat.completions.streamBytes (or @sluice/stream)",
              path: "stream"
            })
          )
        }
        return Effect.andThen(
          checkMaxTokens(client, valid),
          call(
            client,
            spec("POST", "/chat/completions", chatCompletionDecoder, options, {
              body: { _tag: "Json", value: valid },
              model: valid.model,
              infoBody: valid,
              usage: Usage.fromBody
            })
          )
        )
      }),
    streamBytes: (request, options) =>
      Effect.flatMap(streamingRequest(client, request), (streaming) =>
        stream(client, chatStreamSpec(streaming, options), () => Effect.void, undefined)
      ),
    stream: (request, options) =>
      Effect.flatMap(streamingRequest(client, request), (streaming) => {
        const { start, firstTokenTimeout, ...callOptions } = options
        return stream(
          client,
          chatStreamSpec(streaming, callOptions),
          start,
          firstTokenTimeout === undefined ? undefined : Duration.fromInputUnsafe(firstTokenTimeout)
        )
      })
  }
})

export const embeddings = (client: Client): Service["embeddings"] => ({
  create: (request, options) =>
    Effect.flatMap(Validate.request(Embeddings.Request, request, "embeddings"), (valid) =>
      call(
        client,
        // base64 vectors straight from the response bytes, anything else by the schema (internal/embeddingsWire.ts)
        spec("POST", "/embeddings", EmbeddingsWire.decoder("POST /embeddings"), options, {
          body: { _tag: "Json", value: valid },
          model: valid.model,
          infoBody: valid,
          usage: Usage.fromBody
        })
      )
    )
})

export const models = (client: Client): Service["models"] => ({
  list: (options) => call(client, spec("GET", "/models", jsonDecoder(Models.ModelList, "GET /models"), options)),
  retrieve: (model, options) =>
    Effect.flatMap(segment(model, "model"), (id) =>
      call(client, spec("GET", `/models/${id}`, jsonDecoder(Models.Model, "GET /models/{model}"), options, { model }))
    )
})

const uploadParts = (valid: Files.CreateRequest) => [
  { name: "purpose", value: valid.purpose },
  ...(valid.expires_after === undefined
    ? []
    : [
        { name: "expires_after[anchor]", value: valid.expires_after.anchor },
        { name: "expires_after[seconds]", value: String(valid.expires_after.seconds) }
      ]),
  {
    name: "file",
    filename: valid.filename,
    contentType: valid.filename.endsWith(".jsonl") ? "application/jsonl" : "application/octet-stream",
    bytes: valid.file
  }
]

export const files = (client: Client): Service["files"] => ({
  create: (request, options) =>
    Effect.flatMap(Validate.request(Files.CreateRequest, request, "file upload"), (valid) =>
      call(
        client,
        spec("POST", "/files", jsonDecoder(Files.FileObject, "POST /files"), options, {
          body: { _tag: "Multipart", parts: uploadParts(valid) },
          infoBody: { purpose: valid.purpose, filename: valid.filename, bytes: valid.file.length }
        })
      )
    ),
  retrieve: (fileId, options) =>
    Effect.flatMap(segment(fileId, "file_id"), (id) =>
      call(client, spec("GET", `/files/${id}`, jsonDecoder(Files.FileObject, "GET /files/{file_id}"), options))
    ),
  content: (fileId, options) =>
    Effect.flatMap(segment(fileId, "file_id"), (id) =>
      call(
        client,
        spec("GET", `/files/${id}/content`, (bytes) => Effect.succeed(bytes), options)
      )
    ),
  delete: (fileId, options) =>
    Effect.flatMap(segment(fileId, "file_id"), (id) =>
      call(client, spec("DELETE", `/files/${id}`, jsonDecoder(Files.FileDeleted, "DELETE /files/{file_id}"), options))
    ),
  list: (query, options) =>
    Effect.flatMap(Validate.request(Files.ListRequest, query ?? {}, "file list"), (valid) =>
      call(client, spec("GET", "/files", jsonDecoder(Files.FileList, "GET /files"), options, { query: valid }))
    )
})

export const batches = (client: Client): Service["batches"] => ({
  create: (request, options) =>
    Effect.flatMap(Validate.request(Batches.CreateRequest, request, "batch"), (valid) =>
      call(
        client,
        spec("POST", "/batches", jsonDecoder(Batches.Batch, "POST /batches"), options, {
          body: { _tag: "Json", value: valid },
          infoBody: valid
        })
      )
    ),
  retrieve: (batchId, options) =>
    Effect.flatMap(segment(batchId, "batch_id"), (id) =>
      call(client, spec("GET", `/batches/${id}`, jsonDecoder(Batches.Batch, "GET /batches/{batch_id}"), options))
    ),
  list: (query, options) =>
    Effect.flatMap(Validate.request(Batches.ListRequest, query ?? {}, "batch list"), (valid) =>
      call(client, spec("GET", "/batches", jsonDecoder(Batches.BatchList, "GET /batches"), options, { query: valid }))
    ),
  cancel: (batchId, options) =>
    Effect.flatMap(segment(batchId, "batch_id"), (id) =>
      call(
        client,
        spec("POST", `/batches/${id}/cancel`, jsonDecoder(Batches.Batch, "POST /batches/{batch_id}/cancel"), options)
      )
    )
})

/** Every endpoint family over one client. */
export const service = (client: Client): Omit<Service, "config"> => ({
  chat: chat(client),
  embeddings: embeddings(client),
  models: models(client),
  files: files(client),
  batches: batches(client),
  responses: Responses.responses(client)
})
