/**
 * `ChatStream.stream` policy against a scripted `OpenAi` service (no network): timeouts under `TestClock`,
 * retry only before the first chunk, truncation, settlement and the bounded buffer. The same behaviour against
 * the real transport and the simulator is in ChatStream.simulator.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { type ChatCompletions, Errors, Gates, OpenAi, RateLimitHeaders, Retry } from "@sluice/core"
import { Duration, Effect, Exit, Fiber, Layer, Ref, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import { ChatStream } from "../src/index.js"
import { slowConsumer } from "./support/slowConsumer.js"

const encoder = new TextEncoder()
const event = (value: unknown) =>
  encoder.encode(`data: ${typeof value === "string" ? value : JSON.stringify(value)}\n\n`)
const content = (text: string) =>
  event({ id: "chatcmpl-1", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content: text } }] })
const usage = event({
  id: "chatcmpl-1",
  choices: [],
  usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 }
})
const done = event("[DONE]")

type Script =
  | { readonly _tag: "Fail"; readonly error: Errors.OpenAiError }
  | { readonly _tag: "Body"; readonly body: Stream.Stream<Uint8Array, Errors.OpenAiError> }

const body = (stream: Stream.Stream<Uint8Array, Errors.OpenAiError>): Script => ({ _tag: "Body", body: stream })

interface Recorded {
  readonly requests: Array<ChatCompletions.Request>
  /** Calls whose scope (and so their HTTP request) was closed. */
  readonly closed: Array<number>
  readonly settlements: Array<{
    readonly call: number
    readonly usage?: Gates.Usage | undefined
    readonly error?: Errors.OpenAiError | undefined
  }>
}

const callOf = (request: ChatCompletions.Request): Gates.Call =>
  Gates.passThrough(
    {
      path: "/chat/completions",
      method: "POST",
      model: request.model,
      stream: true,
      keyId: "k",
      body: request,
      batch: false
    },
    { promptTokens: 10, maxOutputTokens: 100 }
  )

/**
 * An `OpenAi` whose `chat.completions.stream` plays the scripts in order, one per attempt (the last one repeats),
 * with the shape of core's streaming call: each attempt in its own scope through the caller's `start`, under
 * `Retry.retry` with the call's policy and the first-token bound, one settlement per call. `recorded.requests`
 * has one entry per attempt; settlements are numbered by the attempt that succeeded (or the last one).
 */
const scripted = (scripts: ReadonlyArray<Script>) => {
  const recorded: Recorded = { requests: [], closed: [], settlements: [] }
  const stream = <S>(request: ChatCompletions.Request, options: OpenAi.StreamCallOptions<S>) =>
    Effect.gen(function* () {
      const callScope = yield* Effect.scope
      const call = callOf(request)
      let settled = false
      const settle = (
        n: number,
        result: { readonly usage?: Gates.Usage | undefined; readonly error?: Errors.OpenAiError | undefined }
      ) =>
        Effect.sync(() => {
          if (settled) return
          settled = true
          recorded.settlements.push({ call: n, ...result })
        })
      const attempt = Effect.gen(function* () {
        const n = recorded.requests.length
        recorded.requests.push(request)
        const script = scripts[Math.min(n, scripts.length - 1)]!
        if (script._tag === "Fail") return yield* Effect.fail(script.error)
        const attemptScope = yield* Scope.fork(callScope, "sequential")
        yield* Scope.addFinalizer(
          attemptScope,
          Effect.sync(() => recorded.closed.push(n))
        )
        const started = options.start({ body: script.body, requestId: `req_${n}`, status: 200, call })
        const timeout =
          options.firstTokenTimeout === undefined ? undefined : Duration.fromInputUnsafe(options.firstTokenTimeout)
        const bounded =
          timeout === undefined
            ? started
            : Effect.timeoutOrElse(started, {
                duration: timeout,
                orElse: () =>
                  Effect.fail(
                    new Errors.Timeout({
                      phase: "first-token",
                      afterMs: Duration.toMillis(timeout),
                      requestId: `req_${n}`
                    })
                  )
              })
        const first = yield* bounded.pipe(
          Scope.provide(attemptScope),
          Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Scope.close(attemptScope, exit)))
        )
        return { n, first }
      })
      const policy = Retry.policy({ ...Retry.defaults, ...options.retry })
      const result = yield* Retry.retry(policy)(attempt).pipe(
        Effect.tapError((error) => settle(recorded.requests.length - 1, { usage: undefined, error }))
      )
      yield* Scope.addFinalizer(callScope, settle(result.n, {}))
      return {
        body: Stream.empty,
        requestId: `req_${result.n}`,
        status: 200,
        latencyMs: 1,
        snapshot: new RateLimitHeaders.RateLimitSnapshot({}),
        attempts: result.n + 1,
        call,
        ticket: call,
        first: result.first,
        settle: (settlement) => settle(result.n, settlement)
      } satisfies OpenAi.StreamStarted<S>
    })
  const service = {
    config: { retry: Retry.defaults },
    chat: { completions: { stream } }
  } as unknown as OpenAi.Service
  return { recorded, layer: Layer.succeed(OpenAi.OpenAi, service) }
}

const request: ChatCompletions.Request = {
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "hi" }],
  max_completion_tokens: 100
}
const noRetry = { retry: { maxAttempts: 1 } }

/** Yields to the scheduler until the condition holds (a bounded number of turns: a broken stream fails, never hangs). */
const untilTrue = (condition: () => boolean) =>
  Effect.gen(function* () {
    for (let i = 0; i < 10_000 && !condition(); i++) yield* Effect.yieldNow
    expect(condition()).toBe(true)
  })

const texts = (chunks: ReadonlyArray<ChatStream.ChatCompletionChunk>) =>
  chunks.flatMap((c) => (c.choices[0]?.delta.content ? [c.choices[0].delta.content] : []))

describe("ChatStream.stream", () => {
  it.effect("delivers the chunks, passes the request through and settles with the usage chunk's usage", () =>
    Effect.gen(function* () {
      const { recorded, layer } = scripted([body(Stream.make(content("Hel"), content("lo"), usage, done))])
      const chunks = yield* Stream.runCollect(ChatStream.stream(request)).pipe(Effect.provide(layer))
      expect(texts(chunks)).toEqual(["Hel", "lo"])
      expect(recorded.requests).toEqual([request])
      expect(recorded.settlements).toEqual([
        { call: 0, usage: { promptTokens: 12, completionTokens: 3, cachedPromptTokens: 0 }, error: undefined }
      ])
      expect(recorded.closed).toEqual([0])
    })
  )

  it.effect("a body that ends without [DONE] fails with StreamTruncated carrying what arrived and the request id", () =>
    Effect.gen(function* () {
      const { recorded, layer } = scripted([body(Stream.make(content("Hel"), content("lo")))])
      const error = yield* Effect.flip(Stream.runDrain(ChatStream.stream(request))).pipe(Effect.provide(layer))
      expect(error).toMatchObject({ _tag: "StreamTruncated", chunks: 2, partialContent: "Hello", requestId: "req_0" })
      // settled with the prompt estimate plus ~chars/4 of what streamed, and the error
      expect(recorded.settlements[0]).toMatchObject({
        usage: { promptTokens: 10, completionTokens: 2 },
        error: { _tag: "StreamTruncated" }
      })
    })
  )

  it.effect("a connection that breaks after the first chunk is StreamTruncated and is not retried", () =>
    Effect.gen(function* () {
      const broken = Stream.make(content("half an ")).pipe(
        Stream.concat(Stream.fail(new Errors.ConnectionFailed({ message: "socket hang up" })))
      )
      const { recorded, layer } = scripted([body(broken), body(Stream.make(content("whole"), done))])
      const seen: Array<string> = []
      const error = yield* ChatStream.stream(request, { retry: { maxAttempts: 3, baseDelayMs: 1 } }).pipe(
        ChatStream.textDeltas,
        Stream.runForEach((text) => Effect.sync(() => seen.push(text))),
        Effect.flip,
        Effect.provide(layer)
      )
      expect(seen).toEqual(["half an "])
      expect(error).toMatchObject({
        _tag: "StreamTruncated",
        chunks: 1,
        partialContent: "half an ",
        requestId: "req_0"
      })
      expect(recorded.requests).toHaveLength(1)
    })
  )

  it.effect(
    "a retryable failure before the first chunk is another attempt of the same call: one settlement, each attempt closed",
    () =>
      Effect.gen(function* () {
        const { recorded, layer } = scripted([
          body(Stream.fail(new Errors.ConnectionFailed({ message: "reset" }))),
          body(Stream.make(event({ error: { message: "overloaded", type: "server_error" } }))),
          body(Stream.make(content("ok"), done))
        ])
        const fiber = yield* ChatStream.stream(request, { retry: { maxAttempts: 3, baseDelayMs: 10 } }).pipe(
          Stream.runCollect,
          Effect.provide(layer),
          Effect.forkChild
        )
        yield* TestClock.adjust("1 second")
        const chunks = yield* Fiber.join(fiber)
        expect(texts(chunks)).toEqual(["ok"])
        expect(recorded.requests).toHaveLength(3)
        expect(recorded.settlements).toHaveLength(1)
        expect(recorded.settlements[0]).toMatchObject({ call: 2, error: undefined })
        expect(recorded.closed).toEqual([0, 1, 2])
      })
  )

  it.effect("a failure before the headers is retried by the call's one loop: at most the policy's attempts", () =>
    Effect.gen(function* () {
      const { recorded, layer } = scripted([
        { _tag: "Fail", error: new Errors.ServerError({ message: "503", status: 503, requestId: "req_x" }) }
      ])
      const fiber = yield* Effect.flip(
        Stream.runDrain(ChatStream.stream(request, { retry: { maxAttempts: 3, baseDelayMs: 1 } }))
      ).pipe(Effect.provide(layer), Effect.forkChild)
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ _tag: "ServerError", requestId: "req_x" })
      expect(recorded.requests).toHaveLength(3)
      expect(recorded.settlements).toHaveLength(1)
    })
  )

  it.effect("an in-stream error after the first chunk fails with the mapped error and the request id", () =>
    Effect.gen(function* () {
      const { layer } = scripted([
        body(Stream.make(content("a"), event({ error: { message: "slow down", code: "rate_limit_exceeded" } })))
      ])
      const error = yield* Effect.flip(Stream.runDrain(ChatStream.stream(request, noRetry))).pipe(Effect.provide(layer))
      expect(error).toMatchObject({ _tag: "RateLimited", message: "slow down", requestId: "req_0" })
    })
  )

  it.effect("firstTokenTimeout: no chunk in time fails with Timeout first-token, and closes the request", () =>
    Effect.gen(function* () {
      const { recorded, layer } = scripted([body(Stream.never)])
      const fiber = yield* ChatStream.stream(request, { ...noRetry, firstTokenTimeout: "5 seconds" }).pipe(
        Stream.runDrain,
        Effect.flip,
        Effect.provide(layer),
        Effect.forkChild
      )
      yield* TestClock.adjust("4999 millis")
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 millis")
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ _tag: "Timeout", phase: "first-token", afterMs: 5000, requestId: "req_0" })
      expect(error.retryable).toBe(true)
      expect(recorded.closed).toEqual([0])
      expect(recorded.settlements[0]).toMatchObject({ error: { _tag: "Timeout" } })
    })
  )

  it.effect("firstTokenTimeout is retried like any retryable failure before the first chunk", () =>
    Effect.gen(function* () {
      const { recorded, layer } = scripted([body(Stream.never), body(Stream.make(content("late"), done))])
      const fiber = yield* ChatStream.stream(request, {
        retry: { maxAttempts: 2, baseDelayMs: 10 },
        firstTokenTimeout: "5 seconds"
      }).pipe(Stream.runCollect, Effect.provide(layer), Effect.forkChild)
      yield* TestClock.adjust("6 seconds")
      expect(texts(yield* Fiber.join(fiber))).toEqual(["late"])
      expect(recorded.requests).toHaveLength(2)
    })
  )

  it.effect("the opening role chunk does not count as the first token: it is held back while a retry is possible", () =>
    Effect.gen(function* () {
      const role = event({ id: "chatcmpl-1", choices: [{ index: 0, delta: { role: "assistant", content: "" } }] })
      const { recorded, layer } = scripted([
        body(Stream.make(role).pipe(Stream.concat(Stream.never))),
        body(Stream.make(role, content("fast"), done))
      ])
      const fiber = yield* ChatStream.stream(request, {
        retry: { maxAttempts: 2, baseDelayMs: 10 },
        firstTokenTimeout: "5 seconds"
      }).pipe(Stream.runCollect, Effect.provide(layer), Effect.forkChild)
      yield* TestClock.adjust("6 seconds")
      const chunks = yield* Fiber.join(fiber)
      // the consumer sees exactly one role chunk: the one of the attempt that succeeded
      expect(chunks.map((c) => c.choices[0]?.delta.role ?? c.choices[0]?.delta.content)).toEqual(["assistant", "fast"])
      expect(recorded.requests).toHaveLength(2)
    })
  )

  it.effect("idleTimeout: a gap between chunks fails with Timeout idle after the chunks that came", () =>
    Effect.gen(function* () {
      const { recorded, layer } = scripted([body(Stream.make(content("a")).pipe(Stream.concat(Stream.never)))])
      const seen: Array<string> = []
      const fiber = yield* ChatStream.stream(request, { ...noRetry, idleTimeout: "2 seconds" }).pipe(
        ChatStream.textDeltas,
        Stream.runForEach((text) => Effect.sync(() => seen.push(text))),
        Effect.flip,
        Effect.provide(layer),
        Effect.forkChild
      )
      // The idle timer starts once the first chunk is through (the stream's producer runs in its own fiber, a few
      // scheduler turns in): move the clock only then, or the timer would start at the adjusted time.
      yield* untilTrue(() => seen.length > 0)
      yield* TestClock.adjust("1999 millis")
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 millis")
      const error = yield* Fiber.join(fiber)
      expect(seen).toEqual(["a"])
      expect(error).toMatchObject({ _tag: "Timeout", phase: "idle", afterMs: 2000, requestId: "req_0" })
      expect(recorded.settlements[0]).toMatchObject({
        usage: { promptTokens: 10, completionTokens: 1 },
        error: { _tag: "Timeout", phase: "idle" }
      })
      expect(recorded.closed).toEqual([0])
    })
  )

  it.effect("totalTimeout: a steady stream that goes on too long fails with Timeout total", () =>
    Effect.gen(function* () {
      const steady = Stream.fromEffectRepeat(Effect.as(Effect.sleep("1 second"), content("x")))
      const { recorded, layer } = scripted([body(steady)])
      const fiber = yield* ChatStream.stream(request, {
        ...noRetry,
        idleTimeout: "5 seconds",
        totalTimeout: "10 seconds"
      }).pipe(Stream.runCount, Effect.flip, Effect.provide(layer), Effect.forkChild)
      yield* TestClock.adjust("10 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ _tag: "Timeout", phase: "total", afterMs: 10000 })
      expect(recorded.settlements[0]).toMatchObject({ error: { _tag: "Timeout", phase: "total" } })
      expect(recorded.closed).toEqual([0])
    })
  )

  it.effect("early exit (Stream.take) closes the request and settles with the estimate of what streamed", () =>
    Effect.gen(function* () {
      const endless = Stream.succeed(content("word")).pipe(Stream.forever)
      const { recorded, layer } = scripted([body(endless)])
      const chunks = yield* ChatStream.stream(request).pipe(Stream.take(3), Stream.runCollect, Effect.provide(layer))
      expect(texts(chunks)).toEqual(["word", "word", "word"])
      expect(recorded.closed).toEqual([0])
      expect(recorded.settlements).toHaveLength(1)
      expect(recorded.settlements[0]!.error).toBeUndefined()
      // prompt estimate + ~1 token per 4 characters streamed (at least the 3 chunks taken, at most what the buffer held)
      expect(recorded.settlements[0]!.usage!.promptTokens).toBe(10)
      expect(recorded.settlements[0]!.usage!.completionTokens).toBeGreaterThanOrEqual(3)
      expect(recorded.settlements[0]!.usage!.completionTokens).toBeLessThanOrEqual(3 + 16 + 2)
    })
  )

  it.effect("a slow consumer holds the socket back: at most bufferSize chunks are read ahead", () =>
    Effect.gen(function* () {
      const read = yield* Ref.make(0)
      const counted = Stream.fromEffectRepeat(
        Effect.as(
          Ref.update(read, (n) => n + 1),
          content("x")
        )
      ).pipe(Stream.take(1000), Stream.concat(Stream.make(done)))
      const { layer } = scripted([body(counted)])
      const { consumed, maxAhead } = yield* slowConsumer(
        (each) =>
          ChatStream.stream(request, { bufferSize: 8 }).pipe(
            Stream.runForEach(() => each),
            Effect.provide(layer)
          ),
        read
      )
      expect(consumed).toBeGreaterThanOrEqual(20)
      // the buffer fills up to its capacity, plus the chunk in the consumer's hand and the one the producer
      // holds while it waits; never more
      expect(maxAhead).toBeGreaterThanOrEqual(8)
      expect(maxAhead).toBeLessThanOrEqual(8 + 2)
    })
  )
})
