/**
 * The client: typed endpoints over one gated, retried, timed transport.
 *
 * Every call (docs/call-flow.md): validate the request (Schema) → read the key → `Gates.admit` → the `Call` →
 * `Retry` over attempts, each one `call.attempt` (the gates, then HTTP, then the outcome observed) with a fresh
 * key read from the second on → one `call.settle`. A 401 triggers exactly one `Credentials.refresh` and one more
 * attempt. `Gates` are taken from the context when provided, otherwise `Gates.none`. The bodies live in
 * `internal/client/`: wire building (`wire`), one attempt (`attempt`), the retry loop (`retry`), settlement
 * (`settle`), a call (`call`), a streaming call (`stream`) and the endpoint families (`endpoints`).
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type * as Batches from "./Batches.js"
import type * as ChatCompletions from "./ChatCompletions.js"
import { Credentials, fromConfig as credentialsFromConfig } from "./Credentials.js"
import type * as Embeddings from "./Embeddings.js"
import type { InvalidOptions, InvalidRequest, OpenAiError } from "./Errors.js"
import type * as Files from "./Files.js"
import * as Gates from "./Gates.js"
import * as Endpoints from "./internal/client/endpoints.js"
import * as GatesInternal from "./internal/gates/call.js"
import type { Client } from "./internal/client/spec.js"
import { serverAttributes, timeoutsOf } from "./internal/client/wire.js"
import * as Http from "./internal/http.js"
import type * as Models from "./Models.js"
import {
  checkBaseUrl,
  layerConfig as configFromEnv,
  OpenAiConfig,
  type Options,
  type Resolved
} from "./OpenAiConfig.js"
import type { RateLimitSnapshot } from "./RateLimitHeaders.js"
import type * as Responses from "./Responses.js"
import type * as Retry from "./Retry.js"
import type * as Usage from "./Usage.js"

/**
 * A decoded response and what is known about how it was obtained.
 *
 * @since 0.1.0
 * @category models
 */
export interface Response<A> {
  readonly body: A
  /** `x-request-id`, for support tickets. */
  readonly requestId: string | undefined
  readonly status: number
  /** Time of the successful attempt, from send to the body read. */
  readonly latencyMs: number
  /** The rate-limit headers of the successful response. */
  readonly snapshot: RateLimitSnapshot
  /** Attempts made, including the successful one (1 = no retry). */
  readonly attempts: number
}

/**
 * A streaming call whose response headers arrived with a 2xx status. The body has not been read: reading it
 * is up to the caller (`@sluice/stream` decodes it as SSE). The HTTP request is aborted when the scope closes
 * or the body stream is interrupted; the concurrency permit is held until then.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamResponse {
  readonly body: Stream.Stream<Uint8Array, OpenAiError>
  readonly requestId: string | undefined
  readonly status: number
  /** Time to the response headers of the successful attempt. */
  readonly latencyMs: number
  readonly snapshot: RateLimitSnapshot
  readonly attempts: number
  /** The gates' `Call` (scope, estimates, progress; the telemetry recorders of the stream). */
  readonly call: Gates.Call
  /** The same `Call`, by its name before 0.3.0. */
  readonly ticket: Gates.Ticket
  /**
   * Settle the call with the usage the stream reported (its last chunk) or the error it ended with. Only the
   * first settlement counts; if none is made, the scope's close settles with `usage: undefined, sent: true`.
   */
  readonly settle: (result: {
    readonly usage?: Usage.Usage | undefined
    readonly error?: OpenAiError | undefined
  }) => Effect.Effect<void>
}

/**
 * What the `start` of a {@link StreamCallOptions} gets: an attempt whose response headers arrived with a 2xx
 * status, its body unread.
 *
 * @since 0.3.0
 * @category models
 */
export interface StreamHead {
  readonly body: Stream.Stream<Uint8Array, OpenAiError>
  readonly requestId: string | undefined
  readonly status: number
  readonly call: Gates.Call
}

/**
 * Options of `chat.completions.stream`: the call's options, how an attempt reads its body up to the first token,
 * and how long that may take.
 *
 * @since 0.3.0
 * @category models
 */
export interface StreamCallOptions<S> extends CallOptions {
  /**
   * Runs in each attempt after its 2xx headers, in the attempt's scope (the HTTP request, the permit): read the
   * body up to the first token and return what the consumer will need. A retryable failure here (a broken
   * connection, an in-stream `server_error`) is retried as another attempt of the same call, under the call's
   * policy: one reservation, one telemetry call. Nothing it read may have reached the consumer yet.
   */
  readonly start: (head: StreamHead) => Effect.Effect<S, OpenAiError, Scope.Scope>
  /**
   * From an attempt's admission by the gates (connect, headers) to the end of `start`: a `Timeout` in phase
   * `first-token`, retried like any retryable failure. Default: none.
   */
  readonly firstTokenTimeout?: Duration.Input | undefined
}

/**
 * A streaming call whose first token arrived: the {@link StreamResponse} and what `start` returned.
 *
 * @since 0.3.0
 * @category models
 */
export interface StreamStarted<S> extends StreamResponse {
  readonly first: S
}

/**
 * Per-call options.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallOptions {
  /** Extra headers for this call. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Overrides of the configured retry policy for this call. */
  readonly retry?: Partial<Retry.Policy> | undefined
  /** Tell the gates the call is billed as a Batch API request. */
  readonly batch?: boolean | undefined
}

/**
 * One endpoint method: its input (a request, or an id) and the call's options, to one decoded response.
 *
 * @since 0.3.0
 * @category models
 */
export type Method<In, A> = (input: In, options?: CallOptions) => Effect.Effect<Response<A>, OpenAiError>

/**
 * A list endpoint: an optional query (paging, filters) and the call's options, to one page.
 *
 * @since 0.3.0
 * @category models
 */
export type ListMethod<Query, A> = (query?: Query, options?: CallOptions) => Effect.Effect<Response<A>, OpenAiError>

/**
 * The endpoints.
 *
 * @since 0.1.0
 * @category services
 */
export interface Service {
  /** The configuration this client resolved (base URL, timeouts, retry policy …); never holds the key. */
  readonly config: Resolved
  readonly chat: {
    readonly completions: {
      readonly create: Method<ChatCompletions.Request, ChatCompletions.ChatCompletion>
      /**
       * The gated, retried streaming transport: sets `stream: true` and (unless given)
       * `stream_options.include_usage: true`, retries until response headers with a 2xx status arrive, then
       * hands over the raw body. Retries never happen once the body has started.
       */
      readonly streamBytes: (
        request: ChatCompletions.Request,
        options?: CallOptions
      ) => Effect.Effect<StreamResponse, OpenAiError, Scope.Scope>
      /**
       * {@link streamBytes} with retries up to the first token: every attempt runs `options.start` after its
       * headers, and a retryable failure before `start` returns is another attempt of the same call. The stream
       * layer (`ChatStream.stream`) is built on it and does not retry again.
       */
      readonly stream: <S>(
        request: ChatCompletions.Request,
        options: StreamCallOptions<S>
      ) => Effect.Effect<StreamStarted<S>, OpenAiError, Scope.Scope>
    }
  }
  /** The Responses API (`/responses`): the same gates as chat; see `Responses` for the schemas. */
  readonly responses: {
    readonly create: Method<Responses.Request, Responses.Response>
    /**
     * `POST /responses` with `stream: true`, retried up to the first event as `chat.completions.stream` is: every
     * attempt runs `options.start` after its 2xx headers (`ResponseStream.stream` reads the SSE events there).
     */
    readonly stream: <S>(
      request: Responses.Request,
      options: StreamCallOptions<S>
    ) => Effect.Effect<StreamStarted<S>, OpenAiError, Scope.Scope>
    /** The stream of a background response again (`GET /responses/{id}?stream=true`), after `startingAfter`. */
    readonly resume: <S>(
      responseId: string,
      startingAfter: number | undefined,
      options: StreamCallOptions<S>
    ) => Effect.Effect<StreamStarted<S>, OpenAiError, Scope.Scope>
    readonly retrieve: Method<string, Responses.Response>
    /** Cancels a background response. */
    readonly cancel: Method<string, Responses.Response>
    readonly delete: Method<string, Responses.Deleted>
    /** The server's exact count of a request's input tokens (`POST /responses/input_tokens`), free of charge. */
    readonly inputTokens: Method<Responses.InputTokensRequest, Responses.InputTokens>
  }
  readonly embeddings: {
    readonly create: Method<Embeddings.Request, Embeddings.EmbeddingList>
  }
  readonly models: {
    readonly list: (options?: CallOptions) => Effect.Effect<Response<Models.ModelList>, OpenAiError>
    readonly retrieve: Method<string, Models.Model>
  }
  readonly files: {
    readonly create: Method<Files.CreateRequest, Files.FileObject>
    readonly retrieve: Method<string, Files.FileObject>
    /** The raw bytes of a file (a batch's output JSONL, say). Capped by `maxResponseBytes`. */
    readonly content: Method<string, Uint8Array>
    readonly delete: Method<string, Files.FileDeleted>
    readonly list: ListMethod<Files.ListRequest, Files.FileList>
  }
  readonly batches: {
    readonly create: Method<Batches.CreateRequest, Batches.Batch>
    readonly retrieve: Method<string, Batches.Batch>
    readonly list: ListMethod<Batches.ListRequest, Batches.BatchList>
    readonly cancel: Method<string, Batches.Batch>
  }
}

/**
 * @since 0.1.0
 * @category services
 */
export class OpenAi extends Context.Service<OpenAi, Service>()("@sluice/core/OpenAi") {}

/**
 * Builds the client from its configuration, credentials and (optionally) gates. The undici agent lives as
 * long as the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Service, never, OpenAiConfig | Credentials | Scope.Scope> = Effect.gen(function* () {
  const config = yield* OpenAiConfig
  const credentials = yield* Credentials
  // Without `Gates` in the context: the pass-through `Gates.none` is made of.
  const gates = Option.getOrElse(yield* Effect.serviceOption(Gates.Gates), () => GatesInternal.none)
  // The `Transport` of the context, or undici with the configuration's pool and proxy.
  const transport = yield* Http.fromContext(config)
  // A configuration out of range (`OpenAiConfig.validate`) or a refused base URL fails every call, before sending.
  const baseUrl = yield* Effect.result(
    config.invalid === undefined ? checkBaseUrl(config) : Effect.fail<InvalidRequest | InvalidOptions>(config.invalid)
  )
  const timeouts = timeoutsOf(config)
  const client: Client = {
    config,
    credentials,
    gates,
    transport,
    baseUrl,
    server: serverAttributes(baseUrl),
    callTimeouts: timeouts.call,
    streamTimeouts: timeouts.stream
  }
  return { config, ...Endpoints.service(client) }
})

/**
 * The client, from `OpenAiConfig` and `Credentials` in the context. It runs every call through the `Gates`
 * found in the context and through none when there are none: provide `Gates.defaults` (or
 * `Gates.layerDefaults(options)`) to it, or use {@link layerConfig}, which does.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<OpenAi, never, OpenAiConfig | Credentials> = Layer.effect(OpenAi, make)

/**
 * Options of {@link layerConfig}: the client's options plus the gates.
 *
 * @since 0.1.0
 * @category models
 */
export interface LayerOptions<G = never> extends Options {
  /**
   * The gates every call passes through. Default `Gates.defaults` (rate limiter learning from headers,
   * 64 in flight, the circuit breaker, model lifecycle warnings, built-in prices); `false` for none.
   * Whatever else the layer provides stays visible: `Telemetry.wrap(Gates.defaults)` gives the client and
   * the `Telemetry` service that `Alerts` and `RunReport.recorder` subscribe to.
   */
  readonly gates?: Layer.Layer<Gates.Gates | G> | false | undefined
}

/**
 * The client configured from the environment like the official SDKs: `OPENAI_API_KEY` (read on every
 * attempt), `OPENAI_BASE_URL`, `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`; `options` win over the environment.
 * Every gate is on with its defaults unless `options.gates` says otherwise.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = <G = never>(
  options: LayerOptions<G> = {}
): Layer.Layer<OpenAi | Gates.Gates | G, Config.ConfigError> => {
  const { gates, ...config } = options
  // Without `options.gates`, G is inferred as never: the default layers provide exactly `Gates`.
  const gatesLayer = (gates === false ? Gates.none : gates === undefined ? Gates.defaults : gates) as Layer.Layer<
    Gates.Gates | G
  >
  return layer.pipe(
    Layer.provide(configFromEnv(config)),
    Layer.provide(credentialsFromConfig()),
    Layer.provideMerge(gatesLayer)
  )
}
