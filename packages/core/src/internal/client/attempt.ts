/**
 * One attempt: the key for it (read once), one pass through the call's gates, the HTTP request up to a 2xx
 * response (anything else is classified into its `OpenAiError`), then what the caller reads of the body, all in
 * the attempt's scope. Not public.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { ApiKey, Credentials } from "../../Credentials.js"
import { fromResponse, type OpenAiError } from "../../Errors.js"
import type * as Gates from "../../Gates.js"
import { parse as parseRateLimitHeaders, type RateLimitSnapshot } from "../../RateLimitHeaders.js"
import * as Http from "../http.js"
import type { CallSpec, Client } from "./spec.js"
import { decodeText, scrub, wireRequest } from "./wire.js"

/** An attempt whose response headers came with a 2xx status. */
export interface Started {
  readonly response: Http.WireResponse
  readonly status: number
  readonly requestId: string | undefined
  readonly snapshot: RateLimitSnapshot
  readonly startedAt: number
  readonly key: Redacted.Redacted<string>
  /** The attempt's clock, read once as a service: later reads (the latency) are plain calls on it. */
  readonly clock: Clock.Clock
}

/**
 * The key of each attempt: the one read at admission for the first, a fresh read (a rotation, the refresh
 * after a 401) for every later one.
 */
export const keys = (credentials: Credentials["Service"], first: ApiKey): Effect.Effect<ApiKey, OpenAiError> => {
  let pending: ApiKey | undefined = first
  return Effect.suspend(() => {
    const key = pending
    pending = undefined
    return key === undefined ? credentials.get : Effect.succeed(key)
  })
}

/** The request up to its response headers, in the current scope (which owns the HTTP request). */
const send = <A>(
  client: Client,
  spec: CallSpec<A>,
  call: Gates.Call,
  key: Redacted.Redacted<string>,
  timeouts: Http.SendOptions
): Effect.Effect<Started, OpenAiError, Scope.Scope> =>
  // One clock lookup per attempt: its reads are plain calls, not effects (docs/decisions/0014-call-hot-path.md).
  Clock.clockWith((clock) => {
    const startedAt = clock.currentTimeMillisUnsafe()
    return Effect.matchEffect(client.transport.send(wireRequest(client.config, spec, key), timeouts), {
      onFailure: (error) => {
        // the request may have reached the server: a timeout is not proof that nothing was spent
        if (error._tag === "Timeout" && error.phase !== "connect") call.progress.sent = true
        return Effect.fail(error)
      },
      onSuccess: (response) => {
        call.progress.sent = true
        const now = clock.currentTimeMillisUnsafe()
        const requestId = Http.header(response.headers, "x-request-id")
        const snapshot = parseRateLimitHeaders(response.headers, now)
        if (response.status >= 200 && response.status < 300) {
          return Effect.succeed<Started>({
            response,
            status: response.status,
            requestId,
            snapshot,
            startedAt,
            key,
            clock
          })
        }
        return failure(client, response, requestId, now, key)
      }
    })
  })

/** A response with a non-2xx status: its (capped) body read, classified into its `OpenAiError`. */
const failure = (
  client: Client,
  response: Http.WireResponse,
  requestId: string | undefined,
  now: number,
  key: Redacted.Redacted<string>
): Effect.Effect<never, OpenAiError> =>
  Effect.flatMap(
    Http.readBody(response, Math.min(client.config.maxResponseBytes, 1024 * 1024), {
      status: response.status,
      requestId
    }).pipe(Effect.orElseSucceed(() => new Uint8Array())),
    (bytes) =>
      Effect.fail(
        fromResponse({
          status: response.status,
          body: scrub(decodeText(bytes), key),
          headers: response.headers,
          requestId,
          nowMs: now,
          url: client.config.baseUrl
        })
      )
  )

/**
 * One attempt through the call's gates: `read` runs after the 2xx headers, in the attempt, so its failures are
 * the attempt's (observed by the gates, retried by the call).
 */
export const run = <A, B extends Gates.AttemptResponse>(
  client: Client,
  spec: CallSpec<A>,
  call: Gates.Call,
  key: Effect.Effect<ApiKey, OpenAiError>,
  timeouts: Http.SendOptions,
  read: (started: Started) => Effect.Effect<B, OpenAiError, Scope.Scope>,
  /** Bounds what runs once the gates admitted the attempt (the request and `read`). */
  bound: (sent: Effect.Effect<B, OpenAiError, Scope.Scope>) => Effect.Effect<B, OpenAiError, Scope.Scope> = (sent) =>
    sent
): Effect.Effect<B, OpenAiError, Scope.Scope> =>
  Effect.flatMap(key, ({ key, keyId }) =>
    call.attempt(
      keyId,
      bound(Effect.flatMap(send(client, spec, call, key, timeouts), read)).pipe(
        Effect.tapError((error) => (error.retryable ? Effect.logDebug(`attempt failed: ${error._tag}`) : Effect.void))
      )
    )
  ).pipe(Effect.annotateLogs({ "openai.path": spec.path, "openai.keyId": call.info.keyId }))
