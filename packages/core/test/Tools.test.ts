/**
 * The tool loop on Chat Completions against aimock (a fixture-driven mock nobody here wrote): a tool defined by a
 * Schema and an Effect handler, its arguments decoded, its output fed back, each turn a gated call.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Budget, Gates, Responses, Tools, Usage } from "@sluice/core"
import { Context, Data, Effect, Layer, Schema } from "effect"
import { client, fixture, type Spawned, spawnServer, bin } from "./support/servers.js"

class Aimock extends Context.Service<Aimock, Spawned>()("test/AimockTools") {}
const AimockLive = Layer.effect(
  Aimock,
  spawnServer(bin("aimock"), ["--config", fixture("aimock-tools.json"), "--port", "0"], {
    ready: /listening on http:\/\/127\.0\.0\.1:(\d+)\s/,
    cwd: fixture("")
  })
)
const budget = Budget.layer({ ceilingUsd: 1 })
const Live = Layer.unwrap(
  Effect.map(Aimock, (s) =>
    client(`${s.url}/v1`, { maxTokensPolicy: "off" }).pipe(
      Layer.provideMerge(Gates.layer().pipe(Layer.provideMerge(Layer.orDie(budget))))
    )
  )
).pipe(Layer.provideMerge(AimockLive))

class WeatherDown extends Data.TaggedError("WeatherDown")<{ readonly city: string }> {}

const calls: Array<string> = []
const weather = Tools.make("get_weather", {
  description: "The weather in a city",
  parameters: Schema.Struct({ city: Schema.String }),
  handler: ({ city }) =>
    Effect.sync(() => {
      calls.push(city)
      return { city, sky: "sunny" }
    })
})
const broken = Tools.make("get_weather", {
  parameters: Schema.Struct({ city: Schema.String }),
  handler: ({ city }) => Effect.fail(new WeatherDown({ city }))
})

const user = (content: string) => ({ model: "gpt-4o", messages: [{ role: "user" as const, content }] })

describe("tool definitions", () => {
  layer(Live, { excludeTestServices: true })("wire", (it) => {
    it.effect("a tool is a strict function tool on both APIs", () =>
      Effect.gen(function* () {
        const [chat] = yield* Tools.chatTools([weather])
        expect(chat?.function).toMatchObject({
          name: "get_weather",
          strict: true,
          description: "The weather in a city"
        })
        expect(chat?.function.parameters).toMatchObject({
          type: "object",
          required: ["city"],
          additionalProperties: false
        })
        const [responses] = yield* Tools.responsesTools([weather])
        expect(responses).toMatchObject({ type: "function", name: "get_weather", strict: true })
      })
    )

    it.effect("a bad name, a duplicate or parameters strict mode cannot express fail before sending", () =>
      Effect.gen(function* () {
        const name = yield* Effect.flip(
          Tools.chatTools([Tools.make("get weather", { parameters: Schema.Struct({}), handler: () => Effect.void })])
        )
        expect(name.path).toBe("tools[0].name")
        const twice = yield* Effect.flip(Tools.chatTools([weather, weather]))
        expect(twice.path).toBe("tools[1].name")
        const loose = Tools.make("loose", {
          parameters: Schema.Struct({ data: Schema.Unknown }),
          handler: () => Effect.void
        })
        const error = yield* Effect.flip(Tools.chat(user("hello"), [loose]))
        expect(error._tag).toBe("InvalidRequest")
        expect((error as { path?: string }).path).toBe("data")
      })
    )
  })
})

layer(Live, { excludeTestServices: true, timeout: 60_000 })("chat tool loop (aimock)", (it) => {
  it.effect(
    "calls the tool with decoded arguments, feeds its output back, returns the answer; every turn is gated",
    () =>
      Effect.gen(function* () {
        calls.length = 0
        const before = yield* Effect.flatMap(Budget.Budget, (b) => b.spent("global"))
        const result = yield* Tools.chat(user("weather in paris"), [weather])
        expect(result.response.body.choices[0]?.message.content).toBe("It is sunny in Paris.")
        expect(result.turns).toBe(2)
        expect(calls).toEqual(["Paris"])
        const messages = result.request.messages
        expect(messages.map((m) => m.role)).toEqual(["user", "assistant", "tool"])
        expect(JSON.parse(String((messages[2] as { content: string }).content))).toEqual({
          city: "Paris",
          sky: "sunny"
        })
        // both turns settled on the budget: the spend is the priced usage of both
        const after = yield* Effect.flatMap(Budget.Budget, (b) => b.spent("global"))
        expect(result.usage.promptTokens).toBeGreaterThan(0)
        expect(after.usd - before.usd).toBeCloseTo(
          Usage.cost(result.usage, { input: 2.5, cachedInput: 1.25, output: 10 }),
          10
        )
      })
  )

  it.effect("a failing handler is fed back by default, and raised as its own typed error with onToolError: fail", () =>
    Effect.gen(function* () {
      const fed = yield* Tools.chat(user("weather in paris"), [broken])
      expect(fed.response.body.choices[0]?.message.content).toBe("The weather tool failed.")
      const output = JSON.parse(String((fed.request.messages[2] as { content: string }).content))
      expect(output.error).toBeTypeOf("string")
      const raised = yield* Effect.flip(Tools.chat(user("weather in paris"), [broken], { onToolError: "fail" }))
      expect(raised._tag).toBe("WeatherDown")
    })
  )

  it.effect(
    "arguments that do not decode: fed back as an error, or StructuredOutputInvalid with the raw arguments",
    () =>
      Effect.gen(function* () {
        calls.length = 0
        const fed = yield* Tools.chat(user("bad arguments"), [weather])
        expect(fed.response.body.choices[0]?.message.content).toBe("Sorry.")
        expect(calls).toEqual([])
        expect(String((fed.request.messages[2] as { content: string }).content)).toContain("city")
        const raised = yield* Effect.flip(Tools.chat(user("bad arguments"), [weather], { onToolError: "fail" }))
        expect(raised._tag).toBe("StructuredOutputInvalid")
        expect((raised as { text: string }).text).toBe('{"town":3}')
      })
  )

  it.effect("a model that keeps calling tools stops at maxTurns with ToolLoopExceeded", () =>
    Effect.gen(function* () {
      calls.length = 0
      const error = yield* Effect.flip(Tools.chat(user("loop forever"), [weather], { maxTurns: 3 }))
      expect(error._tag).toBe("ToolLoopExceeded")
      expect(error.message).toContain("get_weather")
      expect(calls).toEqual(["Rome", "Rome"])
      const bad = yield* Effect.flip(Tools.chat(user("loop forever"), [weather], { maxTurns: 0 }))
      expect(bad._tag).toBe("InvalidRequest")
    })
  )
})

layer(Live, { excludeTestServices: true, timeout: 60_000 })("responses tool loop (aimock)", (it) => {
  const input = (text: string) => ({ model: "gpt-4o", input: text })

  it.effect("the same loop on the Responses API: function_call → handler → function_call_output → answer", () =>
    Effect.gen(function* () {
      calls.length = 0
      const before = yield* Effect.flatMap(Budget.Budget, (b) => b.spent("global"))
      const result = yield* Tools.responses(input("weather in paris"), [weather])
      expect(Responses.outputText(result.response.body)).toBe("It is sunny in Paris.")
      expect(result.turns).toBe(2)
      expect(calls).toEqual(["Paris"])
      const items = result.request.input as ReadonlyArray<{ type?: string }>
      expect(items.map((item) => item.type ?? "message")).toEqual(["message", "function_call", "function_call_output"])
      const after = yield* Effect.flatMap(Budget.Budget, (b) => b.spent("global"))
      expect(result.usage.promptTokens).toBeGreaterThan(0)
      expect(after.usd - before.usd).toBeCloseTo(
        Usage.cost(result.usage, { input: 2.5, cachedInput: 1.25, output: 10 }),
        10
      )
    })
  )

  it.effect("failures by policy and the turn bound, as on chat", () =>
    Effect.gen(function* () {
      const fed = yield* Tools.responses(input("weather in paris"), [broken])
      expect(Responses.outputText(fed.response.body)).toBe("The weather tool failed.")
      const raised = yield* Effect.flip(Tools.responses(input("weather in paris"), [broken], { onToolError: "fail" }))
      expect(raised._tag).toBe("WeatherDown")
      const exceeded = yield* Effect.flip(Tools.responses(input("loop forever"), [weather], { maxTurns: 2 }))
      expect(exceeded._tag).toBe("ToolLoopExceeded")
    })
  )
})
