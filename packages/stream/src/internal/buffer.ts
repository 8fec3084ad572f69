/**
 * A bounded buffer between a producer and a consumer that hands over one element at a time.
 *
 * Effect 4's `Stream.buffer` lets the consumer take everything queued at once (`Queue.takeAll`): while it works
 * through that batch the producer refills the queue, so the producer can get up to about twice the capacity ahead
 * of a slow consumer (measured: 4 with capacity 2). Here the consumer takes one element per pull, so the producer
 * is at most `capacity` elements (plus the one it holds while it waits) ahead: the bound the streaming docs promise. A chat stream delivers tens to hundreds of
 * chunks per second, so one `take` per element costs nothing that matters.
 *
 * @internal
 */
import * as Arr from "effect/Array"
import type * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

/** @internal */
export const bounded = <A, E, R>(self: Stream.Stream<A, E, R>, capacity: number): Stream.Stream<A, E, R> =>
  Stream.fromChannel(
    Channel.fromTransform((_upstream, scope) =>
      Effect.gen(function* () {
        const queue = yield* Queue.make<A, E | Cause.Done>({ capacity })
        yield* Scope.addFinalizer(scope, Queue.shutdown(queue))
        // The producer runs in the stream's scope: when the consumer stops, closing the scope interrupts it.
        yield* Stream.runForEachArray(self, (chunk) => Queue.offerAll(queue, chunk)).pipe(
          Effect.andThen(Queue.end(queue)),
          Effect.onError((cause) => Queue.failCause(queue, cause)),
          Effect.forkIn(scope)
        )
        return Effect.map(Queue.take(queue), Arr.of)
      })
    )
  )
