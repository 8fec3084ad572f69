/**
 * `ResponseStream.stream` policy against a scripted `OpenAi` service (no network): the bounded buffer under a slow
 * consumer (with `TestClock`), and the settlement of an early exit (the prompt estimate plus what streamed). The
 * same call against the real transport and the simulator is in ResponseStream.simulator.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { type Errors, Gates, OpenAi, RateLimitHeaders, type Responses } from "@sluice/core"
import { Effect, Layer, Ref, Scope, Stream } from "effect"
import { ResponseStream } from "../src/index.js"
import { slowConsumer } from "./support/slowConsumer.js"

const encoder = new TextEncoder()
const event = (value: Record<string, unknown>) =>
  encoder.encode(`event: ${String(value.type)}\ndata: ${JSON.stringify(value)}\n\n`)
const delta = (text: string) => event({ type: "response.output_text.delta", delta: text })

const request: Responses.Request = { model: "gpt-4.1-mini", input: "hi", max_output_tokens: 100 }

/** An `OpenAi` whose `responses.stream` runs the caller's `start` once on `body` and records its settlement. */
const scripted = (body: Stream.Stream<Uint8Array, Errors.OpenAiError>) => {
  const settlements: Array<{ readonly usage?: Gates.Usage | undefined; readonly error?: unknown }> = []
  const stream = <S>(req: Responses.Request, options: OpenAi.StreamCallOptions<S>) =>
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const call = Gates.passThrough(
        { path: "/responses", method: "POST", model: req.model, stream: true, keyId: "k", body: req, batch: false },
        { promptTokens: 10, maxOutputTokens: 100 }
      )
      const attemptScope = yield* Scope.fork(scope, "sequential")
      const first = yield* options
        .start({ body, requestId: "req_1", status: 200, call })
        .pipe(Scope.provide(attemptScope))
      let settled = false
      const settle = (result: {
        readonly usage?: Gates.Usage | undefined
        readonly error?: Errors.OpenAiError | undefined
      }) =>
        Effect.sync(() => {
          if (!settled) settlements.push(result)
          settled = true
        })
      yield* Scope.addFinalizer(scope, settle({}))
      return {
        body: Stream.empty,
        requestId: "req_1",
        status: 200,
        latencyMs: 1,
        snapshot: new RateLimitHeaders.RateLimitSnapshot({}),
        attempts: 1,
        call,
        ticket: call,
        first,
        settle
      } satisfies OpenAi.StreamStarted<S>
    })
  const service = { config: {}, responses: { stream } } as unknown as OpenAi.Service
  return { settlements, layer: Layer.succeed(OpenAi.OpenAi, service) }
}

describe("ResponseStream.stream policy", () => {
  it.effect("a slow consumer holds the socket back: at most bufferSize events are read ahead", () =>
    Effect.gen(function* () {
      const read = yield* Ref.make(0)
      const counted = Stream.fromEffectRepeat(
        Effect.as(
          Ref.update(read, (n) => n + 1),
          delta("x")
        )
      ).pipe(Stream.take(1000))
      const { layer } = scripted(counted)
      const { consumed, maxAhead } = yield* slowConsumer(
        (each) =>
          ResponseStream.stream(request, { bufferSize: 8 }).pipe(
            Stream.runForEach(() => each),
            Effect.provide(layer)
          ),
        read
      )
      expect(consumed).toBeGreaterThanOrEqual(20)
      // the buffer's capacity, plus the event in the consumer's hand and the one the producer holds; never more
      expect(maxAhead).toBeGreaterThanOrEqual(8)
      expect(maxAhead).toBeLessThanOrEqual(8 + 2)
    })
  )

  it.effect("an early exit settles the prompt estimate plus the characters streamed (≈ 4 per token)", () =>
    Effect.gen(function* () {
      const { settlements, layer } = scripted(
        Stream.fromIterable(Array.from({ length: 50 }, () => delta("abcd"))).pipe(Stream.rechunk(1))
      )
      const taken = yield* Stream.runCollect(
        ResponseStream.stream(request, { bufferSize: 0 }).pipe(Stream.take(5))
      ).pipe(Effect.provide(layer))
      expect(taken).toHaveLength(5)
      expect(settlements).toHaveLength(1)
      expect(settlements[0]!.usage!.promptTokens).toBe(10)
      // 5 events of 4 characters reached the consumer (one socket read each, no buffer): 5 tokens, not the 100
      // reserved, nor the 50 the whole body would have been
      expect(settlements[0]!.usage!.completionTokens).toBeGreaterThanOrEqual(5)
      expect(settlements[0]!.usage!.completionTokens).toBeLessThanOrEqual(6)
    })
  )
})
