/** Settling a call once, from how its attempts ended. Not public. */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { OpenAiError } from "../../Errors.js"
import type * as Gates from "../../Gates.js"
import type * as Usage from "../../Usage.js"
import { responseDetails } from "./wire.js"

/** The failure of a cause, if it has one (not an interruption or a defect). */
export const failureOf = <E>(cause: Cause.Cause<E>): E | undefined => {
  const found = Cause.findErrorOption(cause)
  return found._tag === "Some" ? found.value : undefined
}

/** Settles a one-response call with how its retry loop ended. */
export const onExit =
  <A extends { readonly body: B; readonly requestId: string | undefined }, B>(
    call: Gates.Call,
    usage: (body: B) => Usage.Usage | undefined
  ) =>
  (exit: Exit.Exit<A, OpenAiError>): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (Exit.isSuccess(exit)) {
        return call.settle({
          usage: usage(exit.value.body),
          sent: true,
          error: undefined,
          details: responseDetails(exit.value.body, exit.value.requestId)
        })
      }
      return failed(call, exit.cause)
    }).pipe(Effect.asVoid)

/**
 * Settles a call whose attempts all failed, or that was interrupted: an interrupted call that sent nothing is
 * left to its scope (closing it releases the reservation).
 */
export const failed = (call: Gates.Call, cause: Cause.Cause<OpenAiError>): Effect.Effect<void> =>
  Effect.suspend(() => {
    const sent = call.progress.sent
    const error = failureOf(cause)
    if (error !== undefined) return Effect.asVoid(call.settle({ usage: undefined, sent, error }))
    return sent ? Effect.asVoid(call.settle({ usage: undefined, sent: true, error: undefined })) : Effect.void
  })
