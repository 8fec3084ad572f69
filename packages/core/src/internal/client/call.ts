/**
 * A call from admission to settlement: the key read once for admission and the first attempt, the gates'
 * `Call`, the one retry loop over attempts, and one settlement. Not public.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type { OpenAiError } from "../../Errors.js"
import type * as Gates from "../../Gates.js"
import type { Response } from "../../OpenAi.js"
import * as Http from "../http.js"
import * as Attempt from "./attempt.js"
import { retried } from "./retry.js"
import * as Settle from "./settle.js"
import type { CallSpec, Client } from "./spec.js"
import { callInfo, spanAttributes } from "./wire.js"
import type { ApiKey } from "../../Credentials.js"
import type * as Scope from "effect/Scope"

/** The admitted call and the key source of its attempts. Fails before sending when the base URL is refused. */
export const admit = <A>(
  client: Client,
  spec: CallSpec<A>
): Effect.Effect<
  { readonly call: Gates.Call; readonly key: Effect.Effect<ApiKey, OpenAiError> },
  OpenAiError,
  Scope.Scope
> =>
  Effect.gen(function* () {
    if (Result.isFailure(client.baseUrl)) return yield* Effect.fail(client.baseUrl.failure)
    const first = yield* client.credentials.get
    const call = yield* client.gates.admit(callInfo(spec, first.keyId))
    return { call, key: Attempt.keys(client.credentials, first) }
  })

/** A call with one decoded response. */
export const call = <A>(client: Client, spec: CallSpec<A>): Effect.Effect<Response<A>, OpenAiError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const { call, key } = yield* admit(client, spec)
      const attempt = Effect.scoped(
        Attempt.run(client, spec, call, key, client.callTimeouts, (started) =>
          Effect.gen(function* () {
            const bytes = yield* Http.readBody(started.response, client.config.maxResponseBytes, started)
            const body = yield* spec.decode(bytes, started)
            const endedAt = yield* Clock.currentTimeMillis
            return { ...started, body, latencyMs: endedAt - started.startedAt }
          })
        )
      )
      const result = yield* retried(client, spec.options, attempt).pipe(Effect.onExit(Settle.onExit(call, spec.usage)))
      return {
        body: result.body,
        requestId: result.requestId,
        status: result.status,
        latencyMs: result.latencyMs,
        snapshot: result.snapshot,
        attempts: call.progress.attempts
      }
    })
  ).pipe(
    Effect.withSpan(
      `OpenAi ${spec.method} ${spec.path}`,
      { attributes: spanAttributes(spec, client.server) },
      { captureStackTrace: false }
    )
  )
