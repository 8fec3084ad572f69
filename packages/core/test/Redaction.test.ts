/**
 * The API key never appears in a log line, a span (name or attribute), an error message, or the
 * `String` / `JSON.stringify` / `toJSON` of any error — across successes, server errors, 401s, timeouts
 * and refused requests.
 */
import { expect, it } from "@effect/vitest"
import { Credentials, type Errors, OpenAi } from "@sluice/core"
import { Simulator } from "@sluice/simulator"
import { Effect, Logger, References, Stream, Tracer } from "effect"
import { client } from "./support/servers.js"

const key = "sk-proj-TOPSECRET0123456789abcdefXYZ"

it.live("the key is in no log line, span, error message or serialized error", () =>
  Effect.gen(function* () {
    const lines: Array<string> = []
    const logger = Logger.make(({ message, logLevel, fiber }) => {
      const annotations = fiber.getRef(References.CurrentLogAnnotations)
      const spans = fiber.getRef(References.CurrentLogSpans)
      lines.push(JSON.stringify({ message, annotations, logLevel, spans }))
    })
    const spans: Array<Tracer.Span> = []
    const native = yield* Effect.tracer
    const tracer = Tracer.make({
      span: (options) => {
        const span = native.span(options)
        spans.push(span)
        return span
      },
      context: native.context
    })
    const errors: Array<Errors.OpenAiError> = []
    const collect = <A>(effect: Effect.Effect<A, Errors.OpenAiError>) =>
      Effect.tapError(effect, (error) => Effect.sync(() => errors.push(error))).pipe(Effect.result)

    const good = yield* Simulator.start({
      keys: [key],
      script: [
        { request: 3, fault: "500" },
        { request: 4, fault: "429" },
        { request: 5, fault: "502Html" }
      ]
    })
    const wrongKey = yield* Simulator.start({ keys: ["sk-some-other-key-000000000"] })
    const calls = (baseUrl: string, options: Parameters<typeof client>[1] = {}) =>
      Effect.gen(function* () {
        const o = yield* OpenAi.OpenAi
        const chat = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "hi" }] }
        yield* collect(o.chat.completions.create(chat))
        yield* collect(o.embeddings.create({ model: "text-embedding-3-small", input: "x" }))
        yield* collect(o.models.list())
        yield* collect(o.models.retrieve("gpt-4o"))
        yield* collect(o.chat.completions.create({ ...chat, temperature: 9 }))
        yield* collect(
          Effect.scoped(Effect.flatMap(o.chat.completions.streamBytes(chat), (r) => Stream.runDrain(r.body)))
        )
        yield* collect(o.files.list())
      }).pipe(Effect.provide(client(baseUrl, options, Credentials.static(key))))

    yield* calls(good.url, { retry: { maxAttempts: 2, baseDelayMs: 1 } }).pipe(
      Effect.withTracer(tracer),
      Effect.provide(Logger.layer([logger])),
      Effect.provideService(References.MinimumLogLevel, "All")
    )
    yield* calls(wrongKey.url).pipe(
      Effect.withTracer(tracer),
      Effect.provide(Logger.layer([logger])),
      Effect.provideService(References.MinimumLogLevel, "All")
    )
    yield* calls("http://api.example.com/v1").pipe(Effect.provide(Logger.layer([logger])))

    // The scenario produced what it should: errors of several kinds, logs and spans.
    const tags = new Set(errors.map((e) => e._tag))
    expect(tags).toContain("AuthenticationFailed")
    expect(tags).toContain("InvalidRequest")
    expect(lines.length).toBeGreaterThan(0)
    expect(spans.length).toBeGreaterThan(10)

    const haystack: Array<string> = [...lines]
    for (const span of spans) {
      haystack.push(span.name)
      for (const [name, value] of span.attributes) haystack.push(`${name}=${String(value)}`)
    }
    for (const error of errors) {
      haystack.push(error.message, String(error), JSON.stringify(error), JSON.stringify(error.toJSON()))
    }
    const leaks = haystack.filter((text) => text.includes(key) || text.includes(key.slice(8)))
    expect(leaks).toEqual([])
    // The spans did carry the request's HTTP facts (so there was something a leak could have ridden on);
    // the request headers themselves never reach a span.
    expect(haystack).toContain("server.address=127.0.0.1")
    expect(haystack).toContain("http.request.method=POST")
    expect(haystack.some((text) => text.startsWith("http.request.header."))).toBe(false)
  })
)
