import { describe, expect, it } from "@effect/vitest"
import { Simulator } from "@sluice/simulator"
import { Effect } from "effect"
import { chatBody, post, sseData } from "./helpers.js"
import { ajv, orderSchema, searchTool, treeSchema, weatherTool } from "./schemas.js"

const chatTools = [weatherTool, searchTool].map((f) => ({ type: "function", function: f }))

const chat = (url: string, body: unknown) => Effect.map(post(url, "/chat/completions", body), (r) => JSON.parse(r.text))

describe("chat structured output", () => {
  it.effect("response_format json_schema: the content is JSON valid for the schema, deterministic per prompt", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const validate = ajv.compile(orderSchema)
      const seen = new Set<string>()
      for (const prompt of ["order one", "order two", "order three", "order four", "order five"]) {
        const format = { type: "json_schema", json_schema: { name: "order", strict: true, schema: orderSchema } }
        const body = yield* chat(sim.url, chatBody(prompt, { response_format: format }))
        const content = body.choices[0].message.content
        const value = JSON.parse(content)
        expect(validate(value), JSON.stringify(validate.errors)).toBe(true)
        expect((yield* chat(sim.url, chatBody(prompt, { response_format: format }))).choices[0].message.content).toBe(
          content
        )
        seen.add(content)
      }
      expect(seen.size).toBe(5)
      const tree = ajv.compile(treeSchema)
      const t = yield* chat(
        sim.url,
        chatBody("a tree", { response_format: { type: "json_schema", json_schema: { name: "t", schema: treeSchema } } })
      )
      expect(tree(JSON.parse(t.choices[0].message.content))).toBe(true)
      const obj = yield* chat(sim.url, chatBody("json please", { response_format: { type: "json_object" } }))
      expect(typeof JSON.parse(obj.choices[0].message.content).answer).toBe("string")
      const missing = yield* post(
        sim.url,
        "/chat/completions",
        chatBody("x", { response_format: { type: "json_schema", json_schema: { schema: {} } } })
      )
      expect(missing.status).toBe(400)
      expect(JSON.parse(missing.text).error.param).toBe("response_format.json_schema.name")
    })
  )

  it.effect("[refuse] answers a refusal (content null), streamed as refusal deltas", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const body = chatBody("no way [refuse]", {
        response_format: { type: "json_schema", json_schema: { name: "o", schema: orderSchema } }
      })
      const json = yield* chat(sim.url, body)
      expect(json.choices[0].message).toMatchObject({
        content: null,
        refusal: "I'm sorry, but I can't help with that request."
      })
      expect(json.choices[0].finish_reason).toBe("stop")
      const streamed = yield* post(sim.url, "/chat/completions", { ...body, stream: true })
      const chunks = sseData(streamed.text)
        .filter((d) => d !== "[DONE]")
        .map((d) => JSON.parse(d))
      expect(chunks[0].choices[0].delta).toEqual({ role: "assistant", content: null, refusal: "" })
      expect(chunks.map((c) => c.choices[0]?.delta?.refusal ?? "").join("")).toBe(json.choices[0].message.refusal)
    })
  )
})

describe("chat tool calls", () => {
  it.effect("[tool:NAME] calls that tool, with arguments valid for its parameters; two markers, two calls", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const one = yield* chat(sim.url, chatBody("what now? [tool:search]", { tools: chatTools }))
      expect(one.choices[0].finish_reason).toBe("tool_calls")
      const calls = one.choices[0].message.tool_calls
      expect(calls.map((c: { function: { name: string } }) => c.function.name)).toEqual(["search"])
      expect(ajv.validate(searchTool.parameters, JSON.parse(calls[0].function.arguments))).toBe(true)
      const two = yield* chat(sim.url, chatBody("[tool:get_weather] and [tool:search]", { tools: chatTools }))
      const both = two.choices[0].message.tool_calls
      expect(both.map((c: { function: { name: string } }) => c.function.name)).toEqual(["get_weather", "search"])
      expect(ajv.validate(weatherTool.parameters, JSON.parse(both[0].function.arguments))).toBe(true)
      expect(new Set(both.map((c: { id: string }) => c.id)).size).toBe(2)
      const serial = yield* chat(
        sim.url,
        chatBody("[tool:get_weather] and [tool:search]", { tools: chatTools, parallel_tool_calls: false })
      )
      expect(serial.choices[0].message.tool_calls.map((c: { function: { name: string } }) => c.function.name)).toEqual([
        "get_weather"
      ])
      const any = yield* chat(sim.url, chatBody("[tools]", { tools: chatTools }))
      expect(any.choices[0].message.tool_calls[0].function.name).toBe("get_weather")
      const forced = yield* chat(sim.url, chatBody("no marker", { tools: chatTools, tool_choice: "required" }))
      expect(forced.choices[0].finish_reason).toBe("tool_calls")
      const none = yield* chat(sim.url, chatBody("[tools]", { tools: chatTools, tool_choice: "none" }))
      expect(none.choices[0].finish_reason).toBe("stop")
      const plain = yield* chat(sim.url, chatBody("no marker", { tools: chatTools }))
      expect(plain.choices[0].finish_reason).toBe("stop")
    })
  )

  it.effect("after a tool message the answer is text that mentions the tool's output", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const first = yield* chat(sim.url, chatBody("weather in Oslo? [tool:get_weather]", { tools: chatTools }))
      const call = first.choices[0].message.tool_calls[0]
      const body = {
        model: "gpt-4o-mini",
        tools: chatTools,
        messages: [
          { role: "user", content: "weather in Oslo? [tool:get_weather]" },
          first.choices[0].message,
          { role: "tool", tool_call_id: call.id, content: '{"temp_c": 21, "sky": "clear"}' }
        ]
      }
      const answer = yield* chat(sim.url, body)
      expect(answer.choices[0].finish_reason).toBe("stop")
      expect(answer.choices[0].message.content).toContain('{"temp_c": 21, "sky": "clear"}')
      const streamed = yield* post(sim.url, "/chat/completions", { ...body, stream: true })
      const text = sseData(streamed.text)
        .filter((d) => d !== "[DONE]")
        .map((d) => JSON.parse(d).choices[0]?.delta?.content ?? "")
        .join("")
      expect(text).toBe(answer.choices[0].message.content)
    })
  )

  it.effect("several tool calls stream with their own index, id and name, then their arguments", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const body = chatBody("[tool:get_weather] [tool:search]", { tools: chatTools })
      const json = yield* chat(sim.url, body)
      const streamed = yield* post(sim.url, "/chat/completions", { ...body, stream: true })
      const chunks = sseData(streamed.text)
        .filter((d) => d !== "[DONE]")
        .map((d) => JSON.parse(d))
      const rebuilt: Array<{ id: string; name: string; arguments: string }> = []
      for (const c of chunks) {
        for (const d of c.choices[0].delta.tool_calls ?? []) {
          if (d.id !== undefined) rebuilt[d.index] = { id: d.id, name: d.function.name, arguments: "" }
          rebuilt[d.index]!.arguments += d.function.arguments
        }
      }
      expect(rebuilt.map((c) => c.name)).toEqual(["get_weather", "search"])
      expect(rebuilt.map((c) => c.arguments)).toEqual(
        json.choices[0].message.tool_calls.map((c: { function: { arguments: string } }) => c.function.arguments)
      )
      expect(chunks.at(-1).choices[0].finish_reason).toBe("tool_calls")
    })
  )
})
