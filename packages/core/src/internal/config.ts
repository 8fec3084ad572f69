/**
 * The bodies of the public `OpenAiConfig` module: checking the options, filling in the defaults, the base URL
 * check's messages, and reading the environment.
 *
 * @internal
 */
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import { InvalidOptions, InvalidRequest } from "../Errors.js"
import type { Options, Proxy as ProxySettings, ProxyOptions, Resolved } from "../OpenAiConfig.js"
import * as Retry from "../Retry.js"
import * as BaseUrl from "./baseUrl.js"
import * as Check from "./options.js"
import * as ProxyRoute from "./transport/proxy.js"

/** @internal */
export const defaultBaseUrl = "https://api.openai.com/v1"

/** @internal */
export const userAgent = "sluice/0.2.0"

/** @internal */
export const validate = (options: Options): Result.Result<Options, InvalidOptions> => {
  const retry = options.retry === undefined ? undefined : Retry.validate(options.retry, "retry")
  const problem = Check.first(
    Check.duration("connectTimeout", options.connectTimeout, true),
    Check.duration("headersTimeout", options.headersTimeout, true),
    Check.duration("totalTimeout", options.totalTimeout, true),
    Check.duration("keepAliveTimeout", options.keepAliveTimeout, false),
    Check.integer("maxConnections", options.maxConnections, 1),
    Check.integer("maxResponseBytes", options.maxResponseBytes, 1),
    Check.oneOf("maxTokensPolicy", options.maxTokensPolicy, ["off", "warn", "require"]),
    retry !== undefined && Result.isFailure(retry) ? retry.failure : undefined,
    proxyProblem(resolveProxy(options.proxy))
  )
  return problem === undefined ? Result.succeed(options) : Result.fail(problem)
}

const redactedOf = (url: string | Redacted.Redacted<string> | undefined): Redacted.Redacted<string> | undefined =>
  url === undefined || url === "" ? undefined : typeof url === "string" ? Redacted.make(url) : url

/** @internal */
export const resolveProxy = (proxy: Options["proxy"]): ProxySettings | undefined => {
  if (proxy === undefined || proxy === false) return undefined
  const both = typeof proxy === "string" || Redacted.isRedacted(proxy)
  const https = redactedOf(both ? proxy : proxy.https)
  const http = redactedOf(both ? proxy : proxy.http)
  if (https === undefined && http === undefined) return undefined
  return { https, http, noProxy: both ? "" : (proxy.noProxy ?? "") }
}

const proxyProblem = (proxy: ProxySettings | undefined): InvalidOptions | undefined => {
  for (const [option, url] of [
    ["proxy.https", proxy?.https],
    ["proxy.http", proxy?.http]
  ] as const) {
    const problem = url === undefined ? undefined : ProxyRoute.problem(url)
    if (url !== undefined && problem !== undefined) {
      // The value as shown: scheme, host and port only (the URL may carry a password).
      return new InvalidOptions({
        option,
        value: ProxyRoute.display(Redacted.value(url)),
        expected: `an http:// or https:// proxy URL (${problem})`
      })
    }
  }
  return undefined
}

/** @internal */
export const resolve = (options: Options = {}): Resolved => {
  const checked = validate(options)
  const invalid = Result.isFailure(checked) ? checked.failure : undefined
  const safe: Options = invalid === undefined ? options : {}
  return {
    baseUrl: (options.baseUrl ?? defaultBaseUrl).replace(/\/+$/, ""),
    organization: options.organization,
    project: options.project,
    connectTimeout: Duration.fromInputUnsafe(safe.connectTimeout ?? "10 seconds"),
    headersTimeout: Duration.fromInputUnsafe(safe.headersTimeout ?? "10 minutes"),
    totalTimeout: Duration.fromInputUnsafe(safe.totalTimeout ?? "10 minutes"),
    maxConnections: safe.maxConnections ?? 64,
    keepAliveTimeout: Duration.fromInputUnsafe(safe.keepAliveTimeout ?? "30 seconds"),
    maxResponseBytes: safe.maxResponseBytes ?? 64 * 1024 * 1024,
    maxTokensPolicy: safe.maxTokensPolicy ?? "warn",
    allowInsecure: options.allowInsecure ?? false,
    headers: options.headers ?? {},
    userAgent: options.userAgent ?? userAgent,
    retry: Retry.policy(safe.retry),
    proxy: resolveProxy(safe.proxy),
    ca: options.ca === undefined ? undefined : typeof options.ca === "string" ? [options.ca] : options.ca,
    ...(invalid === undefined ? {} : { invalid })
  }
}

/** @internal */
export const checkBaseUrl = (config: Pick<Resolved, "baseUrl" | "allowInsecure">): Effect.Effect<URL, InvalidRequest> =>
  Effect.suspend(() => {
    const { url, problem } = BaseUrl.check(config.baseUrl, config.allowInsecure)
    if (url !== undefined) return Effect.succeed(url)
    return Effect.fail(new InvalidRequest({ message: baseUrlMessage(config.baseUrl, problem), path: "baseUrl" }))
  })

const baseUrlMessage = (raw: string, problem: BaseUrl.Problem): string => {
  switch (problem._tag) {
    case "NotUrl":
      return `base URL "${raw}" is not a valid URL`
    case "Credentials":
      return "base URL must not carry credentials; use Credentials"
    case "Scheme":
      return `base URL "${raw}" must be http or https`
    case "Insecure":
      return `refusing plain http to non-loopback host: ${problem.origin} (the API key would travel unencrypted): use https, or allow it with allowInsecure: true (CLI: --allow-insecure)`
  }
}

const optionalString = (name: string) => Config.option(Config.String(name)).pipe(Config.map(Option.getOrUndefined))

/** The lower-case name first (curl and undici do the same), then the upper-case one; an empty value is unset. */
const proxyVariable = (name: string): Config.Config<Redacted.Redacted<string> | undefined> =>
  Config.all([Config.option(Config.Redacted(name.toLowerCase())), Config.option(Config.Redacted(name))]).pipe(
    Config.map(([lower, upper]) =>
      [lower, upper]
        .map(Option.getOrUndefined)
        .find((value) => value !== undefined && Redacted.value(value).trim() !== "")
    )
  )

/** @internal */
export const proxyConfig: Config.Config<ProxyOptions | undefined> = Config.all({
  https: proxyVariable("HTTPS_PROXY"),
  http: proxyVariable("HTTP_PROXY"),
  noProxy: Config.all([optionalString("no_proxy"), optionalString("NO_PROXY")]).pipe(
    Config.map(([lower, upper]) => lower ?? upper)
  )
}).pipe(Config.map((proxy) => (proxy.https === undefined && proxy.http === undefined ? undefined : proxy)))

/** @internal */
export const config: Config.Config<Options> = Config.all({
  baseUrl: optionalString("OPENAI_BASE_URL"),
  organization: optionalString("OPENAI_ORG_ID"),
  project: optionalString("OPENAI_PROJECT_ID"),
  proxy: proxyConfig
})
