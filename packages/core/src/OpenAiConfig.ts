/**
 * How the client talks to the server: base URL, organization and project headers, timeouts by phase, the
 * connection pool, the proxy, the response size cap, the retry policy and the safety rules (`maxTokensPolicy`,
 * `allowInsecure`). Build it from options with `layer`, or from the environment with `layerConfig`
 * (`OPENAI_BASE_URL`, `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`, like the official SDKs, and `HTTPS_PROXY`,
 * `HTTP_PROXY`, `NO_PROXY`).
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Result from "effect/Result"
import type { InvalidOptions, InvalidRequest } from "./Errors.js"
import * as internal from "./internal/config.js"
import type * as Retry from "./Retry.js"

/**
 * What a chat request without `max_tokens` / `max_completion_tokens` gets: nothing, a warning log, or an
 * `InvalidRequest` before sending. An unbounded completion is also an unbounded cost and token reservation.
 *
 * @since 0.1.0
 * @category models
 */
export type MaxTokensPolicy = "off" | "warn" | "require"

/**
 * A forward proxy, by the scheme of the base URL it is used for. A URL is `http://host:port` or
 * `https://host:port` and may carry `user:password@` (sent as `Proxy-Authorization: Basic`, never shown: messages
 * say `http://host:port`). `noProxy` lists the hosts reached directly, with `NO_PROXY`'s syntax
 * (`localhost,127.0.0.1,.internal.example.com,*`).
 *
 * @since 0.2.0
 * @category models
 */
export interface ProxyOptions {
  /** For an `https://` base URL (a CONNECT tunnel: the proxy sees the host, not the request). */
  readonly https?: string | Redacted.Redacted<string> | undefined
  /** For an `http://` base URL (the proxy sees the whole request, key included). */
  readonly http?: string | Redacted.Redacted<string> | undefined
  readonly noProxy?: string | undefined
}

/**
 * The resolved proxy: URLs kept `Redacted` (they may hold credentials).
 *
 * @since 0.2.0
 * @category models
 */
export interface Proxy {
  readonly https: Redacted.Redacted<string> | undefined
  readonly http: Redacted.Redacted<string> | undefined
  readonly noProxy: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Default `https://api.openai.com/v1`. */
  readonly baseUrl?: string | undefined
  /** Sent as `OpenAI-Organization`. */
  readonly organization?: string | undefined
  /** Sent as `OpenAI-Project`. */
  readonly project?: string | undefined
  /** TCP + TLS handshake. Default 10 s. */
  readonly connectTimeout?: Duration.Input | undefined
  /** From sending the request to the response headers. Default 10 min (a non-streamed completion sends its headers when it is done). */
  readonly headersTimeout?: Duration.Input | undefined
  /** One attempt of a non-streamed call, from send to the whole body read. Default 10 min. */
  readonly totalTimeout?: Duration.Input | undefined
  /** Connections per origin. Default 64. */
  readonly maxConnections?: number | undefined
  /** Idle keep-alive of pooled sockets. Default 30 s. */
  readonly keepAliveTimeout?: Duration.Input | undefined
  /** The largest response body read into memory (counted while reading). Default 64 MiB. */
  readonly maxResponseBytes?: number | undefined
  /** Default `"warn"`. */
  readonly maxTokensPolicy?: MaxTokensPolicy | undefined
  /** Allow plain `http://` to a non-loopback host. Default false: the key would cross the network in clear text. */
  readonly allowInsecure?: boolean | undefined
  /** Extra headers on every request (never `authorization`: that comes from `Credentials`). */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Default `sluice/0.2.0`. */
  readonly userAgent?: string | undefined
  /** Overrides of `Retry.defaults`. */
  readonly retry?: Partial<Retry.Policy> | undefined
  /**
   * A forward proxy for the default (undici) transport: one URL for both schemes, or {@link ProxyOptions}.
   * `layerConfig` reads `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` (lower-case names first) when this is
   * `undefined`; `false` means no proxy whatever the environment says. Default: none.
   */
  readonly proxy?: string | Redacted.Redacted<string> | ProxyOptions | false | undefined
  /**
   * PEM certificates the default transport trusts besides Node's own: a TLS-inspecting proxy's CA, a private
   * server's. Default none (`NODE_EXTRA_CA_CERTS` works too).
   */
  readonly ca?: string | ReadonlyArray<string> | undefined
}

/**
 * The resolved configuration.
 *
 * @since 0.1.0
 * @category models
 */
export interface Resolved {
  readonly baseUrl: string
  readonly organization: string | undefined
  readonly project: string | undefined
  readonly connectTimeout: Duration.Duration
  readonly headersTimeout: Duration.Duration
  readonly totalTimeout: Duration.Duration
  readonly maxConnections: number
  readonly keepAliveTimeout: Duration.Duration
  readonly maxResponseBytes: number
  readonly maxTokensPolicy: MaxTokensPolicy
  readonly allowInsecure: boolean
  readonly headers: Readonly<Record<string, string>>
  readonly userAgent: string
  readonly retry: Retry.Policy
  /** The proxy of the default transport; `undefined` for none. */
  readonly proxy?: Proxy | undefined
  /** Extra trusted certificates of the default transport (PEM). */
  readonly ca?: ReadonlyArray<string> | undefined
  /**
   * Set when an option was out of range ({@link validate}); the defaults stand in for it, and every call of a
   * client built from this configuration fails with this error before anything is sent.
   */
  readonly invalid?: InvalidOptions | undefined
}

/**
 * @since 0.1.0
 * @category services
 */
export class OpenAiConfig extends Context.Service<OpenAiConfig, Resolved>()("@sluice/core/OpenAiConfig") {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const defaultBaseUrl = internal.defaultBaseUrl

/**
 * @since 0.1.0
 * @category constructors
 */
export const userAgent = internal.userAgent

/**
 * Checks the options: the connect, headers and total timeouts are durations > 0, `keepAliveTimeout` ≥ 0,
 * `maxConnections` and `maxResponseBytes` integers ≥ 1, `maxTokensPolicy` one of its values, and `retry` as
 * `Retry.validate` says (`retry.maxAttempts` ≥ 1 …). The one place these options are checked: `resolve` uses it.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate: (options: Options) => Result.Result<Options, InvalidOptions> = internal.validate

/**
 * The proxy of `options.proxy`: a single URL stands for both schemes; `false`, `undefined` or no URL at all
 * is no proxy.
 *
 * @since 0.2.0
 * @category constructors
 */
export const resolveProxy: (proxy: Options["proxy"]) => Proxy | undefined = internal.resolveProxy

/**
 * Fills in the defaults. Never throws: an option out of range ({@link validate}) is replaced by its default and
 * recorded in `invalid`, which makes every call of the client fail with it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolve: (options?: Options) => Resolved = internal.resolve

/**
 * Checks the base URL: it must parse, be `http:` or `https:`, and plain `http:` is only accepted for a
 * loopback host (127.0.0.0/8, `localhost`, `::1`) unless `allowInsecure`.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkBaseUrl: (config: Pick<Resolved, "baseUrl" | "allowInsecure">) => Effect.Effect<URL, InvalidRequest> =
  internal.checkBaseUrl

/**
 * A configuration from options.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<OpenAiConfig> => Layer.succeed(OpenAiConfig, resolve(options))

/**
 * The proxy from the environment: `HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY` (each also lower-case, which wins).
 * URLs are read as `Redacted`.
 *
 * @since 0.2.0
 * @category config
 */
export const proxyConfig: Config.Config<ProxyOptions | undefined> = internal.proxyConfig

/**
 * The environment part of the configuration, like the official SDKs: `OPENAI_BASE_URL`, `OPENAI_ORG_ID`,
 * `OPENAI_PROJECT_ID`, and the proxy ({@link proxyConfig}). The key (`OPENAI_API_KEY`) is read by
 * `Credentials.fromConfig`.
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Options> = internal.config

/**
 * A configuration from `options`, with `config` (the environment by default) filling what they leave out.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (options: Options = {}): Layer.Layer<OpenAiConfig, Config.ConfigError> =>
  Layer.effect(
    OpenAiConfig,
    Effect.map(config, (fromEnv) =>
      resolve({
        ...options,
        baseUrl: options.baseUrl ?? fromEnv.baseUrl,
        organization: options.organization ?? fromEnv.organization,
        project: options.project ?? fromEnv.project,
        proxy: options.proxy ?? fromEnv.proxy
      })
    )
  )
