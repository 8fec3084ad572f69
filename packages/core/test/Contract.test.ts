/**
 * Contract: the requests the client builds are valid per the OpenAI OpenAPI spec, as judged by `steady`
 * (the spec-validating mock the official SDKs test against), and steady's generated responses decode with
 * our response schemas. steady serves the committed subset test/fixtures/openai-openapi.subset.yaml, derived
 * from the public spec by scripts/openapi-subset.ts, so these tests need nothing outside the repository.
 */
import * as Fs from "node:fs"
import { describe, expect, it, layer } from "@effect/vitest"
import { OpenAi } from "@sluice/core"
import { Context, Effect, Layer } from "effect"
import * as Yaml from "yaml"
import { client, type Spawned, specPath, steady } from "./support/servers.js"

class Steady extends Context.Service<Steady, Spawned>()("test/Steady") {}
const SteadyLive = Layer.effect(Steady, steady)
const Live = Layer.unwrap(Effect.map(Steady, (s) => client(s.url))).pipe(Layer.provideMerge(SteadyLive))

const tools = [
  {
    type: "function" as const,
    function: {
      name: "get_weather",
      description: "Weather for a city",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
      strict: true
    }
  }
]

describe("the committed spec subset", () => {
  it("carries its source, resolves every $ref and has no prose (.ci/run checks it is what the script derives)", () => {
    const text = Fs.readFileSync(specPath, "utf8")
    expect(text).toContain("openai/openai-openapi at commit f85dbe223d40e1a31cba812ab2d755c7e98a92a3")
    expect(text).toContain("MIT licence")
    expect(text.length).toBeLessThan(300_000)
    const spec = Yaml.parse(text) as { components: Record<string, Record<string, unknown>> }
    const refs = [...text.matchAll(/"#\/components\/([^/"]+)\/([^"]+)"/g)]
    expect(refs.length).toBeGreaterThan(50)
    for (const [ref, kind, name] of refs) expect(spec.components[kind!]?.[name!], ref).toBeDefined()
    // No prose keys, except as names chosen by the spec (a Reasoning item has a property called `summary`).
    const prose: Array<string> = []
    const walk = (value: unknown, path: string, names: boolean): void => {
      if (Array.isArray(value)) {
        for (const [i, item] of value.entries()) walk(item, `${path}[${i}]`, false)
      } else if (typeof value === "object" && value !== null) {
        for (const [key, child] of Object.entries(value)) {
          if (!names && /^(summary|example|examples|x-oaiMeta)$/.test(key)) prose.push(`${path}.${key}`)
          walk(child, `${path}.${key}`, !names && ["properties", "mapping"].includes(key))
        }
      }
    }
    walk(spec, "", false)
    expect(prose).toEqual([])
  })
})

layer(Live, { excludeTestServices: true, timeout: 60_000 })("contract (steady)", (it) => {
  it.effect("steady rejects an invalid request (so the checks below can fail)", () =>
    Effect.gen(function* () {
      const { url } = yield* Steady
      const response = yield* Effect.promise(() =>
        fetch(`${url}/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: "Bearer sk-x" },
          body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "robot", content: "hi" }] })
        })
      )
      expect(response.status).toBe(400)
      expect(response.headers.get("x-steady-request-valid")).toBe("false")
      // Through the client, such a request never leaves: it is refused with the field path.
      const openai = yield* OpenAi.OpenAi
      const error = yield* Effect.flip(
        openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "robot", content: "hi" } as never] })
      )
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain("messages[0].role")
    })
  )

  it.effect("chat with every message role, tools, tool_choice, json_schema, max_completion_tokens", () =>
    Effect.gen(function* () {
      const openai = yield* OpenAi.OpenAi
      const response = yield* openai.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [
          { role: "system", content: "Be brief." },
          { role: "developer", content: [{ type: "text", text: "Answer in JSON." }] },
          {
            role: "user",
            content: [
              { type: "text", text: "Weather?" },
              { type: "image_url", image_url: { url: "https://example.com/a.png", detail: "low" } }
            ]
          },
          {
            role: "assistant",
            content: null,
            tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: "{}" } }]
          },
          { role: "tool", tool_call_id: "call_1", content: "sunny" }
        ],
        tools,
        tool_choice: { type: "function", function: { name: "get_weather" } },
        response_format: {
          type: "json_schema",
          json_schema: { name: "answer", schema: { type: "object", properties: {} }, strict: true }
        },
        max_completion_tokens: 50,
        temperature: 0.2,
        seed: 7,
        stop: ["\n\n"],
        n: 1
      })
      expect(response.status).toBe(200)
      expect(Array.isArray(response.body.choices)).toBe(true)
      expect(response.attempts).toBe(1)
    })
  )

  it.effect("chat with json_object and max_tokens", () =>
    Effect.gen(function* () {
      const openai = yield* OpenAi.OpenAi
      const response = yield* openai.chat.completions.create({
        model: "gpt-4o",
        messages: [{ role: "user", content: "hi" }],
        response_format: { type: "json_object" },
        max_tokens: 10,
        tool_choice: "auto",
        tools
      })
      expect(response.status).toBe(200)
    })
  )

  it.effect("embeddings float, base64 and dimensions", () =>
    Effect.gen(function* () {
      const openai = yield* OpenAi.OpenAi
      for (const request of [
        { model: "text-embedding-3-small", input: "hello" },
        { model: "text-embedding-3-small", input: ["a", "b"], encoding_format: "base64" as const },
        { model: "text-embedding-3-large", input: "x", encoding_format: "float" as const, dimensions: 256 }
      ]) {
        const response = yield* openai.embeddings.create(request)
        expect(response.status).toBe(200)
        expect(Array.isArray(response.body.data)).toBe(true)
      }
    })
  )

  it.effect("models list and retrieve", () =>
    Effect.gen(function* () {
      const openai = yield* OpenAi.OpenAi
      expect((yield* openai.models.list()).status).toBe(200)
      expect((yield* openai.models.retrieve("gpt-4o")).body.id).toBeTypeOf("string")
    })
  )

  it.effect("files upload (multipart), list, retrieve, content, delete", () =>
    Effect.gen(function* () {
      const openai = yield* OpenAi.OpenAi
      const line = JSON.stringify({ custom_id: "1", method: "POST", url: "/v1/chat/completions", body: {} })
      const created = yield* openai.files.create({
        file: new TextEncoder().encode(`${line}\n`),
        filename: "batch.jsonl",
        purpose: "batch"
      })
      expect(created.status).toBe(200)
      expect((yield* openai.files.list({ purpose: "batch", limit: 10, order: "desc" })).status).toBe(200)
      expect((yield* openai.files.retrieve("file-abc")).status).toBe(200)
      expect((yield* openai.files.content("file-abc")).status).toBe(200)
      expect((yield* openai.files.delete("file-abc")).status).toBe(200)
    })
  )

  it.effect("batches create, retrieve, list, cancel", () =>
    Effect.gen(function* () {
      const openai = yield* OpenAi.OpenAi
      const created = yield* openai.batches.create({
        input_file_id: "file-abc",
        endpoint: "/v1/chat/completions",
        completion_window: "24h",
        metadata: { job: "nightly" }
      })
      expect(created.status).toBe(200)
      expect(created.body.status).toBeTypeOf("string")
      expect((yield* openai.batches.retrieve("batch_abc")).status).toBe(200)
      expect((yield* openai.batches.list({ limit: 5 })).status).toBe(200)
      expect((yield* openai.batches.cancel("batch_abc")).status).toBe(200)
    })
  )
})
