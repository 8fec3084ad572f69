/**
 * A transport on the Web `fetch` (Bun, Deno, edge runtimes, or Node's global fetch), with the undici
 * transport's semantics: the headers and total timeouts abort with a reason (`Timeout { phase }`), closing the
 * scope aborts the request, the body streams, and the size cap sees only counted bytes.
 *
 * It calls `fetch` directly rather than through `effect/http`'s `FetchHttpClient`, for the reasons the undici
 * transport skips `HttpClient` (an abort with a reason, no span of its own under the call's span).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { OpenAiError } from "../../Errors.js"
import type { Request, Response, SendOptions, Transport } from "../../Transport.js"
import * as WebBody from "../webBody.js"
import { Attempt, announcedLength, encodeBody, splitUrl } from "./attempt.js"
import * as OwnedBody from "./ownedBody.js"

const headersOf = (headers: Headers): Readonly<Record<string, string>> => {
  const out: Record<string, string> = {}
  // Web `Headers` are already lower-case and joined with ", ".
  headers.forEach((value, name) => {
    out[name] = value
  })
  return out
}

/** The response of an attempt whose headers arrived; its body is read once, with `bytes` or `stream`. */
const responseOf = (attempt: Attempt, web: globalThis.Response): Response => {
  const headers = headersOf(web.headers)
  const body = web.body
  return {
    status: web.status,
    headers,
    contentLength: announcedLength(headers["content-length"], headers["content-encoding"]),
    stream:
      body === null
        ? Stream.fromEffect(Effect.sync(attempt.finish)).pipe(Stream.drain)
        : WebBody.fromReadableStream(() => body, attempt.bodyFailure).pipe(Stream.onEnd(Effect.sync(attempt.finish))),
    bytes: Effect.callback<Uint8Array, OpenAiError>((resume) => {
      web.arrayBuffer().then(
        (buffer) => {
          attempt.finish()
          // `arrayBuffer()` gives a fresh buffer each time (the Fetch standard): the body is the library's own
          resume(Effect.succeed(OwnedBody.own(new Uint8Array(buffer))))
        },
        (cause: unknown) => resume(Effect.fail(attempt.bodyFailure(cause)))
      )
    })
  }
}

/**
 * A transport on `fetchImpl` (the global `fetch` by default). No pool options: the runtime's fetch owns its
 * connections; `connectTimeoutMs` is only reported in a connect `Timeout` the runtime raises itself.
 *
 * @internal
 */
export const make = (fetchImpl: typeof globalThis.fetch = globalThis.fetch): Transport["Service"] => {
  const send = (request: Request, options?: SendOptions): Effect.Effect<Response, OpenAiError, Scope.Scope> =>
    Effect.flatMap(Effect.scope, (scope) => {
      const { origin, path } = splitUrl(request.url)
      const attempt = new Attempt(new AbortController(), request, origin, path, options)
      const { headers, body } = encodeBody(request)
      const response = Effect.callback<Response, OpenAiError>((resume) => {
        attempt.start()
        fetchImpl(request.url, {
          method: request.method,
          headers,
          // Our multipart bytes are a fresh `ArrayBuffer`-backed array (never a view on shared memory).
          body: body as BodyInit | null,
          signal: attempt.signal.signal,
          // Like undici's `request`: a redirect is the server's answer, not something to follow with the key.
          redirect: "manual"
        }).then(
          (web) => {
            attempt.headersArrived()
            resume(Effect.succeed(responseOf(attempt, web)))
          },
          (error: unknown) => {
            attempt.finish()
            resume(Effect.fail(attempt.requestFailure(error, undefined)))
          }
        )
        return Effect.sync(attempt.close)
      })
      return Effect.andThen(Scope.addFinalizer(scope, Effect.sync(attempt.close)), response)
    })
  return { send }
}
