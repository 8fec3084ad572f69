/**
 * Sluice telemetry into OpenTelemetry: every call becomes a span with the GenAI semantic-convention attributes
 * (`gen_ai.operation.name`, `gen_ai.request.model`, `gen_ai.usage.input_tokens` …) plus Sluice's own
 * (`sluice.cost_usd`, `sluice.attempts`, `sluice.ratelimit.remaining_requests` …), and every call and attempt a
 * JSON log line.
 *
 * Run it (it starts the simulator itself, so no key or network is needed):
 *
 *   npx tsx examples/telemetry-otel.ts
 *   OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 npx tsx examples/telemetry-otel.ts   # also export over OTLP
 */
import { pathToFileURL } from "node:url"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { NodeRuntime } from "@effect/platform-node"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanProcessor
} from "@opentelemetry/sdk-trace-base"
import { Credentials, Gates, OpenAi, OpenAiConfig } from "@sluice/core"
import * as Pricing from "@sluice/core/Pricing"
import * as Telemetry from "@sluice/core/Telemetry"
import { Simulator } from "@sluice/simulator"
import { Effect, Layer, Logger } from "effect"

/**
 * The client against `baseUrl`, with the default gates wrapped by telemetry (prices from the built-in table).
 */
export const client = (baseUrl: string) =>
  OpenAi.layer.pipe(
    Layer.provide(OpenAiConfig.layer({ baseUrl, retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100 } })),
    Layer.provide(Credentials.static("sk-example-not-a-real-key")),
    Layer.provideMerge(Telemetry.wrap(Layer.merge(Gates.defaults, Pricing.layer())))
  )

/**
 * A chat completion (whose first attempt the simulator answers with a 500, so it is retried) and an embedding.
 */
export const program = Effect.gen(function* () {
  const simulator = yield* Simulator.start({ script: [{ request: 1, fault: "500" }] })
  return yield* Effect.gen(function* () {
    const openai = yield* OpenAi.OpenAi
    const chat = yield* openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Say hello in one word." }],
      max_completion_tokens: 16
    })
    const embedding = yield* openai.embeddings.create({ model: "text-embedding-3-small", input: "hello" })
    return { chat: chat.body, attempts: chat.attempts, dimensions: embedding.body.data[0]?.embedding.length }
  }).pipe(Effect.provide(client(simulator.url)))
}).pipe(Effect.scoped, Effect.withSpan("telemetry-otel example"))

/**
 * OpenTelemetry through `@effect/opentelemetry`: spans to the console, and over OTLP/HTTP when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the exporter reads the variable itself).
 */
export const tracing = (processors?: ReadonlyArray<SpanProcessor>) =>
  NodeSdk.layer(() => ({
    resource: { serviceName: "sluice-example" },
    spanProcessor: processors ?? [
      new SimpleSpanProcessor(new ConsoleSpanExporter()),
      ...(process.env["OTEL_EXPORTER_OTLP_ENDPOINT"] === undefined
        ? []
        : [new BatchSpanProcessor(new OTLPTraceExporter())])
    ]
  }))

/**
 * JSON log lines instead of the default logger, and the same entries as events of the span they were logged in:
 * `Logger.layer` replaces every logger, Effect's `Logger.tracerLogger` (one of the defaults) included, so it is
 * listed again, or the log lines would vanish from the spans.
 */
export const logging = Logger.layer([Logger.consoleJson, Logger.tracerLogger])

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  program.pipe(
    Effect.tap((result) => Effect.logInfo(`done: ${result.attempts} attempts, ${result.dimensions} dimensions`)),
    Effect.provide(tracing()),
    Effect.provide(logging),
    NodeRuntime.runMain
  )
}
