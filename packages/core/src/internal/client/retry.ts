/**
 * The one retry loop of a call: the policy (`Retry`), exactly one credential refresh and re-attempt after a
 * 401, and the `CircuitOpen` rewrite. Not public.
 */
import * as Effect from "effect/Effect"
import type { OpenAiError } from "../../Errors.js"
import type { CallOptions } from "../../OpenAi.js"
import * as Retry from "../../Retry.js"
import type { Client } from "./spec.js"

/** The configured policy with the call's overrides. */
export const policyOf = (client: Client, options: CallOptions | undefined): Retry.Policy =>
  options?.retry === undefined ? client.config.retry : { ...client.config.retry, ...options.retry }

/** Retries `attempt` (a fresh run each time) under the call's policy. */
export const retried = <A, R>(
  client: Client,
  options: CallOptions | undefined,
  attempt: Effect.Effect<A, OpenAiError, R>
): Effect.Effect<A, OpenAiError, R> =>
  Effect.suspend(() => {
    // A call whose own failure blew a fuse (a 401, a billing 429) fails with that failure, which says what to
    // do, not with the CircuitOpen its next attempt met; later calls get the CircuitOpen.
    let lastFailure: OpenAiError | undefined
    const tracked = Effect.tapError(attempt, (error) => {
      if (error._tag !== "CircuitOpen") lastFailure = error
      return Effect.void
    })
    let refreshed = false
    // The tracking and the refresh in one handler: one continuation per attempt, not two.
    const withRefresh = Effect.catch(attempt, (error) => {
      if (error._tag !== "CircuitOpen") lastFailure = error
      if (error._tag !== "AuthenticationFailed" || refreshed) return Effect.fail(error)
      refreshed = true
      return Effect.andThen(
        Effect.andThen(Effect.logInfo("401: refreshing credentials once"), client.credentials.refresh),
        tracked
      )
    })
    return Effect.catchTag(Retry.retry(policyOf(client, options))(withRefresh), "CircuitOpen", (error) =>
      Effect.fail(
        error.closesAtMs === undefined && lastFailure !== undefined && lastFailure._tag === error.reason
          ? lastFailure
          : error
      )
    )
  })
