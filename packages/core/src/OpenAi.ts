/**
 * The client: typed endpoints over one gated, retried, timed transport.
 *
 * Every call: validate the request (Schema) → `Gates.admitCall` → `Retry` over attempts, each one
 * `Credentials.get` → `Gates.admitAttempt` → HTTP → classify → `Gates.observeAttempt` → `Gates.settleCall`.
 * A 401 triggers exactly one `Credentials.refresh` and one more attempt. `Gates` are taken from the context
 * when provided, otherwise `Gates.none`.
 *
 * @since 0.1.0
 */
import {
  Cause,
  Clock,
  type Config,
  Context,
  Duration,
  Effect,
  Exit,
  Layer,
  Option,
  Redacted,
  Result,
  type Schema,
  Scope,
  type Stream
} from "effect"
import * as Batches from "./Batches.js"
import * as ChatCompletions from "./ChatCompletions.js"
import { Credentials, fromConfig as credentialsFromConfig } from "./Credentials.js"
import * as Embeddings from "./Embeddings.js"
import { fromResponse, type InvalidOptions, InvalidRequest, type OpenAiError } from "./Errors.js"
import * as Files from "./Files.js"
import * as Gates from "./Gates.js"
import * as Http from "./internal/http.js"
import { fastChatCompletion } from "./internal/fastChat.js"
import * as Validate from "./internal/validate.js"
import * as ResponsesEndpoint from "./internal/responses/endpoint.js"
import * as Models from "./Models.js"
import {
  checkBaseUrl,
  layerConfig as configFromEnv,
  OpenAiConfig,
  type Options,
  type Resolved
} from "./OpenAiConfig.js"
import { parse as parseRateLimitHeaders, type RateLimitSnapshot } from "./RateLimitHeaders.js"
import type * as Responses from "./Responses.js"
import * as Retry from "./Retry.js"
import * as Usage from "./Usage.js"

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
  /** The gates' ticket of this call (scope, estimates). */
  readonly ticket: Gates.Ticket
  /**
   * Settle the call with the usage the stream reported (its last chunk) or the error it ended with. Only the
   * first settlement counts; if none is made, the scope's close settles with `usage: undefined, sent: true`.
   */
  readonly settle: (result: {
    readonly usage?: Gates.Usage | undefined
    readonly error?: OpenAiError | undefined
  }) => Effect.Effect<void>
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
      readonly create: (
        request: ChatCompletions.Request,
        options?: CallOptions
      ) => Effect.Effect<Response<ChatCompletions.ChatCompletion>, OpenAiError>
      /**
       * The gated, retried streaming transport: sets `stream: true` and (unless given)
       * `stream_options.include_usage: true`, retries until response headers with a 2xx status arrive, then
       * hands over the raw body. Retries never happen once the body has started.
       */
      readonly streamBytes: (
        request: ChatCompletions.Request,
        options?: CallOptions
      ) => Effect.Effect<StreamResponse, OpenAiError, Scope.Scope>
    }
  }
  /** The Responses API (`/responses`): the same gates as chat; see `Responses` for the schemas. */
  readonly responses: {
    readonly create: (
      request: Responses.Request,
      options?: CallOptions
    ) => Effect.Effect<Response<Responses.Response>, OpenAiError>
    /**
     * The gated, retried streaming transport of `POST /responses` with `stream: true`: retries until response
     * headers with a 2xx status arrive, then hands over the raw SSE body (`@sluice/stream`'s `ResponseStream`
     * decodes it).
     */
    readonly stream: (
      request: Responses.Request,
      options?: CallOptions
    ) => Effect.Effect<StreamResponse, OpenAiError, Scope.Scope>
    /** The stream of a background response again, from the event after `startingAfter` (a `sequence_number`). */
    readonly resume: (
      responseId: string,
      startingAfter: number | undefined,
      options?: CallOptions
    ) => Effect.Effect<StreamResponse, OpenAiError, Scope.Scope>
    readonly retrieve: (
      responseId: string,
      options?: CallOptions
    ) => Effect.Effect<Response<Responses.Response>, OpenAiError>
    /** Cancels a background response. */
    readonly cancel: (
      responseId: string,
      options?: CallOptions
    ) => Effect.Effect<Response<Responses.Response>, OpenAiError>
    readonly delete: (
      responseId: string,
      options?: CallOptions
    ) => Effect.Effect<Response<Responses.Deleted>, OpenAiError>
    /** The server's exact count of a request's input tokens (`POST /responses/input_tokens`), free of charge. */
    readonly inputTokens: (
      request: Responses.InputTokensRequest,
      options?: CallOptions
    ) => Effect.Effect<Response<Responses.InputTokens>, OpenAiError>
  }
  readonly embeddings: {
    readonly create: (
      request: Embeddings.Request,
      options?: CallOptions
    ) => Effect.Effect<Response<Embeddings.EmbeddingList>, OpenAiError>
  }
  readonly models: {
    readonly list: (options?: CallOptions) => Effect.Effect<Response<Models.ModelList>, OpenAiError>
    readonly retrieve: (model: string, options?: CallOptions) => Effect.Effect<Response<Models.Model>, OpenAiError>
  }
  readonly files: {
    readonly create: (
      request: Files.CreateRequest,
      options?: CallOptions
    ) => Effect.Effect<Response<Files.FileObject>, OpenAiError>
    readonly retrieve: (fileId: string, options?: CallOptions) => Effect.Effect<Response<Files.FileObject>, OpenAiError>
    /** The raw bytes of a file (a batch's output JSONL, say). Capped by `maxResponseBytes`. */
    readonly content: (fileId: string, options?: CallOptions) => Effect.Effect<Response<Uint8Array>, OpenAiError>
    readonly delete: (fileId: string, options?: CallOptions) => Effect.Effect<Response<Files.FileDeleted>, OpenAiError>
    readonly list: (
      query?: Files.ListRequest,
      options?: CallOptions
    ) => Effect.Effect<Response<Files.FileList>, OpenAiError>
  }
  readonly batches: {
    readonly create: (
      request: Batches.CreateRequest,
      options?: CallOptions
    ) => Effect.Effect<Response<Batches.Batch>, OpenAiError>
    readonly retrieve: (batchId: string, options?: CallOptions) => Effect.Effect<Response<Batches.Batch>, OpenAiError>
    readonly list: (
      query?: Batches.ListRequest,
      options?: CallOptions
    ) => Effect.Effect<Response<Batches.BatchList>, OpenAiError>
    readonly cancel: (batchId: string, options?: CallOptions) => Effect.Effect<Response<Batches.Batch>, OpenAiError>
  }
}

/**
 * @since 0.1.0
 * @category services
 */
export class OpenAi extends Context.Service<OpenAi, Service>()("@sluice/core/OpenAi") {}

type Body =
  | { readonly _tag: "Json"; readonly value: unknown }
  | { readonly _tag: "Multipart"; readonly parts: ReadonlyArray<Http.Part> }
  | undefined

/** What one call has done so far; its attempts run one after another, never concurrently. */
interface CallState {
  attempts: number
  /** Whether a request may have reached the server. */
  sent: boolean
}

interface CallSpec<A> {
  readonly method: "GET" | "POST" | "DELETE"
  /** Path below the base URL, e.g. `/chat/completions`. */
  readonly path: string
  readonly query?: Readonly<Record<string, string | number | undefined>> | undefined
  readonly body: Body
  readonly model: string | undefined
  /** What the gates see as the request body (for token estimates). */
  readonly infoBody: unknown
  readonly decode: (
    bytes: Uint8Array,
    meta: { status: number; requestId: string | undefined }
  ) => Effect.Effect<A, OpenAiError>
  readonly usage: (body: A) => Gates.Usage | undefined
  readonly options: CallOptions | undefined
}

const textDecoder = new TextDecoder()

const jsonDecoder =
  <S extends Schema.ConstraintDecoder<unknown>>(
    schema: S,
    what: string,
    fast?: (json: unknown) => S["Type"] | undefined
  ) =>
  (bytes: Uint8Array, meta: { status: number; requestId: string | undefined }): Effect.Effect<S["Type"], OpenAiError> =>
    Validate.response(schema, textDecoder.decode(bytes), { what, ...meta }, fast)

const chatCompletionDecoder = jsonDecoder(ChatCompletions.ChatCompletion, "POST /chat/completions", fastChatCompletion)

const noUsage = (): Gates.Usage | undefined => undefined

const segment = (value: string, name: string): Effect.Effect<string, InvalidRequest> =>
  value.length === 0
    ? Effect.fail(new InvalidRequest({ message: `${name} must not be empty`, path: name }))
    : Effect.succeed(encodeURIComponent(value))

const scrub = (text: string, key: Redacted.Redacted<string>): string => {
  const value = Redacted.value(key)
  const exact = value.length >= 4 ? text.split(value).join("[redacted]") : text
  // OpenAI echoes a masked key in 401 messages ("sk-abc***xyz"); drop even that.
  return exact.replace(/\bsk-[A-Za-z0-9_*-]{6,}/g, "sk-[redacted]")
}

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
  const gates = Option.getOrElse(yield* Effect.serviceOption(Gates.Gates), () => noGates)
  const transport = yield* Http.make({
    maxConnections: config.maxConnections,
    connectTimeout: config.connectTimeout,
    keepAliveTimeout: config.keepAliveTimeout
  })
  // A configuration out of range (`OpenAiConfig.validate`) or a refused base URL fails every call, before sending.
  const baseUrl = yield* Effect.result(
    config.invalid === undefined ? checkBaseUrl(config) : Effect.fail<InvalidRequest | InvalidOptions>(config.invalid)
  )
  return makeService(config, credentials, gates, transport, baseUrl)
})

/** The pass-through used when no `Gates` are provided (same behaviour as `Gates.none`). */
const noGates: Gates.Gates["Service"] = {
  admitCall: (info) =>
    Effect.succeed({
      info,
      scope: `${info.keyId}:${info.model ?? "-"}`,
      estimatedPromptTokens: 0,
      maxOutputTokens: Gates.maxOutputTokensOf(info.body)
    }),
  admitAttempt: () => Effect.void,
  observeAttempt: () => Effect.void,
  settleCall: () => Effect.void
}

const makeService = (
  config: Resolved,
  credentials: Credentials["Service"],
  gates: Gates.Gates["Service"],
  transport: Http.Transport,
  baseUrl: Result.Result<URL, InvalidRequest | InvalidOptions>
): Service => {
  const server = serverAttributes(baseUrl)
  const checkedBase = Effect.suspend(() =>
    Result.isFailure(baseUrl) ? Effect.fail(baseUrl.failure) : Effect.succeed(config.baseUrl)
  )
  // Timeouts are timers in the transport that abort the request; both start when the request is handed to the
  // connection pool (gate waits do not count). A streamed call has no total timeout here: ChatStream has its own.
  const finiteMs = (duration: Duration.Duration) =>
    Duration.isFinite(duration) ? Duration.toMillis(duration) : undefined
  const headersTimeoutMs = finiteMs(config.headersTimeout)
  const callTimeouts: Http.SendOptions = { headersTimeoutMs, totalTimeoutMs: finiteMs(config.totalTimeout) }
  const streamTimeouts: Http.SendOptions = { headersTimeoutMs }

  const wireRequest = <A>(spec: CallSpec<A>, key: Redacted.Redacted<string>): Http.WireRequest => {
    const search = new URLSearchParams()
    for (const [name, value] of Object.entries(spec.query ?? {}))
      if (value !== undefined) search.set(name, String(value))
    const query = search.size === 0 ? "" : `?${search.toString()}`
    const headers: Record<string, string> = {
      ...config.headers,
      ...spec.options?.headers,
      "user-agent": config.userAgent,
      accept: isStream(spec.infoBody) ? "text/event-stream" : "application/json",
      authorization: `Bearer ${Redacted.value(key)}`
    }
    if (config.organization !== undefined) headers["openai-organization"] = config.organization
    if (config.project !== undefined) headers["openai-project"] = config.project
    return {
      method: spec.method,
      url: `${config.baseUrl}${spec.path}${query}`,
      headers,
      body:
        spec.body === undefined
          ? undefined
          : spec.body._tag === "Json"
            ? { _tag: "Json", text: JSON.stringify(spec.body.value) }
            : spec.body
    }
  }

  interface Started {
    readonly response: Http.WireResponse
    readonly status: number
    readonly requestId: string | undefined
    readonly snapshot: RateLimitSnapshot
    readonly startedAt: number
    readonly key: Redacted.Redacted<string>
  }

  /**
   * One attempt up to the response headers, in the current scope (which owns the HTTP request). The headers
   * timeout is left out when the caller's own (earlier-started) timeout fires no later (`headersTimeout: false`).
   */
  const startAttempt = <A>(
    spec: CallSpec<A>,
    ticket: Gates.Ticket,
    state: CallState,
    timeouts: Http.SendOptions
  ): Effect.Effect<Started, OpenAiError, Scope.Scope> =>
    Effect.gen(function* () {
      const attempt = ++state.attempts
      const { key, keyId } = yield* credentials.get
      yield* gates.admitAttempt(ticket, attempt, keyId)
      const startedAt = yield* Clock.currentTimeMillis
      const response = yield* transport.send(wireRequest(spec, key), timeouts).pipe(
        Effect.tapError((error) => {
          // the request may have reached the server: a timeout is not proof that nothing was spent
          if (error._tag === "Timeout" && error.phase !== "connect") state.sent = true
          return Effect.void
        })
      )
      state.sent = true
      const now = yield* Clock.currentTimeMillis
      const requestId = Http.header(response.headers, "x-request-id")
      const snapshot = parseRateLimitHeaders(response.headers, now)
      if (response.status < 200 || response.status >= 300) {
        const bytes = yield* Http.readBody(response, Math.min(config.maxResponseBytes, 1024 * 1024), {
          status: response.status,
          requestId
        }).pipe(Effect.orElseSucceed(() => new Uint8Array()))
        return yield* Effect.fail(
          fromResponse({
            status: response.status,
            body: scrub(textDecoder.decode(bytes), key),
            headers: response.headers,
            requestId,
            nowMs: now,
            url: config.baseUrl
          })
        )
      }
      return { response, status: response.status, requestId, snapshot, startedAt, key }
    }).pipe(Effect.annotateLogs({ "openai.path": spec.path, "openai.keyId": ticket.info.keyId }))

  const observed = <A, R>(
    ticket: Gates.Ticket,
    effect: Effect.Effect<
      A & { status: number; snapshot: RateLimitSnapshot; requestId: string | undefined },
      OpenAiError,
      R
    >
  ) =>
    effect.pipe(
      Effect.tapError((error) =>
        Effect.andThen(
          gates.observeAttempt(ticket, { _tag: "Failure", error }),
          error.retryable ? Effect.logDebug(`attempt failed: ${error._tag}`) : Effect.void
        )
      ),
      Effect.tap((result) =>
        gates.observeAttempt(ticket, {
          _tag: "Response",
          status: result.status,
          snapshot: result.snapshot,
          requestId: result.requestId
        })
      )
    )

  /** Retries `attempt`, with exactly one credential refresh and re-attempt after a 401. */
  const retried = <A, R>(
    options: CallOptions | undefined,
    attempt: Effect.Effect<A, OpenAiError, R>
  ): Effect.Effect<A, OpenAiError, R> =>
    Effect.suspend(() => {
      // A call whose own failure blew a fuse (a 401, a billing 429) fails with that failure, which says what to
      // do, not with the CircuitOpen its next attempt met; later calls get the CircuitOpen.
      let lastFailure: OpenAiError | undefined
      const tracked = Effect.tapError(attempt, (error) => {
        if (error._tag !== "CircuitOpen") lastFailure = error
        return Effect.void
      })
      let refreshed = false
      const withRefresh = tracked.pipe(
        Effect.catchTag("AuthenticationFailed", (error) => {
          if (refreshed) return Effect.fail(error)
          refreshed = true
          return Effect.andThen(
            Effect.andThen(Effect.logInfo("401: refreshing credentials once"), credentials.refresh),
            tracked
          )
        })
      )
      const policy = options?.retry === undefined ? config.retry : { ...config.retry, ...options.retry }
      return Effect.catchTag(Retry.retry(policy)(withRefresh), "CircuitOpen", (error) =>
        Effect.fail(
          error.closesAtMs === undefined && lastFailure !== undefined && lastFailure._tag === error.reason
            ? lastFailure
            : error
        )
      )
    })

  const admit = <A>(spec: CallSpec<A>) =>
    Effect.gen(function* () {
      yield* checkedBase
      const { keyId } = yield* credentials.get
      const ticket = yield* gates.admitCall({
        path: spec.path,
        method: spec.method,
        model: spec.model,
        stream: isStream(spec.infoBody),
        keyId,
        body: spec.infoBody,
        batch: spec.options?.batch ?? false
      })
      return ticket
    })

  const settleOnExit =
    <A extends { readonly body: unknown; readonly requestId: string | undefined }>(
      ticket: Gates.Ticket,
      state: CallState,
      usage: (a: A) => Gates.Usage | undefined
    ) =>
    (exit: Exit.Exit<A, OpenAiError>) =>
      Effect.suspend(() => {
        const wasSent = state.sent
        if (Exit.isSuccess(exit)) {
          return gates.settleCall(ticket, {
            usage: usage(exit.value),
            sent: true,
            error: undefined,
            details: responseDetails(exit.value.body, exit.value.requestId)
          })
        }
        const failure = Option.getOrUndefined(causeFailure(exit.cause))
        if (failure !== undefined) return gates.settleCall(ticket, { usage: undefined, sent: wasSent, error: failure })
        // Interrupted: if nothing reached the server, closing the call scope releases the reservation.
        return wasSent ? gates.settleCall(ticket, { usage: undefined, sent: true, error: undefined }) : Effect.void
      })

  const call = <A>(spec: CallSpec<A>): Effect.Effect<Response<A>, OpenAiError> =>
    Effect.scoped(
      Effect.gen(function* () {
        const ticket = yield* admit(spec)
        const state: CallState = { attempts: 0, sent: false }
        const body = Effect.gen(function* () {
          const started = yield* startAttempt(spec, ticket, state, callTimeouts)
          const bytes = yield* Http.readBody(started.response, config.maxResponseBytes, started)
          const body = yield* spec.decode(bytes, started)
          const endedAt = yield* Clock.currentTimeMillis
          return { ...started, body, latencyMs: endedAt - started.startedAt }
        })
        const attempt = Effect.scoped(observed(ticket, body))
        const result = yield* retried(spec.options, attempt).pipe(
          Effect.onExit(settleOnExit(ticket, state, (result) => spec.usage(result.body)))
        )
        return {
          body: result.body,
          requestId: result.requestId,
          status: result.status,
          latencyMs: result.latencyMs,
          snapshot: result.snapshot,
          attempts: state.attempts
        }
      }).pipe(
        Effect.withSpan(
          `OpenAi ${spec.method} ${spec.path}`,
          { attributes: spanAttributes(spec, server) },
          { captureStackTrace: false }
        )
      )
    )

  const streamCall = (spec: CallSpec<never>): Effect.Effect<StreamResponse, OpenAiError, Scope.Scope> =>
    Effect.gen(function* () {
      const callScope = yield* Effect.scope
      const ticket = yield* admit(spec)
      const state: CallState = { attempts: 0, sent: false }
      let settled = false
      const settleOnce = (result: Gates.CallResult) =>
        Effect.suspend(() => {
          if (settled) return Effect.void
          settled = true
          return gates.settleCall(ticket, result)
        })
      // Each attempt gets its own scope; the successful one stays open (permit, HTTP request) with the call.
      const attempt = Effect.gen(function* () {
        const attemptScope = yield* Scope.fork(callScope, "sequential")
        return yield* observed(ticket, startAttempt(spec, ticket, state, streamTimeouts)).pipe(
          Scope.provide(attemptScope),
          Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Scope.close(attemptScope, exit)))
        )
      })
      const started = yield* retried(spec.options, attempt).pipe(
        Effect.tapCause((cause) =>
          Effect.suspend(() => {
            const wasSent = state.sent
            const error = Option.getOrUndefined(causeFailure(cause))
            if (error !== undefined) return settleOnce({ usage: undefined, sent: wasSent, error })
            if (wasSent) return settleOnce({ usage: undefined, sent: true, error: undefined })
            settled = true
            return Effect.void
          })
        )
      )
      yield* Scope.addFinalizer(callScope, settleOnce({ usage: undefined, sent: true, error: undefined }))
      const headersAt = yield* Clock.currentTimeMillis
      return {
        body: started.response.stream,
        requestId: started.requestId,
        status: started.status,
        latencyMs: headersAt - started.startedAt,
        snapshot: started.snapshot,
        attempts: state.attempts,
        ticket,
        settle: (result) => settleOnce({ usage: result.usage, sent: true, error: result.error })
      } satisfies StreamResponse
    }).pipe(
      Effect.withSpan(
        `OpenAi ${spec.method} ${spec.path} (stream)`,
        { attributes: spanAttributes(spec, server) },
        { captureStackTrace: false }
      )
    )

  const checkMaxTokens = (request: ChatCompletions.Request): Effect.Effect<void, InvalidRequest> => {
    if (config.maxTokensPolicy === "off") return Effect.void
    if (request.max_tokens !== undefined || request.max_completion_tokens !== undefined) return Effect.void
    return config.maxTokensPolicy === "require"
      ? Effect.fail(
          new InvalidRequest({
            message: 'chat request without max_completion_tokens (or max_tokens) refused: maxTokensPolicy is "require"',
            path: "max_completion_tokens"
          })
        )
      : Effect.logWarning("chat request without max_completion_tokens: the completion length (and cost) is unbounded")
  }

  const chatSpec = <A>(
    request: ChatCompletions.Request,
    decode: CallSpec<A>["decode"],
    usage: CallSpec<A>["usage"],
    options: CallOptions | undefined
  ): CallSpec<A> => ({
    method: "POST",
    path: "/chat/completions",
    body: { _tag: "Json", value: request },
    model: request.model,
    infoBody: request,
    decode,
    usage,
    options
  })

  const json = <A>(
    method: CallSpec<A>["method"],
    path: string,
    decode: CallSpec<A>["decode"],
    options: CallOptions | undefined,
    extra: Partial<Pick<CallSpec<A>, "query" | "body" | "model" | "infoBody" | "usage">> = {}
  ): CallSpec<A> => ({
    method,
    path,
    query: extra.query,
    body: extra.body,
    model: extra.model,
    infoBody: extra.infoBody,
    decode,
    usage: extra.usage ?? noUsage,
    options
  })

  return {
    config,
    responses: ResponsesEndpoint.make({
      call,
      streamCall,
      decoder: (schema, what) => jsonDecoder(schema, what),
      maxTokensPolicy: config.maxTokensPolicy
    }),
    chat: {
      completions: {
        create: (request, options) =>
          Effect.gen(function* () {
            const valid = yield* Validate.request(ChatCompletions.Request, request, "chat completion")
            if (valid.stream === true) {
              return yield* Effect.fail(
                new InvalidRequest({
                  message:
                    "stream: true is not supported by create; use chat.completions.streamBytes (or @sluice/stream)",
                  path: "stream"
                })
              )
            }
            yield* checkMaxTokens(valid)
            return yield* call(chatSpec(valid, chatCompletionDecoder, Usage.fromBody, options))
          }),
        streamBytes: (request, options) =>
          Effect.gen(function* () {
            const valid = yield* Validate.request(ChatCompletions.Request, request, "chat completion")
            yield* checkMaxTokens(valid)
            const streaming: ChatCompletions.Request = {
              ...valid,
              stream: true,
              stream_options: { include_usage: true, ...valid.stream_options }
            }
            return yield* streamCall(chatSpec<never>(streaming, () => Effect.never, noUsage, options))
          })
      }
    },
    embeddings: {
      create: (request, options) =>
        Effect.flatMap(Validate.request(Embeddings.Request, request, "embeddings"), (valid) =>
          call(
            json("POST", "/embeddings", jsonDecoder(Embeddings.EmbeddingList, "POST /embeddings"), options, {
              body: { _tag: "Json", value: valid },
              model: valid.model,
              infoBody: valid,
              usage: Usage.fromBody
            })
          )
        )
    },
    models: {
      list: (options) => call(json("GET", "/models", jsonDecoder(Models.ModelList, "GET /models"), options)),
      retrieve: (model, options) =>
        Effect.flatMap(segment(model, "model"), (id) =>
          call(json("GET", `/models/${id}`, jsonDecoder(Models.Model, "GET /models/{model}"), options, { model }))
        )
    },
    files: {
      create: (request, options) =>
        Effect.flatMap(Validate.request(Files.CreateRequest, request, "file upload"), (valid) =>
          call(
            json("POST", "/files", jsonDecoder(Files.FileObject, "POST /files"), options, {
              body: {
                _tag: "Multipart",
                parts: [
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
              },
              infoBody: { purpose: valid.purpose, filename: valid.filename, bytes: valid.file.length }
            })
          )
        ),
      retrieve: (fileId, options) =>
        Effect.flatMap(segment(fileId, "file_id"), (id) =>
          call(json("GET", `/files/${id}`, jsonDecoder(Files.FileObject, "GET /files/{file_id}"), options))
        ),
      content: (fileId, options) =>
        Effect.flatMap(segment(fileId, "file_id"), (id) =>
          call(json("GET", `/files/${id}/content`, (bytes) => Effect.succeed(bytes), options))
        ),
      delete: (fileId, options) =>
        Effect.flatMap(segment(fileId, "file_id"), (id) =>
          call(json("DELETE", `/files/${id}`, jsonDecoder(Files.FileDeleted, "DELETE /files/{file_id}"), options))
        ),
      list: (query, options) =>
        Effect.flatMap(Validate.request(Files.ListRequest, query ?? {}, "file list"), (valid) =>
          call(json("GET", "/files", jsonDecoder(Files.FileList, "GET /files"), options, { query: valid }))
        )
    },
    batches: {
      create: (request, options) =>
        Effect.flatMap(Validate.request(Batches.CreateRequest, request, "batch"), (valid) =>
          call(
            json("POST", "/batches", jsonDecoder(Batches.Batch, "POST /batches"), options, {
              body: { _tag: "Json", value: valid },
              infoBody: valid
            })
          )
        ),
      retrieve: (batchId, options) =>
        Effect.flatMap(segment(batchId, "batch_id"), (id) =>
          call(json("GET", `/batches/${id}`, jsonDecoder(Batches.Batch, "GET /batches/{batch_id}"), options))
        ),
      list: (query, options) =>
        Effect.flatMap(Validate.request(Batches.ListRequest, query ?? {}, "batch list"), (valid) =>
          call(json("GET", "/batches", jsonDecoder(Batches.BatchList, "GET /batches"), options, { query: valid }))
        ),
      cancel: (batchId, options) =>
        Effect.flatMap(segment(batchId, "batch_id"), (id) =>
          call(
            json(
              "POST",
              `/batches/${id}/cancel`,
              jsonDecoder(Batches.Batch, "POST /batches/{batch_id}/cancel"),
              options
            )
          )
        )
    }
  }
}

/** Finish reason and model of a chat completion (or any body with `model`), for telemetry. */
const responseDetails = (body: unknown, requestId: string | undefined): Gates.ResponseDetails => {
  const record = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {}
  const choices = Array.isArray(record.choices) ? (record.choices as Array<{ finish_reason?: unknown }>) : []
  // A Response (the Responses API) has a status instead of choices: `incomplete` says why in incomplete_details.
  const incomplete = record.incomplete_details as { reason?: unknown } | null | undefined
  const finishReason = Array.isArray(record.choices)
    ? choices[0]?.finish_reason
    : record.status === "incomplete" && typeof incomplete?.reason === "string"
      ? incomplete.reason
      : record.status
  return {
    requestId,
    finishReason: typeof finishReason === "string" ? finishReason : undefined,
    responseModel: typeof record.model === "string" ? record.model : undefined
  }
}

const isStream = (body: unknown): boolean =>
  typeof body === "object" && body !== null && (body as { stream?: unknown }).stream === true

/** `server.address` / `server.port` of the base URL (OpenTelemetry's GenAI and HTTP client conventions). */
const serverAttributes = (baseUrl: Result.Result<URL, InvalidRequest | InvalidOptions>): Record<string, unknown> =>
  Result.isFailure(baseUrl)
    ? {}
    : {
        "server.address": baseUrl.success.hostname,
        "server.port": Number(baseUrl.success.port || (baseUrl.success.protocol === "https:" ? 443 : 80))
      }

const spanAttributes = (
  spec: {
    readonly method: string
    readonly path: string
    readonly model: string | undefined
  },
  server: Record<string, unknown>
): Record<string, unknown> => ({
  ...server,
  "http.request.method": spec.method,
  "openai.path": spec.path,
  ...(spec.model === undefined ? {} : { "gen_ai.request.model": spec.model })
})

const causeFailure = <E>(cause: Cause.Cause<E>): Option.Option<E> => Cause.findErrorOption(cause)

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
