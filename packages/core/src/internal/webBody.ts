/**
 * A Web `ReadableStream<Uint8Array>` (a fetch body) as an Effect `Stream`, pull-driven: a pull reads until the
 * decoder has output (for plain bytes: one `reader.read()` per pull), running the decoder in the read's
 * callback, so a read that completes nothing costs no fiber resume; nothing is read while no pull waits. The
 * reader is cancelled (the body freed) when the stream ends before the body did (an early `take`, a failure
 * downstream, an interruption), and only released when the body ended.
 *
 * Built on `Channel.fromTransform` like effect's `Stream.fromReadableStream`, with a cheaper pull: one
 * `Effect.callback` value made once and run for every pull (effect's makes a `tryPromise`, a
 * `matchCauseEffect` and their closures per read) and the read's callbacks bound once.
 *
 * @internal
 */
import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import * as Effect from "effect/Effect"
import type * as Pull from "effect/Pull"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

/** How a decoder ends: with a failure, or the end. @internal */
export type Halt<E> = { readonly _tag: "Fail"; readonly error: E } | { readonly _tag: "Done" }

/** A synchronous decoder over the body's reads. @internal */
export interface Decoder<Out, E> {
  /** Consumes one read (an array of one), appending to `out`; a halt ends the stream after `out` is delivered. */
  readonly input: (input: ReadonlyArray<Uint8Array>, out: Array<Out>) => Halt<E> | undefined
  /** The body ended: the last output and how the stream ends. */
  readonly end: (out: Array<Out>) => Halt<E>
}

type Resume<A, E> = (effect: Effect.Effect<Arr.NonEmptyReadonlyArray<A>, E | Cause.Done>) => void

const ended: Effect.Effect<never, Cause.Done> = Cause.done()

const isNonEmpty = <A>(out: Array<A>): out is Arr.NonEmptyArray<A> => out.length > 0

/** The body's reader, the decoder fed by its reads, and the one pull that drives them. */
class BodyReader<Out, E, RE> {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>
  private resume: Resume<Out, E | RE> | undefined = undefined
  /** Set once the decoder halted or a read failed: what this and every later pull returns. */
  private halted: Effect.Effect<never, E | RE | Cause.Done> | undefined = undefined
  /** The body ended (done or errored): nothing to cancel. */
  private finished = false
  private out: Array<Out> = []

  constructor(
    body: ReadableStream<Uint8Array>,
    private readonly decoder: Decoder<Out, E>,
    private readonly onError: (cause: unknown) => RE
  ) {
    this.reader = body.getReader()
  }

  /** After a read: resume with the output or the halt, or read again (the pull still waits). */
  private settle(how: Halt<E> | undefined): void {
    if (how !== undefined) this.halted = how._tag === "Fail" ? Effect.fail(how.error) : ended
    const out = this.out
    if (!isNonEmpty(out) && this.halted === undefined) {
      this.reader.read().then(this.onRead, this.onFailure)
      return
    }
    const resume = this.resume!
    this.resume = undefined
    if (isNonEmpty(out)) {
      this.out = []
      resume(Effect.succeed(out))
    } else {
      resume(this.halted!)
    }
  }

  private readonly onRead = (result: ReadableStreamReadResult<Uint8Array>): void => {
    let how: Halt<E> | undefined
    try {
      if (result.done) this.finished = true
      how = result.done ? this.decoder.end(this.out) : this.decoder.input([result.value], this.out)
    } catch (defect) {
      // A decoder that throws is a bug: a defect of the stream, not a hang in a promise callback.
      this.halted = Effect.die(defect)
      this.out = []
    }
    this.settle(how)
  }

  private readonly onFailure = (cause: unknown): void => {
    this.finished = true
    this.halted = Effect.fail(this.onError(cause))
    this.settle(undefined)
  }

  /** The same value for every pull. */
  readonly pull: Pull.Pull<Arr.NonEmptyReadonlyArray<Out>, E | RE> = Effect.callback((resume) => {
    if (this.halted !== undefined) return resume(this.halted)
    this.resume = resume
    this.reader.read().then(this.onRead, this.onFailure)
  })

  /** Frees the body: cancels it when it has not ended (awaiting the cancel), then releases the lock. */
  readonly release: Effect.Effect<void> = Effect.suspend(() => {
    if (this.finished) return Effect.sync(() => this.reader.releaseLock())
    this.finished = true
    return Effect.promise(() =>
      this.reader.cancel().then(
        () => this.reader.releaseLock(),
        // A cancel that fails (the source's cancel hook threw) still leaves nothing to read.
        () => this.reader.releaseLock()
      )
    )
  })
}

/** @internal */
export const decode = <Out, E, RE>(
  evaluate: () => ReadableStream<Uint8Array>,
  decoder: () => Decoder<Out, E>,
  onError: (cause: unknown) => RE
): Stream.Stream<Out, E | RE> =>
  Stream.fromChannel(
    Channel.fromTransform((_, scope) =>
      Effect.suspend(() => {
        const body = new BodyReader(evaluate(), decoder(), onError)
        return Effect.as(Scope.addFinalizer(scope, body.release), body.pull)
      })
    )
  )

const done: Halt<never> = { _tag: "Done" }

/** Each read as it is. */
const bytes: Decoder<Uint8Array, never> = {
  input: (input, out) => {
    out.push(input[0]!)
    return undefined
  },
  end: () => done
}

/** @internal */
export const fromReadableStream = <E>(
  evaluate: () => ReadableStream<Uint8Array>,
  onError: (cause: unknown) => E
): Stream.Stream<Uint8Array, E> => decode(evaluate, () => bytes, onError)
