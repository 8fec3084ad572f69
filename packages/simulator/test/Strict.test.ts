import { describe, expect, it } from "@effect/vitest"
import { Simulator } from "@sluice/simulator"
import { Effect } from "effect"
import { chatBody, post } from "./helpers.js"
import { orderSchema } from "./schemas.js"

const loose = {
  type: "object",
  additionalProperties: false,
  required: ["a", "b"],
  properties: {
    a: { type: "string" },
    b: { type: "object", properties: { c: { type: "integer" } }, required: ["c"] }
  }
}

const missingRequired = {
  type: "object",
  additionalProperties: false,
  required: ["a"],
  properties: { a: { type: "string" }, note: { type: "string" } }
}

const inDefs = { $ref: "#/$defs/x", $defs: { x: { type: "object", properties: {} } } }

describe("strict mode refuses what it cannot express, as OpenAI does", () => {
  it.effect("chat response_format and strict tools", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const format = (schema: unknown, strict = true) => ({
        response_format: { type: "json_schema", json_schema: { name: "out", strict, schema } }
      })
      const nested = JSON.parse((yield* post(sim.url, "/chat/completions", chatBody("x", format(loose)))).text)
      expect(nested.error).toEqual({
        message:
          "Invalid schema for response_format 'out': In context=('properties', 'b'), 'additionalProperties' is required to be supplied and to be false.",
        type: "invalid_request_error",
        param: "response_format",
        code: "invalid_json_schema"
      })
      const required = JSON.parse(
        (yield* post(sim.url, "/chat/completions", chatBody("x", format(missingRequired)))).text
      )
      expect(required.error.message).toBe(
        "Invalid schema for response_format 'out': In context=(), 'required' is required to be supplied and to be an array including every key in properties. Missing 'note'."
      )
      const defs = JSON.parse((yield* post(sim.url, "/chat/completions", chatBody("x", format(inDefs)))).text)
      expect(defs.error.message).toContain("In context=('$defs', 'x'), 'additionalProperties'")
      expect((yield* post(sim.url, "/chat/completions", chatBody("x", format(loose, false)))).status).toBe(200)
      expect((yield* post(sim.url, "/chat/completions", chatBody("x", format(orderSchema)))).status).toBe(200)
      const tool = (strict: boolean) => ({
        tools: [{ type: "function", function: { name: "f", strict, parameters: missingRequired } }]
      })
      const badTool = JSON.parse((yield* post(sim.url, "/chat/completions", chatBody("x", tool(true)))).text)
      expect(badTool.error).toMatchObject({
        param: "tools[0].function.parameters",
        code: "invalid_function_parameters"
      })
      expect(badTool.error.message).toMatch(/^Invalid schema for function 'f': In context=\(\), 'required'/)
      expect((yield* post(sim.url, "/chat/completions", chatBody("x", tool(false)))).status).toBe(200)
      expect((yield* sim.stats).successes).toBe(3)
    })
  )

  it.effect("responses text.format and strict function tools", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const r = (body: Record<string, unknown>) =>
        Effect.map(post(sim.url, "/responses", { model: "gpt-4o-mini", input: "x", ...body }), (res) => ({
          status: res.status,
          json: JSON.parse(res.text)
        }))
      const format = yield* r({ text: { format: { type: "json_schema", name: "out", strict: true, schema: loose } } })
      expect(format.status).toBe(400)
      expect(format.json.error).toMatchObject({ param: "text.format.schema", code: "invalid_json_schema" })
      expect(format.json.error.message).toContain("In context=('properties', 'b')")
      const tool = yield* r({ tools: [{ type: "function", name: "f", strict: true, parameters: inDefs }] })
      expect(tool.json.error).toMatchObject({ param: "tools[0].parameters", code: "invalid_function_parameters" })
      const fine = yield* r({ tools: [{ type: "function", name: "f", strict: false, parameters: inDefs }] })
      expect(fine.status).toBe(200)
    })
  )
})
