/**
 * The one shape of the stream decoders (SSE events, chat chunks, Responses events): a synchronous step over each
 * upstream array, appending its output; a pull that reads upstream until a step produces something, and that
 * returns the same halt (a failure, or the end) on every pull after the step that decided it, without reading
 * upstream again (which releases the connection). Upstream failures pass through unchanged.
 *
 * The pull is built once per run and is the only Effect per read: no channel piping around it (each
 * `Stream.pipeThroughChannelOrFail` adds two `catchCause` per pull), no `Result` per element (decision 0014, session 4).
 *
 * @internal
 */
import type * as WebBody from "@sluice/core/WebBody"
import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Pull from "effect/Pull"

/** How a decoder ends: with a failure, or `done` (the end, with upstream's leftover); core's `WebBody.Halt`. @internal */
export type Halt<E> = WebBody.Halt<E>

/** @internal */
export const done: Halt<never> = { _tag: "Done" }

/** @internal */
export const fail = <E>(error: E): Halt<E> => ({ _tag: "Fail", error })

/** @internal */
export interface Step<In, Out, E> {
  /** Consumes one upstream array, appending to `out`; a halt ends the stream after `out` is delivered. */
  readonly input: (input: ReadonlyArray<In>, out: Array<Out>) => Halt<E> | undefined
  /** Upstream ended: the last output and how the stream ends. */
  readonly end: (out: Array<Out>) => Halt<E>
}

const isNonEmpty = <A>(out: Array<A>): out is Arr.NonEmptyArray<A> => out.length > 0

/** The pull of a decoder over `upstream`. @internal */
export const make = <In, Out, E, IE, Done>(
  upstream: Pull.Pull<Arr.NonEmptyReadonlyArray<In>, IE, Done>,
  step: Step<In, Out, E>
): Pull.Pull<Arr.NonEmptyReadonlyArray<Out>, E | IE, Done> => {
  let leftover: Done | undefined
  // Set once a step halted: what the next pull (and every one after it) returns.
  let halted: Effect.Effect<never, E | Cause.Done<Done>> | undefined
  const halt = (how: Halt<E> | undefined): void => {
    if (how !== undefined) halted = how._tag === "Fail" ? Effect.fail(how.error) : Cause.done(leftover as Done)
  }
  const onSuccess = (input: Arr.NonEmptyReadonlyArray<In>) => {
    const out: Array<Out> = []
    halt(step.input(input, out))
    return isNonEmpty(out) ? Effect.succeed(out) : (halted ?? pull)
  }
  const onDone = (rest: Done) => {
    leftover = rest
    const out: Array<Out> = []
    halt(step.end(out))
    return isNonEmpty(out) ? Effect.succeed(out) : halted!
  }
  const read = Pull.matchEffect(upstream, { onSuccess, onFailure: Effect.failCause, onDone })
  const pull: Pull.Pull<Arr.NonEmptyReadonlyArray<Out>, E | IE, Done> = Effect.suspend(() => halted ?? read)
  return pull
}
