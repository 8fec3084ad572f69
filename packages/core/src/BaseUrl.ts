/**
 * The base URL rule shared by `OpenAiConfig.checkBaseUrl` and the CLI's flag checks: a base URL must parse, be
 * `http:` or `https:`, carry no user name or password, and use plain `http:` only to a loopback host
 * (127.0.0.0/8, `localhost`, `*.localhost`, `::1`) unless `allowInsecure`. No dependency (not even Effect), so a
 * command can check its flags before loading the client.
 *
 * @since 0.2.0
 */
import * as internal from "./internal/baseUrl.js"

/**
 * What is wrong with a base URL: it does not parse, it carries credentials, its scheme is not http(s), or it is
 * plain http to a host that is not loopback (the API key would travel unencrypted).
 *
 * @since 0.2.0
 * @category models
 */
export type Problem = internal.Problem

/**
 * Whether a host name (as `URL.hostname` gives it, IPv6 in brackets or not) is loopback.
 *
 * @since 0.2.0
 * @category predicates
 */
export const isLoopback: (hostname: string) => boolean = internal.isLoopback

/**
 * Checks a base URL: the parsed `url`, or the `problem`.
 *
 * @since 0.2.0
 * @category validation
 */
export const check: (
  raw: string,
  allowInsecure: boolean
) => { readonly url: URL; readonly problem?: undefined } | { readonly url?: undefined; readonly problem: Problem } =
  internal.check
