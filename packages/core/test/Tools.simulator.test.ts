/**
 * The tool loop on both APIs against @sluice/simulator: `[tool:NAME]` in the prompt makes the model call the tool
 * with arguments generated from its parameters schema (so they decode into the Schema's type), and a conversation
 * that ends with the tool's output is answered with text quoting it. Every turn goes through the default gates and
 * a budget.
 */
import { describe, expect, it } from "@effect/vitest"
import { Budget, Credentials, Gates, OpenAi, OpenAiConfig, Responses, Tools } from "@sluice/core"
import { Simulator } from "@sluice/simulator"
import { Effect, Layer, Schema } from "effect"

const client = (baseUrl: string) =>
  OpenAi.layer.pipe(
    Layer.provideMerge(Gates.layer().pipe(Layer.provideMerge(Layer.orDie(Budget.layer({ ceilingUsd: 5 }))))),
    Layer.provide(OpenAiConfig.layer({ baseUrl, retry: { maxAttempts: 1 } })),
    Layer.provide(Credentials.staticKey("sk-test"))
  )

const seen: Array<{ readonly city: string; readonly days: number; readonly unit?: "c" | "f" | undefined }> = []
const forecast = Tools.make("get_forecast", {
  description: "The forecast for a city",
  parameters: Schema.Struct({
    city: Schema.String,
    days: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 7 })),
    unit: Schema.optional(Schema.Literals(["c", "f"]))
  }),
  handler: (args) =>
    Effect.sync(() => {
      seen.push(args)
      return { sky: "clear", high: 21 }
    })
})

describe("tool loops against the simulator", () => {
  it.live(
    "chat and responses: call, decoded arguments, output quoted in the answer; the budget is charged per turn",
    () =>
      Effect.gen(function* () {
        const sim = yield* Simulator.start()
        yield* Effect.gen(function* () {
          seen.length = 0
          const chat = yield* Tools.chat(
            {
              model: "gpt-4o-mini",
              messages: [{ role: "user", content: "Forecast for Oslo? [tool:get_forecast]" }],
              max_completion_tokens: 200
            },
            [forecast]
          )
          expect(chat.turns).toBe(2)
          expect(chat.response.body.choices[0]?.message.content).toContain(
            'The tool returned: {"sky":"clear","high":21}'
          )
          const responses = yield* Tools.responses(
            { model: "gpt-4.1-mini", input: "Forecast for Oslo? [tool:get_forecast]", max_output_tokens: 200 },
            [forecast]
          )
          expect(responses.turns).toBe(2)
          expect(Responses.outputText(responses.response.body)).toContain(
            'The tool returned: {"sky":"clear","high":21}'
          )
          // arguments generated from the strict schema decoded into the Schema's type
          expect(seen).toHaveLength(2)
          for (const args of seen) {
            expect(args.days).toBeGreaterThanOrEqual(1)
            expect(args.days).toBeLessThanOrEqual(7)
            expect(Number.isInteger(args.days)).toBe(true)
          }
          const spent = yield* Effect.flatMap(Budget.Budget, (b) => b.spent("global"))
          const stats = yield* sim.stats
          expect(stats.successes).toBe(4)
          expect(spent.usd).toBeCloseTo(stats.costUsd, 9)
        }).pipe(Effect.provide(client(sim.url)))
      })
  )

  it.live("a forced first call (tool_choice required) is relaxed to auto for the next turn, unless asked not to", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      yield* Effect.gen(function* () {
        seen.length = 0
        const forced = yield* Tools.responses(
          { model: "gpt-4.1-mini", input: "Forecast for Oslo?", tool_choice: "required", max_output_tokens: 200 },
          [forecast]
        )
        expect(forced.turns).toBe(2)
        expect(seen).toHaveLength(1)
        expect(forced.request.tool_choice).toBe("auto")
        const chat = yield* Tools.chat(
          {
            model: "gpt-4o-mini",
            messages: [{ role: "user", content: "Forecast for Oslo?" }],
            tool_choice: { type: "function", function: { name: "get_forecast" } },
            max_completion_tokens: 200
          },
          [forecast],
          { resetToolChoice: false }
        )
        expect(chat.request.tool_choice).toEqual({ type: "function", function: { name: "get_forecast" } })
      }).pipe(Effect.provide(client(sim.url)))
    })
  )
})
