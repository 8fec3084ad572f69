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
import { callInfo, traced } from "./wire.js"
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
  // Plain combinators, not `Effect.gen`: this runs once per call (docs/decisions/0014-call-hot-path.md).
  Result.isFailure(client.baseUrl)
    ? Effect.fail(client.baseUrl.failure)
    : Effect.flatMap(client.credentials.get, (first) =>
        Effect.map(client.gates.admit(callInfo(spec, first.keyId)), (call) => ({
          call,
          key: Attempt.keys(client.credentials, first)
        }))
      )

/** A call with one decoded response. */
export const call = <A>(client: Client, spec: CallSpec<A>): Effect.Effect<Response<A>, OpenAiError> =>
  Effect.scoped(
    Effect.flatMap(admit(client, spec), ({ call, key }) => {
      const attempt = Effect.scoped(
        Attempt.run(client, spec, call, key, client.callTimeouts, (started) =>
          Effect.flatMap(Http.readBody(started.response, client.config.maxResponseBytes, started), (bytes) =>
            Effect.flatMap(spec.decode(bytes, started), (body) =>
              Effect.map(Clock.currentTimeMillis, (endedAt) => ({
                ...started,
                body,
                latencyMs: endedAt - started.startedAt
              }))
            )
          )
        )
      )
      return Effect.map(
        retried(client, spec.options, attempt).pipe(Effect.onExit(Settle.onExit(call, spec.usage))),
        (result): Response<A> => ({
          body: result.body,
          requestId: result.requestId,
          status: result.status,
          latencyMs: result.latencyMs,
          snapshot: result.snapshot,
          attempts: call.progress.attempts
        })
      )
    })
  ).pipe(traced(`OpenAi ${spec.method} ${spec.path}`, spec, client))
