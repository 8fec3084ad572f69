/**
 * Structured outputs with Effect Schema on both APIs: one Schema becomes the strict JSON Schema of `response_format`
 * (Chat Completions) and of `text.format` (Responses), and the reply comes back decoded into the Schema's type.
 * A refusal is a typed `Refused`; a Schema strict mode cannot express is refused before anything is sent.
 *
 *   npx tsx --conditions=@sluice/source examples/structured-outputs.ts
 */
import { pathToFileURL } from "node:url"
import { Credentials, Gates, OpenAi, OpenAiConfig, StructuredOutput } from "@sluice/core"
import { Simulator } from "@sluice/simulator"
import { Effect, Layer, Schema } from "effect"

/** What we want back. Optional fields are sent as required-and-nullable (strict mode's rule) and decoded back. */
export const Ticket = Schema.Struct({
  title: Schema.String,
  severity: Schema.Literals(["low", "medium", "high"]),
  // Finite keeps its bounds in the JSON Schema the model sees (a plain Schema.Number's checks only apply at decode)
  estimateHours: Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 40 })),
  tags: Schema.Array(Schema.String),
  assignee: Schema.optional(Schema.String)
})

export const clientLayer = (baseUrl: string) =>
  OpenAi.layer.pipe(
    Layer.provide(OpenAiConfig.layer({ baseUrl })),
    Layer.provide(Credentials.static("sk-structured-example-0123456789")),
    Layer.provide(Gates.defaults)
  )

export const program = Effect.gen(function* () {
  const format = yield* StructuredOutput.make(Ticket, { name: "ticket", description: "A bug ticket" })
  const question = "File a ticket: the login page times out under load."

  const fromChat = yield* StructuredOutput.chat(format, {
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: question }],
    max_completion_tokens: 400
  })
  const fromResponses = yield* StructuredOutput.respond(format, {
    model: "gpt-4.1-mini",
    input: question,
    max_output_tokens: 400
  })

  // The model may refuse: a typed error, not a JSON parse failure.
  const refusal = yield* StructuredOutput.respond(format, {
    model: "gpt-4.1-mini",
    input: "[refuse] File a ticket about my neighbour.",
    max_output_tokens: 400
  }).pipe(
    Effect.as("answered"),
    Effect.catchTag("Refused", (error) => Effect.succeed(`Refused: ${error.refusal}`))
  )

  // Schema.Unknown has no JSON type: strict mode cannot express it, so nothing is sent.
  const unsupported = yield* StructuredOutput.make(Schema.Struct({ payload: Schema.Unknown }), { name: "loose" }).pipe(
    Effect.as("accepted"),
    Effect.catchTag("InvalidRequest", (error) => Effect.succeed(`InvalidRequest at ${error.path}: ${error.message}`))
  )

  return { jsonSchema: format.jsonSchema, chat: fromChat.value, responses: fromResponses.value, refusal, unsupported }
})

export const main = Effect.gen(function* () {
  const sim = yield* Simulator.start()
  const result = yield* Effect.provide(program, clientLayer(sim.url))
  yield* Effect.log(
    `chat: ${JSON.stringify(result.chat)}`,
    `responses: ${JSON.stringify(result.responses)}`,
    result.refusal,
    result.unsupported
  )
  return { ...result, requests: (yield* sim.stats).requests }
}).pipe(Effect.scoped)

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) Effect.runPromise(main)
