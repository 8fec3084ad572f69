/**
 * Structured outputs on both APIs against @sluice/simulator, whose answers to a `json_schema` format are JSON values
 * generated from the schema sent: the strict JSON Schema a `Schema` becomes is accepted, and every answer decodes
 * into the Schema's type; `[refuse]` gives a refusal on either API.
 */
import { describe, expect, it } from "@effect/vitest"
import { Credentials, Gates, OpenAi, OpenAiConfig, StructuredOutput } from "@sluice/core"
import { Simulator } from "@sluice/simulator"
import { Effect, Layer, Schema } from "effect"

const Invoice = Schema.Struct({
  number: Schema.String,
  // Finite, not Number: Effect's JSON Schema of a Number drops its checks (the codec still enforces them)
  total: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)),
  rate: Schema.Number,
  currency: Schema.Literals(["EUR", "USD", "GBP"]),
  paid: Schema.Boolean,
  note: Schema.optional(Schema.String),
  lines: Schema.Array(
    Schema.Struct({ item: Schema.String, quantity: Schema.Int, discount: Schema.NullOr(Schema.Number) })
  ).check(Schema.isMaxLength(5)),
  customer: Schema.Struct({ name: Schema.String, tags: Schema.Array(Schema.String) })
})

const client = (baseUrl: string) =>
  OpenAi.layer.pipe(
    Layer.provide(Gates.defaults),
    Layer.provide(OpenAiConfig.layer({ baseUrl, retry: { maxAttempts: 1 } })),
    Layer.provide(Credentials.staticKey("sk-test"))
  )

describe("structured outputs against the simulator", () => {
  it.live("both APIs: the Schema's strict JSON Schema is sent and every answer decodes into its type", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      yield* Effect.gen(function* () {
        const format = yield* StructuredOutput.make(Invoice, { name: "invoice", description: "An invoice" })
        for (const prompt of ["an invoice", "another one", "a third, with ünïcode 🎉"]) {
          const chat = yield* StructuredOutput.chat(format, {
            model: "gpt-4o-mini",
            messages: [{ role: "user", content: prompt }],
            max_completion_tokens: 400
          })
          expect(["EUR", "USD", "GBP"]).toContain(chat.value.currency)
          expect(chat.value.lines.length).toBeLessThanOrEqual(5)
          const responses = yield* StructuredOutput.respond(format, {
            model: "gpt-4.1-mini",
            input: prompt,
            max_output_tokens: 400
          })
          expect(typeof responses.value.customer.name).toBe("string")
          expect(responses.value.total).toBeGreaterThanOrEqual(0)
        }
      }).pipe(Effect.provide(client(sim.url)))
    })
  )

  it.live("[refuse] → Refused on both APIs", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      yield* Effect.gen(function* () {
        const format = yield* StructuredOutput.make(Invoice, { name: "invoice" })
        const chat = yield* Effect.flip(
          StructuredOutput.chat(format, {
            model: "gpt-4o-mini",
            messages: [{ role: "user", content: "[refuse] an invoice" }],
            max_completion_tokens: 200
          })
        )
        expect(chat._tag).toBe("Refused")
        const responses = yield* Effect.flip(
          StructuredOutput.respond(format, {
            model: "gpt-4.1-mini",
            input: "[refuse] an invoice",
            max_output_tokens: 200
          })
        )
        expect(responses._tag).toBe("Refused")
        expect(responses.message).toContain("refused")
      }).pipe(Effect.provide(client(sim.url)))
    })
  )

  it.live("a reply cut at max_output_tokens → StructuredOutputInvalid naming the reason, with the raw text", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const error = yield* Effect.flip(
        Effect.flatMap(StructuredOutput.make(Invoice, { name: "invoice" }), (format) =>
          StructuredOutput.respond(format, { model: "gpt-4.1-mini", input: "an invoice", max_output_tokens: 16 })
        )
      ).pipe(Effect.provide(client(sim.url)))
      expect(error._tag).toBe("StructuredOutputInvalid")
      expect(error.message).toContain("max_output_tokens")
    })
  )
})

interface Node {
  readonly name: string
  readonly children: ReadonlyArray<Node>
}
const Tree: Schema.Codec<Node> = Schema.Struct({
  name: Schema.String,
  children: Schema.Array(Schema.suspend((): Schema.Codec<Node> => Tree))
})

describe("what make accepts, the simulator's strict mode (OpenAI's rules) accepts", () => {
  const shapes: ReadonlyArray<readonly [string, Schema.Codec<unknown, unknown>]> = [
    ["records", Schema.Struct({ scores: Schema.Record(Schema.String, Schema.Int) })],
    ["tuples", Schema.Struct({ point: Schema.Tuple([Schema.Finite, Schema.Finite]) })],
    [
      "tagged unions",
      Schema.Struct({
        shape: Schema.Union([
          Schema.TaggedStruct("circle", { radius: Schema.Finite }),
          Schema.TaggedStruct("square", { side: Schema.Finite })
        ])
      })
    ],
    [
      "dates and nested optionals",
      Schema.Struct({ at: Schema.Date, meta: Schema.optional(Schema.Struct({ by: Schema.optional(Schema.String) })) })
    ],
    ["recursion", Tree as Schema.Codec<unknown, unknown>]
  ]
  for (const [name, schema] of shapes) {
    it.live(`${name}: sent on both APIs and the answer decodes`, () =>
      Effect.gen(function* () {
        const sim = yield* Simulator.start()
        yield* Effect.gen(function* () {
          const format = yield* StructuredOutput.make(schema, { name: "shape" })
          yield* StructuredOutput.chat(format, {
            model: "gpt-4o-mini",
            messages: [{ role: "user", content: name }],
            max_completion_tokens: 800
          })
          yield* StructuredOutput.respond(format, { model: "gpt-4.1-mini", input: name, max_output_tokens: 800 })
        }).pipe(Effect.provide(client(sim.url)))
      })
    )
  }
})
