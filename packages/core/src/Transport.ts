/**
 * How a request reaches the server: send one HTTP request, get its status, headers and a body that is aborted
 * when the surrounding scope closes. The client (`OpenAi`) calls it once per attempt and does everything else
 * (credentials, gates, retries, decoding) itself.
 *
 * - {@link layerUndici} (the default): undici with a bounded connection pool, and a forward proxy when one is
 *   configured (`HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`, or options).
 * - {@link layerFetch}: the Web `fetch` of the runtime (Bun, Deno, edge runtimes, Node's global fetch).
 * - {@link Hooks}: rewrite each request (add headers …) or observe each response, on either.
 *
 * `OpenAi.make` takes the `Transport` from the context and, when there is none, builds undici from
 * `OpenAiConfig` ({@link layer}), so providing nothing changes nothing.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { OpenAiError } from "./Errors.js"
import * as FetchTransport from "./internal/transport/fetch.js"
import * as HookedTransport from "./internal/transport/hooks.js"
import * as UndiciTransport from "./internal/transport/lazyUndici.js"
import { OpenAiConfig, type ProxyOptions, resolve } from "./OpenAiConfig.js"

/**
 * One part of a `multipart/form-data` body.
 *
 * @since 0.2.0
 * @category models
 */
export type Part =
  | { readonly name: string; readonly value: string }
  | { readonly name: string; readonly filename: string; readonly contentType: string; readonly bytes: Uint8Array }

/**
 * A request as the client hands it over: header names are lower-case; `authorization` carries the key.
 *
 * @since 0.2.0
 * @category models
 */
export interface Request {
  readonly method: "GET" | "POST" | "DELETE"
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body:
    | { readonly _tag: "Json"; readonly text: string }
    | { readonly _tag: "Multipart"; readonly parts: ReadonlyArray<Part> }
    | undefined
}

/**
 * A response whose headers arrived. Its body is read once, with `bytes` or `stream`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Response {
  readonly status: number
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>
  /** The body. Transport failures while reading become `ConnectionFailed`. */
  readonly stream: Stream.Stream<Uint8Array, OpenAiError>
  /**
   * The body's length when it is known before reading it and the transport enforces it (`content-length` of a
   * body that is not decoded on the way); the size cap trusts it.
   */
  readonly contentLength: number | undefined
  /** The whole body in one read (no size check: callers use it only within `contentLength`). */
  readonly bytes: Effect.Effect<Uint8Array, OpenAiError>
}

/**
 * Per-request timeouts. Both start when the request is handed to the transport, so waiting on the gates never
 * counts; both abort the request.
 *
 * @since 0.2.0
 * @category models
 */
export interface SendOptions {
  /** Fails with `Timeout` (headers) when no response headers arrived this long after sending. */
  readonly headersTimeoutMs?: number | undefined
  /**
   * Fails with `Timeout` (total) when the headers and the whole body have not arrived this long after sending
   * (the request is aborted, whether the body is read with `bytes` or `stream`).
   */
  readonly totalTimeoutMs?: number | undefined
}

/**
 * @since 0.2.0
 * @category services
 */
export class Transport extends Context.Service<
  Transport,
  {
    /**
     * Sends one request. The HTTP request (and its body stream) is aborted when the scope closes; failures are
     * `ConnectionFailed`, `Timeout { phase: "connect" | "headers" | "total" }`, `InvalidRequest` (refused before
     * sending) or `ResponseDecodeFailed` (headers too large).
     */
    readonly send: (request: Request, options?: SendOptions) => Effect.Effect<Response, OpenAiError, Scope.Scope>
  }
>()("@sluice/core/Transport") {}

/**
 * What `onResponse` sees: the request as sent (without `authorization`), the status and the headers. The body is
 * not read yet.
 *
 * @since 0.2.0
 * @category models
 */
export interface ResponseInfo {
  readonly request: Request
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
}

/**
 * Hooks around every attempt's request. Neither sees nor can set `authorization` (the key): it is taken out of
 * the request before `onRequest` and put back after it. A failure of a hook fails the attempt with that error
 * (retried if it is retryable). Failures of the request itself are not passed to `onResponse`: `Telemetry` has
 * every attempt's outcome.
 *
 * @since 0.2.0
 * @category models
 */
export interface Hooks {
  /** Runs before each attempt is sent; what it returns is sent (e.g. the request with one more header). */
  readonly onRequest?: ((request: Request) => Effect.Effect<Request, OpenAiError>) | undefined
  /** Runs when each attempt's response headers arrived, whatever the status. */
  readonly onResponse?: ((response: ResponseInfo) => Effect.Effect<void, OpenAiError>) | undefined
}

/**
 * Options of the undici transport; the defaults are `OpenAiConfig`'s.
 *
 * @since 0.2.0
 * @category models
 */
export interface UndiciOptions {
  /** Connections per origin. Default 64. */
  readonly maxConnections?: number | undefined
  /** TCP + TLS handshake (and to the proxy). Default 10 s. */
  readonly connectTimeout?: Duration.Input | undefined
  /** Idle keep-alive of pooled sockets. Default 30 s. */
  readonly keepAliveTimeout?: Duration.Input | undefined
  /** A forward proxy: one URL for both schemes, or per scheme with `noProxy`. Default none. */
  readonly proxy?: string | Redacted.Redacted<string> | ProxyOptions | false | undefined
  /**
   * Send plain `http://` requests through a proxy that is not on this machine (the key crosses the network in
   * clear text). Default false: such a request fails with `InvalidRequest` before anything is sent.
   */
  readonly allowInsecure?: boolean | undefined
  /** PEM certificates trusted besides Node's own (a TLS-inspecting proxy's CA, a private server's). */
  readonly ca?: string | ReadonlyArray<string> | undefined
  readonly hooks?: Hooks | undefined
}

/**
 * Options of the fetch transport.
 *
 * @since 0.2.0
 * @category models
 */
export interface FetchOptions {
  /**
   * The `fetch` to call. Default `globalThis.fetch`. The runtime's fetch owns its connections and its proxy
   * (Deno and Bun read `HTTPS_PROXY` themselves; Node 24's does with `NODE_USE_ENV_PROXY=1`).
   */
  readonly fetch?: typeof globalThis.fetch | undefined
  readonly hooks?: Hooks | undefined
}

/**
 * A transport that runs `hooks` around `transport`'s every send.
 *
 * @since 0.2.0
 * @category combinators
 */
export const withHooks: (transport: Transport["Service"], hooks: Hooks) => Transport["Service"] =
  HookedTransport.withHooks

const hooked = (transport: Transport["Service"], hooks: Hooks | undefined): Transport["Service"] =>
  hooks === undefined ? transport : HookedTransport.withHooks(transport, hooks)

/**
 * The undici transport; its agents live as long as the scope. Options out of range (a proxy URL that does not
 * parse …) make every send fail with `InvalidOptions`, before anything is sent.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeUndici = (options: UndiciOptions = {}): Effect.Effect<Transport["Service"], never, Scope.Scope> => {
  const config = resolve({
    maxConnections: options.maxConnections,
    connectTimeout: options.connectTimeout,
    keepAliveTimeout: options.keepAliveTimeout,
    proxy: options.proxy,
    allowInsecure: options.allowInsecure,
    ca: options.ca
  })
  const invalid = config.invalid
  if (invalid !== undefined) return Effect.succeed({ send: () => Effect.fail(invalid) })
  return Effect.map(UndiciTransport.fromConfig(config), (transport) => hooked(transport, options.hooks))
}

/**
 * The fetch transport.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeFetch = (options: FetchOptions = {}): Transport["Service"] =>
  hooked(FetchTransport.make(options.fetch), options.hooks)

/**
 * The undici transport with explicit options.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerUndici = (options: UndiciOptions = {}): Layer.Layer<Transport> =>
  Layer.effect(Transport, makeUndici(options))

/**
 * The undici transport with `OpenAiConfig`'s pool, proxy and `allowInsecure`: what `OpenAi` builds when the
 * context has no `Transport`, plus `hooks`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (
  options: { readonly hooks?: Hooks | undefined } = {}
): Layer.Layer<Transport, never, OpenAiConfig> =>
  Layer.effect(
    Transport,
    Effect.gen(function* () {
      const config = yield* OpenAiConfig
      return hooked(yield* UndiciTransport.fromConfig(config), options.hooks)
    })
  )

/**
 * The fetch transport.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerFetch = (options: FetchOptions = {}): Layer.Layer<Transport> =>
  Layer.succeed(Transport, makeFetch(options))
