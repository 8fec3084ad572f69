/**
 * Contract for the Responses API: the requests `openai.responses` builds are valid per the OpenAI OpenAPI spec, as
 * judged by steady on the committed subset (which includes `/responses`, `/responses/{id}`, `/responses/{id}/cancel`
 * and `/responses/input_tokens`), and steady's generated answers decode with our schemas.
 */
import { expect, layer } from "@effect/vitest"
import { OpenAi, StructuredOutput, Tools } from "@sluice/core"
import { Context, Effect, Layer, Schema } from "effect"
import { client, httpServer, type Spawned, steady } from "./support/servers.js"

class Steady extends Context.Service<Steady, Spawned>()("test/SteadyResponses") {}
const SteadyLive = Layer.effect(Steady, steady)

/**
 * steady reports what it finds in `x-steady-error-*` headers; a pass-through on loopback between the client and
 * steady records them, so a test can assert there were none. One kind is left out: E3012 "no variant matched" on a
 * `oneOf` whose discriminator has no `mapping` (input content parts, `text.format`): OpenAPI then expects the
 * schema's name (`InputTextContent`) as the value, the OpenAI spec means its `type` enum (`input_text`), and steady
 * itself counts the request as valid (`x-steady-request-valid: true`).
 */
const findings: Array<string> = []
class Recorder extends Context.Service<Recorder, { readonly url: string }>()("test/SteadyRecorder") {}
const RecorderLive = Layer.effect(
  Recorder,
  Effect.gen(function* () {
    const target = (yield* Steady).url
    return yield* httpServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", async () => {
        const upstream = await fetch(`${target}${req.url}`, {
          method: req.method ?? "GET",
          headers: { "content-type": "application/json", authorization: String(req.headers.authorization) },
          ...(chunks.length === 0 ? {} : { body: Buffer.concat(chunks) })
        })
        const count = Number(upstream.headers.get("x-steady-error-count") ?? 0)
        if (upstream.headers.get("x-steady-request-valid") !== "true")
          findings.push(`${req.method} ${req.url}: invalid`)
        for (let i = 1; i <= count; i++) {
          if (upstream.headers.get(`x-steady-error-${i}-code`) === "E3012") continue
          findings.push(
            `${req.method} ${req.url} ${upstream.headers.get(`x-steady-error-${i}-path`)}: ${upstream.headers.get(`x-steady-error-${i}-message`)}`
          )
        }
        res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" })
        res.end(Buffer.from(await upstream.arrayBuffer()))
      })
    })
  })
).pipe(Layer.provideMerge(SteadyLive))
const Live = Layer.unwrap(Effect.map(Recorder, (r) => client(r.url))).pipe(Layer.provideMerge(RecorderLive))

layer(Live, { excludeTestServices: true, timeout: 60_000 })("responses contract (steady)", (it) => {
  it.effect("steady rejects an invalid responses request (so the checks below can fail)", () =>
    Effect.gen(function* () {
      const { url } = yield* Recorder
      findings.length = 0
      const response = yield* Effect.promise(() =>
        fetch(`${url}/responses`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: "Bearer sk-x" },
          body: JSON.stringify({ model: "gpt-4.1", input: "hi", store: "yes" })
        })
      )
      expect(response.status).toBe(400)
      expect(findings).toEqual([
        "POST /responses: invalid",
        "POST /responses body.store: Expected type boolean, got string"
      ])
    })
  )

  it.effect(
    "create with item input, instructions, strict tools, text.format from a Schema, reasoning, store, background",
    () =>
      Effect.gen(function* () {
        findings.length = 0
        const openai = yield* OpenAi.OpenAi
        const format = yield* StructuredOutput.make(
          Schema.Struct({ city: Schema.String, temperature: Schema.Number }),
          {
            name: "weather"
          }
        )
        const tools = yield* Tools.responsesTools([
          Tools.make("get_weather", {
            description: "Weather for a city",
            parameters: Schema.Struct({ city: Schema.String, unit: Schema.optional(Schema.Literals(["c", "f"])) }),
            handler: () => Effect.succeed("sunny")
          })
        ])
        const response = yield* openai.responses.create({
          model: "gpt-4.1",
          instructions: "Be brief.",
          input: [
            { role: "user", content: [{ type: "input_text", text: "Weather in Oslo?" }] },
            { type: "function_call", call_id: "call_1", name: "get_weather", arguments: '{"city":"Oslo","unit":null}' },
            { type: "function_call_output", call_id: "call_1", output: "sunny" }
          ],
          tools,
          tool_choice: "auto",
          text: { format: StructuredOutput.textFormat(format) },
          reasoning: { effort: "low" },
          max_output_tokens: 200,
          previous_response_id: "resp_0",
          store: true,
          background: false,
          metadata: { job: "contract" }
        })
        expect(response.status).toBe(200)
        expect(Array.isArray(response.body.output)).toBe(true)
        expect(findings).toEqual([])
      })
  )

  it.effect("create with text input", () =>
    Effect.gen(function* () {
      findings.length = 0
      const openai = yield* OpenAi.OpenAi
      const response = yield* openai.responses.create({ model: "gpt-4.1-mini", input: "hi", max_output_tokens: 16 })
      expect(response.status).toBe(200)
      expect(findings).toEqual([])
    })
  )

  it.effect("retrieve, cancel, delete, input_tokens", () =>
    Effect.gen(function* () {
      findings.length = 0
      const openai = yield* OpenAi.OpenAi
      expect((yield* openai.responses.retrieve("resp_abc")).status).toBe(200)
      expect((yield* openai.responses.cancel("resp_abc")).status).toBe(200)
      const deleted = yield* openai.responses.delete("resp_abc")
      expect(deleted.status).toBe(200)
      const counted = yield* openai.responses.inputTokens({
        model: "gpt-4.1",
        input: "hello",
        instructions: "Be brief."
      })
      expect(counted.status).toBe(200)
      expect(counted.body.input_tokens).toBeTypeOf("number")
      expect(findings).toEqual([])
    })
  )
})
