/**
 * Conformance: what the simulator answers validates against the public OpenAI spec's schemas (the subset in
 * test/fixtures/openai-schemas.json, derived by scripts/spec-schemas.ts). One known, documented difference is
 * allowed: `usage: null` on a Response that has not finished (the spec's own examples show it; its schema says object).
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { Simulator } from "@sluice/simulator"
import { Ajv2020, type ErrorObject } from "ajv/dist/2020.js"
import { Effect } from "effect"
import { chatBody, post } from "./helpers.js"

const spec = JSON.parse(readFileSync(new URL("./fixtures/openai-schemas.json", import.meta.url), "utf8"))
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false })
ajv.addSchema({ $id: "openai", ...spec })
const validator = (name: string) => ajv.compile({ $ref: `openai#/components/schemas/${name}` })

/** The event schema for each stream event type, from the ResponseStreamEvent union. */
const eventSchemas = new Map<string, string>()
for (const ref of spec.components.schemas.ResponseStreamEvent.anyOf as Array<{ $ref: string }>) {
  const name = ref.$ref.split("/").at(-1)!
  const type = spec.components.schemas[name]?.properties?.type?.enum?.[0]
  if (typeof type === "string") eventSchemas.set(type, name)
}

const unfinishedUsage = (e: ErrorObject) => e.instancePath.endsWith("/usage") && e.keyword === "type"

const expectValid = (schema: string, value: unknown, allowUnfinished = false) => {
  const validate = validator(schema)
  const ok = validate(value)
  const errors = (validate.errors ?? []).filter((e) => !(allowUnfinished && unfinishedUsage(e)))
  expect(ok || errors.length === 0, `${schema}: ${JSON.stringify(errors.slice(0, 3))}`).toBe(true)
}

const sseData = (text: string) =>
  text
    .split(/\r?\n\r?\n/)
    .filter((e) => e.length > 0)
    .map((e) =>
      e
        .split(/\r?\n/)
        .find((l) => l.startsWith("data: "))!
        .slice(6)
    )

const weather = {
  type: "function",
  name: "get_weather",
  strict: true,
  parameters: {
    type: "object",
    required: ["city"],
    additionalProperties: false,
    properties: { city: { type: "string" } }
  }
}

const requests: ReadonlyArray<Record<string, unknown>> = [
  { input: "hello" },
  { input: "[tool:get_weather]", tools: [weather] },
  { input: "no [refuse]" },
  { input: "think", reasoning: { effort: "low", summary: "auto" }, instructions: "Be brief." },
  { input: "cut short", reasoning: { effort: "high" }, max_output_tokens: 100 },
  {
    input: "x",
    text: {
      format: { type: "json_schema", name: "o", schema: { type: "object", properties: { a: { type: "string" } } } }
    }
  }
]

describe("conformance with the OpenAI spec's schemas", () => {
  it.effect("Responses: JSON bodies and every stream event, faults included", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({
        script: [
          { request: 14, path: "/v1/responses", fault: "streamError" },
          { request: 15, path: "/v1/responses", fault: "responseFailed" }
        ]
      })
      const seen = new Set<string>()
      const check = (text: string) => {
        for (const data of sseData(text)) {
          const event = JSON.parse(data)
          const schema = eventSchemas.get(event.type)
          expect(schema, event.type).toBeDefined()
          expectValid(schema!, event, true)
          seen.add(event.type)
        }
      }
      for (const body of requests) {
        const json = yield* post(sim.url, "/responses", { model: "gpt-4o-mini", ...body })
        expectValid("Response", JSON.parse(json.text))
        check((yield* post(sim.url, "/responses", { model: "gpt-4o-mini", stream: true, ...body })).text)
      }
      const queued = yield* post(sim.url, "/responses", { model: "gpt-4o-mini", input: "bg", background: true })
      expectValid("Response", JSON.parse(queued.text), true)
      check((yield* post(sim.url, "/responses", { model: "gpt-4o-mini", input: "some prompt", stream: true })).text)
      check((yield* post(sim.url, "/responses", { model: "gpt-4o-mini", input: "some prompt", stream: true })).text)
      const missing = [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.refusal.delta",
        "response.refusal.done",
        "response.completed",
        "response.incomplete",
        "response.failed",
        "error"
      ].filter((t) => !seen.has(t))
      expect(missing).toEqual([])
      const counted = yield* post(sim.url, "/responses/input_tokens", { model: "gpt-4o-mini", input: "hi" })
      expectValid("TokenCountsResource", JSON.parse(counted.text))
    })
  )

  it.effect("chat completions (text, tool calls, refusal), chunks, embeddings and errors", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const tools = [{ type: "function", function: weather }]
      for (const content of ["hello", "[tool:get_weather]", "[refuse]"]) {
        expectValid(
          "CreateChatCompletionResponse",
          JSON.parse((yield* post(sim.url, "/chat/completions", chatBody(content, { tools }))).text)
        )
        const streamed = yield* post(sim.url, "/chat/completions", chatBody(content, { tools, stream: true }))
        for (const data of sseData(streamed.text)) {
          if (data !== "[DONE]") expectValid("CreateChatCompletionStreamResponse", JSON.parse(data))
        }
      }
      const embeddings = yield* post(sim.url, "/embeddings", {
        model: "text-embedding-3-small",
        input: ["a", "b"],
        dimensions: 4
      })
      expectValid("CreateEmbeddingResponse", JSON.parse(embeddings.text))
      const error = yield* post(sim.url, "/embeddings", { model: "text-embedding-3-small", input: "" })
      expectValid("ErrorResponse", JSON.parse(error.text))
    })
  )
})
