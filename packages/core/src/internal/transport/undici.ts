/**
 * The default transport: undici's dispatcher driven directly (`dispatch` with a handler of ours, `Exchange`), on our own `Agent` with a
 * bounded pool, or through a `ProxyAgent` when a proxy applies to the origin.
 *
 * It does not go through `effect/http`'s `HttpClient`: on this hot path the generic client (a span, `Headers` and
 * `URL` objects, a timeout racing a fiber) cost more CPU than undici itself, and it cannot abort with a reason
 * (docs/decisions/0004-direct-undici.md).
 *
 * @internal
 */
import * as Tls from "node:tls"
import Undici from "@effect/platform-node/Undici"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import type { OpenAiError } from "../../Errors.js"
import type { Resolved } from "../../OpenAiConfig.js"
import type { Request, Response, SendOptions, Transport } from "../../Transport.js"
import { Attempt, encodeBody, splitUrl } from "./attempt.js"
import { Exchange } from "./exchange.js"
import type { ProxySettings } from "./proxy.js"
import { makeRouter, type Router } from "./route.js"

/** @internal */
export interface Settings {
  readonly maxConnections: number
  readonly connectTimeout: Duration.Duration
  readonly keepAliveTimeout: Duration.Duration
  readonly proxy?: ProxySettings | undefined
  readonly allowInsecure?: boolean | undefined
  readonly ca?: ReadonlyArray<string> | undefined
}

/**
 * The transport settings of a client configuration: its pool, proxy and `allowInsecure`.
 *
 * @internal
 */
export const settingsOf = (config: Resolved): Settings => ({
  maxConnections: config.maxConnections,
  connectTimeout: config.connectTimeout,
  keepAliveTimeout: config.keepAliveTimeout,
  proxy: config.proxy,
  allowInsecure: config.allowInsecure,
  ca: config.ca
})

/** The router over the direct agent (and proxy agents), destroyed with the scope. */
const makeRoutes = (settings: Settings, connectTimeoutMs: number) => {
  // Node's `ca` replaces the trusted roots: extra certificates are added to them, not put in their place.
  const ca = settings.ca === undefined ? undefined : [...Tls.rootCertificates, ...settings.ca]
  const agentOptions: Undici.Agent.Options = {
    connections: settings.maxConnections,
    connect: { timeout: connectTimeoutMs, ...(ca === undefined ? {} : { ca }) },
    keepAliveTimeout: Duration.toMillis(settings.keepAliveTimeout),
    // Our own timers decide (SendOptions); streams have first-token and idle timeouts of their own.
    headersTimeout: 0,
    bodyTimeout: 0
  }
  return Effect.acquireRelease(
    Effect.sync(() => {
      const direct = new Undici.Agent(agentOptions)
      const router = makeRouter(settings.proxy, settings.allowInsecure ?? false, direct, agentOptions, {
        timeout: connectTimeoutMs,
        ...(ca === undefined ? {} : { ca })
      })
      return { ...router, destroy: () => Promise.all([direct.destroy(), router.destroy()]) }
    }),
    (router) => Effect.promise(router.destroy)
  )
}

/** Sends one request on its route, in the current scope (closing it aborts the request). */
const sendOn =
  (router: Router, connectTimeoutMs: number) =>
  (request: Request, options?: SendOptions): Effect.Effect<Response, OpenAiError, Scope.Scope> =>
    Effect.flatMap(Effect.scope, (scope) => {
      const { origin, path } = splitUrl(request.url)
      const route = router.route(origin)
      if (route.refused !== undefined) return Effect.fail(route.refused)
      const exchange = new Exchange(connectTimeoutMs)
      const attempt = new Attempt(exchange, request, origin, path, options, route.via)
      exchange.attempt = attempt
      const { headers, body } = encodeBody(request)
      const close = Effect.sync(attempt.close)
      const response = Effect.callback<Response, OpenAiError>((resume) => {
        attempt.start()
        exchange.start(resume, () =>
          route.dispatcher.dispatch({ origin, path, method: request.method, headers, body }, exchange)
        )
        return close
      })
      return Effect.andThen(Scope.addFinalizer(scope, close), response)
    })

/**
 * A transport on undici; its agents are destroyed with the scope.
 *
 * @internal
 */
export const make = (settings: Settings): Effect.Effect<Transport["Service"], never, Scope.Scope> => {
  const connectTimeoutMs = Duration.toMillis(settings.connectTimeout)
  return Effect.map(makeRoutes(settings, connectTimeoutMs), (router) => ({ send: sendOn(router, connectTimeoutMs) }))
}
