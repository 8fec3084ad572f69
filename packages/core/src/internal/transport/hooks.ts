/**
 * A transport with hooks around each send: `onRequest` may rewrite the request (add headers …) and
 * `onResponse` observes the status and headers once they arrived. Neither sees nor sets `authorization`: it is
 * taken out before `onRequest` and put back after it, so a hook that logs what it sees cannot log the key.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { Hooks, Request, Transport } from "../../Transport.js"

const withoutAuthorization = (headers: Readonly<Record<string, string>>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const name in headers) if (name.toLowerCase() !== "authorization") out[name] = headers[name]!
  return out
}

/** @internal */
export const withHooks = (transport: Transport["Service"], hooks: Hooks): Transport["Service"] => ({
  send: (request, options) =>
    Effect.gen(function* () {
      const authorization = request.headers.authorization
      const seen: Request = { ...request, headers: withoutAuthorization(request.headers) }
      const rewritten = hooks.onRequest === undefined ? seen : yield* hooks.onRequest(seen)
      const headers = withoutAuthorization(rewritten.headers)
      if (authorization !== undefined) headers.authorization = authorization
      const response = yield* transport.send({ ...rewritten, headers }, options)
      if (hooks.onResponse !== undefined) {
        yield* hooks.onResponse({ request: rewritten, status: response.status, headers: response.headers })
      }
      return response
    })
})
