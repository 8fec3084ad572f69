/**
 * The base URL rule, in one place and without any import (the CLI checks its flags with it before loading Effect):
 * which hosts are loopback, and what is wrong with a base URL, if anything.
 *
 * @internal
 */

/** @internal */
export const isLoopback = (hostname: string): boolean => {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase()
  return host === "localhost" || host.endsWith(".localhost") || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host)
}

/** @internal */
export type Problem =
  | { readonly _tag: "NotUrl" }
  | { readonly _tag: "Credentials" }
  | { readonly _tag: "Scheme"; readonly protocol: string }
  | { readonly _tag: "Insecure"; readonly origin: string }

/** @internal */
export const check = (
  raw: string,
  allowInsecure: boolean
): { readonly url: URL; readonly problem?: undefined } | { readonly url?: undefined; readonly problem: Problem } => {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return { problem: { _tag: "NotUrl" } }
  }
  if (url.username !== "" || url.password !== "") return { problem: { _tag: "Credentials" } }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return { problem: { _tag: "Scheme", protocol: url.protocol } }
  }
  if (url.protocol === "http:" && !allowInsecure && !isLoopback(url.hostname)) {
    return { problem: { _tag: "Insecure", origin: url.origin } }
  }
  return { url }
}
