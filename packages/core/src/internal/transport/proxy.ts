/**
 * The proxy rules, without any platform: `NO_PROXY` matching, loopback hosts, which proxy URLs are accepted, and
 * a proxy's address as said in messages (never its credentials). `route.ts` applies them to undici's agents.
 *
 * @internal
 */
import * as Redacted from "effect/Redacted"

/** @internal */
export interface ProxySettings {
  readonly http: Redacted.Redacted<string> | undefined
  readonly https: Redacted.Redacted<string> | undefined
  readonly noProxy: string
}

/** @internal */
export { isLoopback } from "../baseUrl.js"

/**
 * A proxy URL as it may be shown: scheme, host and port, without user, password or path.
 *
 * @internal
 */
export const display = (url: string): string => {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.host}`
  } catch {
    return "(an unparsable URL)"
  }
}

/**
 * Why a proxy URL is refused, or `undefined`: it must parse, be `http:` or `https:`, and name a host. The
 * message shows the URL without its credentials.
 *
 * @internal
 */
export const problem = (url: Redacted.Redacted<string>): string | undefined => {
  let parsed: URL
  try {
    parsed = new URL(Redacted.value(url))
  } catch {
    return "not a valid URL"
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return `scheme ${parsed.protocol} is neither`
  if (parsed.hostname === "") return "no host"
  return undefined
}

/** @internal */
export const defaultPort = (protocol: string) => (protocol === "https:" ? 443 : 80)

/**
 * Whether `NO_PROXY` sends `hostname:port` around the proxy, with the rules of curl and undici: `*` for every
 * host; `example.com` and `.example.com` for that host and its subdomains; `*.example.com` for subdomains only;
 * an optional `:port` (`[::1]:443` for IPv6); entries separated by commas or spaces.
 *
 * @internal
 */
export const bypasses = (noProxy: string, hostname: string, port: number): boolean => {
  const host = hostname
    .replace(/^\[(.+)\]$/, "$1")
    .replace(/\.$/, "")
    .toLowerCase()
  for (const raw of noProxy.split(/[,\s]+/)) {
    if (raw === "") continue
    const bracketed = raw.match(/^\[(.+)\](?::(\d+))?$/)
    const hostPort = bracketed === null ? raw.match(/^([^:]+):(\d+)$/) : null
    const name = (bracketed?.[1] ?? hostPort?.[1] ?? raw).toLowerCase()
    const entryPort = Number(bracketed?.[2] ?? hostPort?.[2] ?? 0)
    if (entryPort !== 0 && entryPort !== port) continue
    if (name === "*") return true
    const subdomainsOnly = name.startsWith("*.")
    const domain = name.replace(/^\*?\./, "").replace(/\.$/, "")
    if (!subdomainsOnly && host === domain) return true
    if (host.endsWith(`.${domain}`)) return true
  }
  return false
}
