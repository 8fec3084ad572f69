/**
 * How the client talks to the server: base URL, organization and project headers, timeouts by phase, the
 * connection pool, the response size cap, the retry policy and the safety rules (`maxTokensPolicy`,
 * `allowInsecure`). Build it from options with `layer`, or from the environment with `layerConfig`
 * (`OPENAI_BASE_URL`, `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`, like the official SDKs).
 *
 * @since 0.1.0
 */
import { Config, Context, Duration, Effect, Either, Layer, Option } from "effect"
import { type InvalidOptions, InvalidRequest } from "./Errors.js"
import * as Check from "./internal/options.js"
import * as Retry from "./Retry.js"

/**
 * What a chat request without `max_tokens` / `max_completion_tokens` gets: nothing, a warning log, or an
 * `InvalidRequest` before sending. An unbounded completion is also an unbounded cost and token reservation.
 *
 * @since 0.1.0
 * @category models
 */
export type MaxTokensPolicy = "off" | "warn" | "require"

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
  readonly connectTimeout?: Duration.DurationInput | undefined
  /** From sending the request to the response headers. Default 10 min (a non-streamed completion sends its headers when it is done). */
  readonly headersTimeout?: Duration.DurationInput | undefined
  /** One attempt of a non-streamed call, from send to the whole body read. Default 10 min. */
  readonly totalTimeout?: Duration.DurationInput | undefined
  /** Connections per origin. Default 64. */
  readonly maxConnections?: number | undefined
  /** Idle keep-alive of pooled sockets. Default 30 s. */
  readonly keepAliveTimeout?: Duration.DurationInput | undefined
  /** The largest response body read into memory (counted while reading). Default 64 MiB. */
  readonly maxResponseBytes?: number | undefined
  /** Default `"warn"`. */
  readonly maxTokensPolicy?: MaxTokensPolicy | undefined
  /** Allow plain `http://` to a non-loopback host. Default false: the key would cross the network in clear text. */
  readonly allowInsecure?: boolean | undefined
  /** Extra headers on every request (never `authorization`: that comes from `Credentials`). */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Default `sluice/0.1.0`. */
  readonly userAgent?: string | undefined
  /** Overrides of `Retry.defaults`. */
  readonly retry?: Partial<Retry.Policy> | undefined
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
export class OpenAiConfig extends Context.Tag("@sluice/core/OpenAiConfig")<OpenAiConfig, Resolved>() {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const defaultBaseUrl = "https://api.openai.com/v1"

/**
 * @since 0.1.0
 * @category constructors
 */
export const userAgent = "sluice/0.1.0"

/**
 * Checks the options: the connect, headers and total timeouts are durations > 0, `keepAliveTimeout` ≥ 0,
 * `maxConnections` and `maxResponseBytes` integers ≥ 1, `maxTokensPolicy` one of its values, and `retry` as
 * `Retry.validate` says (`retry.maxAttempts` ≥ 1 …). The one place these options are checked: `resolve` uses it.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (options: Options): Either.Either<Options, InvalidOptions> => {
  const problem = Check.first(
    Check.duration("connectTimeout", options.connectTimeout, true),
    Check.duration("headersTimeout", options.headersTimeout, true),
    Check.duration("totalTimeout", options.totalTimeout, true),
    Check.duration("keepAliveTimeout", options.keepAliveTimeout, false),
    Check.integer("maxConnections", options.maxConnections, 1),
    Check.integer("maxResponseBytes", options.maxResponseBytes, 1),
    Check.oneOf("maxTokensPolicy", options.maxTokensPolicy, ["off", "warn", "require"]),
    options.retry === undefined
      ? undefined
      : Either.getLeft(Retry.validate(options.retry, "retry")).pipe(Option.getOrUndefined)
  )
  return problem === undefined ? Either.right(options) : Either.left(problem)
}

/**
 * Fills in the defaults. Never throws: an option out of range ({@link validate}) is replaced by its default and
 * recorded in `invalid`, which makes every call of the client fail with it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolve = (options: Options = {}): Resolved => {
  const invalid = Either.getLeft(validate(options)).pipe(Option.getOrUndefined)
  const safe: Options = invalid === undefined ? options : {}
  return {
    baseUrl: (options.baseUrl ?? defaultBaseUrl).replace(/\/+$/, ""),
    organization: options.organization,
    project: options.project,
    connectTimeout: Duration.decode(safe.connectTimeout ?? "10 seconds"),
    headersTimeout: Duration.decode(safe.headersTimeout ?? "10 minutes"),
    totalTimeout: Duration.decode(safe.totalTimeout ?? "10 minutes"),
    maxConnections: safe.maxConnections ?? 64,
    keepAliveTimeout: Duration.decode(safe.keepAliveTimeout ?? "30 seconds"),
    maxResponseBytes: safe.maxResponseBytes ?? 64 * 1024 * 1024,
    maxTokensPolicy: safe.maxTokensPolicy ?? "warn",
    allowInsecure: options.allowInsecure ?? false,
    headers: options.headers ?? {},
    userAgent: options.userAgent ?? userAgent,
    retry: Retry.policy(safe.retry),
    ...(invalid === undefined ? {} : { invalid })
  }
}

const isLoopback = (hostname: string): boolean => {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase()
  return host === "localhost" || host.endsWith(".localhost") || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host)
}

/**
 * Checks the base URL: it must parse, be `http:` or `https:`, and plain `http:` is only accepted for a
 * loopback host (127.0.0.0/8, `localhost`, `::1`) unless `allowInsecure`.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkBaseUrl = (config: Pick<Resolved, "baseUrl" | "allowInsecure">): Effect.Effect<URL, InvalidRequest> =>
  Effect.suspend(() => {
    let url: URL
    try {
      url = new URL(config.baseUrl)
    } catch {
      return Effect.fail(
        new InvalidRequest({ message: `base URL "${config.baseUrl}" is not a valid URL`, path: "baseUrl" })
      )
    }
    if (url.username !== "" || url.password !== "") {
      return Effect.fail(
        new InvalidRequest({ message: "base URL must not carry credentials; use Credentials", path: "baseUrl" })
      )
    }
    if (url.protocol === "https:") return Effect.succeed(url)
    if (url.protocol !== "http:") {
      return Effect.fail(
        new InvalidRequest({ message: `base URL "${config.baseUrl}" must be http or https`, path: "baseUrl" })
      )
    }
    if (config.allowInsecure || isLoopback(url.hostname)) return Effect.succeed(url)
    return Effect.fail(
      new InvalidRequest({
        message: `refusing plain http to non-loopback host: ${url.origin} (the API key would travel unencrypted): use https, or allow it with allowInsecure: true (CLI: --allow-insecure)`,
        path: "baseUrl"
      })
    )
  })

/**
 * A configuration from options.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<OpenAiConfig> => Layer.succeed(OpenAiConfig, resolve(options))

/**
 * The environment part of the configuration, like the official SDKs: `OPENAI_BASE_URL`, `OPENAI_ORG_ID`,
 * `OPENAI_PROJECT_ID`. The key (`OPENAI_API_KEY`) is read by `Credentials.fromConfig`.
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Options> = Config.all({
  baseUrl: Config.option(Config.string("OPENAI_BASE_URL")).pipe(Config.map(Option.getOrUndefined)),
  organization: Config.option(Config.string("OPENAI_ORG_ID")).pipe(Config.map(Option.getOrUndefined)),
  project: Config.option(Config.string("OPENAI_PROJECT_ID")).pipe(Config.map(Option.getOrUndefined))
})

/**
 * A configuration from `options`, with `config` (the environment by default) filling what they leave out.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (options: Options = {}): Layer.Layer<OpenAiConfig, ConfigErrorType> =>
  Layer.effect(
    OpenAiConfig,
    Effect.map(config, (fromEnv) =>
      resolve({
        ...options,
        baseUrl: options.baseUrl ?? fromEnv.baseUrl,
        organization: options.organization ?? fromEnv.organization,
        project: options.project ?? fromEnv.project
      })
    )
  )

type ConfigErrorType = Effect.Effect.Error<typeof config>
