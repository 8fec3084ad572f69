import { describe, expect, it } from "@effect/vitest"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect } from "effect"
import { logging, program, tracing } from "../telemetry-otel.js"

describe("examples/telemetry-otel", () => {
  it.live("exports spans with the GenAI attributes, usage, cost and attempts to OpenTelemetry", () =>
    Effect.gen(function* () {
      const exporter = new InMemorySpanExporter()
      // Read the spans before the layer closes: shutting the SDK down clears the in-memory exporter.
      const [result, spans] = yield* program.pipe(
        Effect.zip(Effect.sync(() => exporter.getFinishedSpans())),
        Effect.provide(tracing([new SimpleSpanProcessor(exporter)]))
      )
      expect(result.attempts).toBe(2)
      const chat = spans.find((span) => span.name === "OpenAi POST /chat/completions")
      const embeddings = spans.find((span) => span.name === "OpenAi POST /embeddings")
      expect(chat?.attributes).toMatchObject({
        "gen_ai.operation.name": "chat",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.max_tokens": 16,
        "sluice.attempts": 2,
        "http.response.status_code": 200
      })
      expect(chat?.attributes["gen_ai.usage.input_tokens"]).toBeGreaterThan(0)
      expect(chat?.attributes["gen_ai.usage.output_tokens"]).toBeGreaterThan(0)
      expect(chat?.attributes["sluice.cost_usd"]).toBeGreaterThan(0)
      expect(embeddings?.attributes).toMatchObject({
        "gen_ai.operation.name": "embeddings",
        "gen_ai.request.model": "text-embedding-3-small",
        "sluice.attempts": 1
      })
      // The client's span is a child of the caller's: one trace.
      const root = spans.find((span) => span.name === "telemetry-otel example")
      expect(chat?.spanContext().traceId).toBe(root?.spanContext().traceId)
      const serialized = JSON.stringify(spans.map((span) => span.attributes))
      expect(serialized).not.toContain("sk-example-not-a-real-key")
    })
  )

  it.live("the example's logging keeps the log lines as span events (Logger.layer replaces tracerLogger too)", () =>
    Effect.gen(function* () {
      const exporter = new InMemorySpanExporter()
      const spans = yield* Effect.logInfo("inside the example's span").pipe(
        Effect.withSpan("logged"),
        Effect.andThen(Effect.sync(() => exporter.getFinishedSpans())),
        Effect.provide(tracing([new SimpleSpanProcessor(exporter)])),
        Effect.provide(logging)
      )
      const logged = spans.find((span) => span.name === "logged")
      expect(logged?.events.map((event) => [event.name, event.attributes?.["effect.logLevel"]])).toEqual([
        ["inside the example's span", "INFO"]
      ])
    })
  )
})
