/**
 * A consumer that takes one (virtual) second per element, for 20 seconds of `TestClock`: how many elements it took
 * and the most the producer (counting its reads in `read`) was ever ahead of it. For the tests that a slow consumer
 * holds the socket back (ChatStream, ResponseStream).
 */
import { Effect, Fiber, Ref } from "effect"
import { TestClock } from "effect/testing"

export const slowConsumer = <E, R>(
  run: (each: Effect.Effect<void>) => Effect.Effect<void, E, R>,
  read: Ref.Ref<number>
) =>
  Effect.gen(function* () {
    const consumed = yield* Ref.make(0)
    const fiber = yield* Effect.forkChild(
      run(
        Effect.andThen(
          Ref.update(consumed, (n) => n + 1),
          Effect.sleep("1 second")
        )
      )
    )
    let maxAhead = 0
    for (let i = 0; i < 20; i++) {
      yield* TestClock.adjust("1 second")
      maxAhead = Math.max(maxAhead, (yield* Ref.get(read)) - (yield* Ref.get(consumed)))
    }
    yield* Fiber.interrupt(fiber)
    return { consumed: yield* Ref.get(consumed), maxAhead }
  })
