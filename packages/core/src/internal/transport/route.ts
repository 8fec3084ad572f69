/**
 * Which way a request goes: undici's direct `Agent`, or a `ProxyAgent` (CONNECT tunnels for https targets,
 * absolute-URI requests for http ones) when a proxy applies to the origin. Decided once per origin.
 *
 * undici's `EnvHttpProxyAgent` is not used: it reads `process.env` itself, past Effect's `Config` (and a test's
 * `ConfigProvider`), and it cannot say which way an origin goes, which the plain-http rule needs.
 *
 * @internal
 */
import Undici from "@effect/platform-node/Undici"
import * as Redacted from "effect/Redacted"
import { InvalidRequest } from "../../Errors.js"
import { bypasses, defaultPort, display, isLoopback, type ProxySettings } from "./proxy.js"

/** @internal */
export interface Route {
  readonly dispatcher: Undici.Dispatcher
  /** ` through proxy http://host:port`, or "" for a direct connection. */
  readonly via: string
  /** Set when this origin must not be sent to (plain http through a proxy that is not on this machine). */
  readonly refused: InvalidRequest | undefined
}

/** @internal */
export interface Router {
  readonly route: (origin: string) => Route
  readonly destroy: () => Promise<unknown>
}

/** One `ProxyAgent` per proxy URL, made on first use; its credentials go only in `Proxy-Authorization`. */
const proxyAgents = (
  agentOptions: Undici.Agent.Options,
  tls: { readonly timeout: number; readonly ca?: ReadonlyArray<string> }
) => {
  const tlsOptions = tls.ca === undefined ? { timeout: tls.timeout } : { timeout: tls.timeout, ca: [...tls.ca] }
  const agents = new Map<string, Undici.ProxyAgent>()
  const agentFor = (url: Redacted.Redacted<string>): Undici.ProxyAgent => {
    const parsed = new URL(Redacted.value(url))
    const key = parsed.href
    const existing = agents.get(key)
    if (existing !== undefined) return existing
    const user = decodeURIComponent(parsed.username)
    const password = decodeURIComponent(parsed.password)
    const token = user === "" && password === "" ? undefined : `Basic ${btoa(`${user}:${password}`)}`
    parsed.username = ""
    parsed.password = ""
    // The URI undici keeps carries no credentials: they travel only in the Proxy-Authorization header.
    const agent = new Undici.ProxyAgent({
      ...agentOptions,
      uri: parsed.href,
      proxyTls: tlsOptions,
      requestTls: tlsOptions,
      ...(token === undefined ? {} : { token })
    })
    agents.set(key, agent)
    return agent
  }
  return { agentFor, destroy: () => Promise.all(Array.from(agents.values(), (agent) => agent.destroy())) }
}

/** The route of one origin: direct unless a proxy applies; plain http to a proxy elsewhere is refused. */
const decide = (
  proxy: ProxySettings | undefined,
  allowInsecure: boolean,
  directRoute: Route,
  agentFor: (url: Redacted.Redacted<string>) => Undici.ProxyAgent,
  origin: string
): Route => {
  if (proxy === undefined) return directRoute
  const url = new URL(origin)
  const proxyUrl = url.protocol === "https:" ? proxy.https : proxy.http
  if (proxyUrl === undefined) return directRoute
  if (bypasses(proxy.noProxy, url.hostname, Number(url.port) || defaultPort(url.protocol))) return directRoute
  const shown = display(Redacted.value(proxyUrl))
  const proxyHost = new URL(Redacted.value(proxyUrl)).hostname
  const refused =
    url.protocol === "http:" && !allowInsecure && !isLoopback(proxyHost)
      ? new InvalidRequest({
          message: `refusing plain http to ${origin} through proxy ${shown} (the API key would travel unencrypted to the proxy): put the host in NO_PROXY, use https, or allow it with allowInsecure: true`,
          path: "proxy"
        })
      : undefined
  return { dispatcher: agentFor(proxyUrl), via: ` through proxy ${shown}`, refused }
}

/**
 * Routes origins to the direct agent or to a proxy agent (one per proxy URL, made on first use, destroyed by
 * `destroy`), remembering each origin's route (a client talks to one or two origins).
 *
 * @internal
 */
export const makeRouter = (
  proxy: ProxySettings | undefined,
  allowInsecure: boolean,
  direct: Undici.Dispatcher,
  agentOptions: Undici.Agent.Options,
  /** The connect timeout and trusted certificates, for the proxy and for the target through it. */
  tls: { readonly timeout: number; readonly ca?: ReadonlyArray<string> }
): Router => {
  const directRoute: Route = { dispatcher: direct, via: "", refused: undefined }
  const agents = proxyAgents(agentOptions, tls)
  const routes = new Map<string, Route>()
  return {
    route: (origin: string): Route => {
      let route = routes.get(origin)
      if (route === undefined) {
        route = decide(proxy, allowInsecure, directRoute, agents.agentFor, origin)
        routes.set(origin, route)
      }
      return route
    },
    destroy: agents.destroy
  }
}
