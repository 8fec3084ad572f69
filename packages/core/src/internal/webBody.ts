/**
 * A Web `ReadableStream<Uint8Array>` (a fetch body) as an Effect `Stream`, pull-driven: each pull is one
 * `reader.read()`, nothing is read ahead, and the reader is cancelled (the body freed) when the stream ends
 * before the body did (an early `take`, a failure downstream, an interruption).
 *
 * Built on `Channel.fromTransform` like effect's `Stream.fromReadableStream`, with a cheaper pull: one
 * `Effect.callback` value made once and run for every read (effect's makes a `tryPromise`, a
 * `matchCauseEffect` and their closures per read), the read's callbacks bound once, and no cancel promise
 * to wait for when the body has already ended.
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

type Chunk = Arr.NonEmptyReadonlyArray<Uint8Array>
type Resume<E> = (effect: Effect.Effect<Chunk, E | Cause.Done>) => void

const ended: Effect.Effect<never, Cause.Done> = Cause.done()

/** The body's reader and the one pull that reads it. */
class BodyReader<E> {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>
  private resume: Resume<E> | undefined = undefined
  /** The body ended (done or errored): nothing to cancel. */
  private finished = false

  constructor(
    body: ReadableStream<Uint8Array>,
    private readonly onError: (cause: unknown) => E
  ) {
    this.reader = body.getReader()
  }

  private readonly onRead = (result: ReadableStreamReadResult<Uint8Array>): void => {
    const resume = this.resume!
    this.resume = undefined
    if (result.done) {
      this.finished = true
      resume(ended)
    } else {
      resume(Effect.succeed([result.value]))
    }
  }

  private readonly onFailure = (cause: unknown): void => {
    const resume = this.resume!
    this.resume = undefined
    this.finished = true
    resume(Effect.fail(this.onError(cause)))
  }

  /** One read per run; the same value for every pull. */
  readonly pull: Pull.Pull<Chunk, E> = Effect.callback<Chunk, E | Cause.Done>((resume) => {
    if (this.finished) return resume(ended)
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
export const fromReadableStream = <E>(
  evaluate: () => ReadableStream<Uint8Array>,
  onError: (cause: unknown) => E
): Stream.Stream<Uint8Array, E> =>
  Stream.fromChannel(
    Channel.fromTransform((_, scope) =>
      Effect.suspend(() => {
        const body = new BodyReader(evaluate(), onError)
        return Effect.as(Scope.addFinalizer(scope, body.release), body.pull)
      })
    )
  )
