/**
 * Tools: a function the model may call, defined by a Schema for its parameters and an Effect handler, run in a tool
 * loop on both APIs. Every turn is an ordinary gated call (here with a budget); a failing tool is fed back to the
 * model by default, or raised as its own typed error with `onToolError: "fail"`.
 *
 *   npx tsx --conditions=@sluice/source examples/tools.ts
 */
import { pathToFileURL } from "node:url"
import { Budget, Credentials, Gates, OpenAi, OpenAiConfig, Responses, Tools } from "@sluice/core"
import { Simulator } from "@sluice/simulator"
import { Data, Effect, Layer, Schema } from "effect"

class StockUnavailable extends Data.TaggedError("StockUnavailable")<{ readonly sku: string }> {}

/** Looks a product up; `sku` and `warehouse` arrive decoded (and `warehouse` may be left out). */
export const stock = Tools.make("check_stock", {
  description: "How many units of a product a warehouse holds",
  parameters: Schema.Struct({ sku: Schema.String, warehouse: Schema.optional(Schema.Literals(["north", "south"])) }),
  handler: ({ sku, warehouse }) => Effect.succeed({ sku, warehouse: warehouse ?? "north", units: 42 })
})

/** The same tool when the inventory service is down. */
export const brokenStock = Tools.make("check_stock", {
  parameters: Schema.Struct({ sku: Schema.String }),
  handler: ({ sku }) => Effect.fail(new StockUnavailable({ sku }))
})

export const clientLayer = (baseUrl: string) =>
  OpenAi.layer.pipe(
    Layer.provide(OpenAiConfig.layer({ baseUrl })),
    Layer.provide(Credentials.static("sk-tools-example-0123456789")),
    Layer.provideMerge(Gates.layer().pipe(Layer.provideMerge(Layer.orDie(Budget.layer({ ceilingUsd: 0.05 })))))
  )

// `[tool:check_stock]` makes the simulator's model call the tool (a real model decides by itself).
const question = "Do we have SKU-123 in stock? [tool:check_stock]"

export const program = Effect.gen(function* () {
  const chat = yield* Tools.chat(
    { model: "gpt-4o-mini", messages: [{ role: "user", content: question }], max_completion_tokens: 300 },
    [stock],
    { maxTurns: 4 }
  )
  const responses = yield* Tools.responses(
    { model: "gpt-4.1-mini", input: question, max_output_tokens: 300 },
    [stock],
    { maxTurns: 4 }
  )
  // The default policy feeds the failure back ({"error": …}) and the model answers anyway …
  const fed = yield* Tools.responses({ model: "gpt-4.1-mini", input: question, max_output_tokens: 300 }, [brokenStock])
  // … "fail" raises the handler's own error instead.
  const raised = yield* Tools.responses(
    { model: "gpt-4.1-mini", input: question, max_output_tokens: 300 },
    [brokenStock],
    {
      onToolError: "fail"
    }
  ).pipe(
    Effect.as("answered"),
    Effect.catchTag("StockUnavailable", (error) => Effect.succeed(`StockUnavailable: ${error.sku}`))
  )
  const spent = yield* Effect.flatMap(Budget.Budget, (budget) => budget.spent("global"))
  return {
    chatAnswer: chat.response.body.choices[0]?.message.content ?? "",
    chatTurns: chat.turns,
    responsesAnswer: Responses.outputText(responses.response.body),
    responsesTurns: responses.turns,
    fedAnswer: Responses.outputText(fed.response.body),
    raised,
    spentUsd: spent.usd
  }
})

export const main = Effect.gen(function* () {
  const sim = yield* Simulator.start()
  const result = yield* Effect.provide(program, clientLayer(sim.url))
  yield* Effect.log(
    `chat (${result.chatTurns} turns): ${result.chatAnswer}`,
    `failure fed back: ${result.fedAnswer}`,
    result.raised
  )
  return { ...result, billedUsd: (yield* sim.stats).costUsd }
}).pipe(Effect.scoped)

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) Effect.runPromise(main)
