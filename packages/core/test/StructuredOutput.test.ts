import { describe, expect, it, layer } from "@effect/vitest"
import { ChatCompletions, Responses, StructuredOutput } from "@sluice/core"
import { Context, Effect, Layer, Schema } from "effect"
import { bin, client, fixture, httpServer, type Spawned, spawnServer } from "./support/servers.js"

const Person = Schema.Struct({
  name: Schema.String,
  age: Schema.optional(Schema.Int),
  tags: Schema.Array(Schema.String),
  role: Schema.Literals(["admin", "user"]),
  address: Schema.Struct({ city: Schema.String, zip: Schema.NullOr(Schema.String) })
})

const person = StructuredOutput.make(Person, { name: "person" })

describe("strict JSON Schema generation", () => {
  it.effect("every property required, additionalProperties false, optional as a nullable union", () =>
    Effect.gen(function* () {
      const format = yield* person
      const schema = format.jsonSchema as {
        type: string
        required: Array<string>
        additionalProperties: boolean
        properties: Record<
          string,
          { anyOf?: Array<{ type: string }>; additionalProperties?: boolean; required?: Array<string> }
        >
      }
      expect(schema.type).toBe("object")
      expect(schema.additionalProperties).toBe(false)
      expect(schema.required).toEqual(["name", "age", "tags", "role", "address"])
      expect(schema.properties.age?.anyOf?.map((s) => s.type)).toContain("null")
      expect(schema.properties.address?.additionalProperties).toBe(false)
      expect(schema.properties.address?.required).toEqual(["city", "zip"])
    })
  )

  it.effect("response_format and text.format carry it in strict mode, and both validate as requests", () =>
    Effect.gen(function* () {
      const format = yield* person
      const chat = StructuredOutput.responseFormat(format)
      expect(chat).toMatchObject({ type: "json_schema", json_schema: { name: "person", strict: true } })
      const text = StructuredOutput.textFormat(format)
      expect(text).toMatchObject({ type: "json_schema", name: "person", strict: true })
      yield* Schema.decodeUnknownEffect(ChatCompletions.Request)({
        model: "m",
        messages: [{ role: "user", content: "x" }],
        response_format: chat
      })
      yield* Schema.decodeUnknownEffect(Responses.Request)({ model: "m", input: "x", text: { format: text } })
    })
  )

  it.effect(
    'a Schema.Number is a plain number (not the JSON codec\'s union with "NaN"), and Finite keeps its bounds',
    () =>
      Effect.gen(function* () {
        const format = yield* StructuredOutput.make(
          Schema.Struct({ n: Schema.Number, bounded: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)) }),
          { name: "numbers" }
        )
        const properties = (format.jsonSchema as { properties: Record<string, object> }).properties
        expect(properties.n).toEqual({ type: "number" })
        expect(properties.bounded).toMatchObject({ type: "number", minimum: 0 })
        expect(yield* StructuredOutput.decode(format, '{"n":1.5,"bounded":2}')).toEqual({ n: 1.5, bounded: 2 })
        const negative = yield* Effect.flip(StructuredOutput.decode(format, '{"n":1,"bounded":-1}'))
        expect(negative.message).toContain("bounded")
      })
  )

  it.effect("a Schema.Date is a date-time string, decoded back into a Date", () =>
    Effect.gen(function* () {
      const format = yield* StructuredOutput.make(Schema.Struct({ at: Schema.Date }), { name: "when" })
      expect((format.jsonSchema as { properties: Record<string, object> }).properties.at).toMatchObject({
        type: "string",
        format: "date-time"
      })
      const value = yield* StructuredOutput.decode(format, '{"at":"2026-12-01T10:00:00.000Z"}')
      expect(value.at).toBeInstanceOf(Date)
      expect(value.at.toISOString()).toBe("2026-12-01T10:00:00.000Z")
    })
  )

  it.effect("a field strict mode cannot express is refused, naming the field", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        StructuredOutput.make(Schema.Struct({ ok: Schema.String, meta: Schema.Struct({ blob: Schema.Unknown }) }), {
          name: "x"
        })
      )
      expect(error._tag).toBe("InvalidRequest")
      expect(error.path).toBe("meta.blob")
      expect(error.message).toContain("meta.blob")
      expect(error.message).toContain("no type")
    })
  )

  it.effect("a root that is not an object, too deep a nesting and a bad name are refused", () =>
    Effect.gen(function* () {
      const root = yield* Effect.flip(StructuredOutput.make(Schema.String, { name: "x" }))
      expect(root.message).toContain("Root JSON Schema")
      let deep: Schema.Top = Schema.String
      for (let i = 0; i < 11; i++) deep = Schema.Struct({ n: deep as Schema.Codec<unknown, unknown> })
      const depth = yield* Effect.flip(StructuredOutput.make(deep as Schema.Codec<unknown, unknown>, { name: "deep" }))
      expect(depth.message).toContain("nests deeper")
      expect(depth.path).toBe("n.n.n.n.n.n.n.n.n.n")
      const name = yield* Effect.flip(StructuredOutput.make(Person, { name: "has space" }))
      expect(name.path).toBe("name")
    })
  )
})

describe("decoding replies", () => {
  const completion = (message: object, finish_reason = "stop") =>
    Schema.decodeUnknownSync(ChatCompletions.ChatCompletion)({
      id: "c",
      model: "m",
      choices: [{ message, finish_reason }]
    })

  it.effect("a valid reply decodes into the Schema's type (null → missing optional)", () =>
    Effect.gen(function* () {
      const format = yield* person
      const value = yield* StructuredOutput.decode(
        format,
        '{"name":"Ada","age":null,"tags":["x"],"role":"admin","address":{"city":"London","zip":null}}'
      )
      expect(value).toEqual({ name: "Ada", tags: ["x"], role: "admin", address: { city: "London", zip: null } })
      const withAge = yield* StructuredOutput.fromChatCompletion(
        format,
        completion({
          content: '{"name":"B","age":3,"tags":[],"role":"user","address":{"city":"C","zip":"1"}}'
        })
      )
      expect(withAge.age).toBe(3)
    })
  )

  it.effect("not JSON, the wrong shape, or cut short → StructuredOutputInvalid with the raw text", () =>
    Effect.gen(function* () {
      const format = yield* person
      const notJson = yield* Effect.flip(StructuredOutput.decode(format, "Sure! Here it is", "req_1"))
      expect(notJson._tag).toBe("StructuredOutputInvalid")
      expect(notJson.text).toBe("Sure! Here it is")
      expect(notJson.requestId).toBe("req_1")
      const shape = yield* Effect.flip(StructuredOutput.decode(format, '{"name":"A","tags":[],"role":"boss"}'))
      expect(shape.message).toContain("role")
      const cut = yield* Effect.flip(
        StructuredOutput.fromChatCompletion(format, completion({ content: '{"na' }, "length"))
      )
      expect(cut._tag).toBe("StructuredOutputInvalid")
      expect(cut.message).toContain("length")
      expect((cut as { text: string }).text).toBe('{"na')
    })
  )

  it.effect("a refusal → Refused on both APIs", () =>
    Effect.gen(function* () {
      const format = yield* person
      const chat = yield* Effect.flip(
        StructuredOutput.fromChatCompletion(format, completion({ content: null, refusal: "I can't help with that." }))
      )
      expect(chat._tag).toBe("Refused")
      expect((chat as { refusal: string }).refusal).toBe("I can't help with that.")
      const response = Schema.decodeUnknownSync(Responses.Response)({
        id: "r",
        status: "completed",
        output: [{ type: "message", content: [{ type: "refusal", refusal: "No." }] }]
      })
      const refused = yield* Effect.flip(StructuredOutput.fromResponse(format, response))
      expect(refused._tag).toBe("Refused")
    })
  )

  it.effect("a Response: output_text decodes; incomplete → StructuredOutputInvalid naming the reason", () =>
    Effect.gen(function* () {
      const format = yield* person
      const ok = Schema.decodeUnknownSync(Responses.Response)({
        id: "r",
        status: "completed",
        output: [
          { type: "reasoning", summary: [] },
          {
            type: "message",
            content: [
              { type: "output_text", text: '{"name":"A","age":1,"tags":[],' },
              { type: "output_text", text: '"role":"user","address":{"city":"X","zip":null}}' }
            ]
          }
        ]
      })
      expect((yield* StructuredOutput.fromResponse(format, ok)).name).toBe("A")
      const incomplete = yield* Effect.flip(
        StructuredOutput.fromResponse(
          format,
          Schema.decodeUnknownSync(Responses.Response)({
            status: "incomplete",
            incomplete_details: { reason: "max_output_tokens" },
            output: [{ type: "message", content: [{ type: "output_text", text: '{"name":' }] }]
          })
        )
      )
      expect(incomplete._tag).toBe("StructuredOutputInvalid")
      expect(incomplete.message).toContain("max_output_tokens")
    })
  )
})

class Aimock extends Context.Service<Aimock, Spawned>()("test/AimockStructured") {}
const Live = Layer.unwrap(Effect.map(Aimock, (s) => client(`${s.url}/v1`, { maxTokensPolicy: "off" }))).pipe(
  Layer.provideMerge(
    Layer.effect(
      Aimock,
      spawnServer(bin("aimock"), ["--config", fixture("aimock-tools.json"), "--port", "0"], {
        ready: /listening on http:\/\/127\.0\.0\.1:(\d+)\s/,
        cwd: fixture("")
      })
    )
  )
)

const Coder = Schema.Struct({ name: Schema.String, age: Schema.Int, languages: Schema.Array(Schema.String) })

layer(Live, { excludeTestServices: true, timeout: 60_000 })("structured outputs against aimock", (it) => {
  it.effect("chat: response_format sent, the reply decoded into the Schema's type", () =>
    Effect.gen(function* () {
      const format = yield* StructuredOutput.make(Coder, { name: "coder" })
      const { value, response } = yield* StructuredOutput.chat(format, {
        model: "gpt-4o",
        messages: [{ role: "user", content: "give me a person" }]
      })
      expect(value).toEqual({ name: "Ada", age: 36, languages: ["en", "fr"] })
      expect(response.status).toBe(200)
      const bad = yield* Effect.flip(
        StructuredOutput.chat(format, { model: "gpt-4o", messages: [{ role: "user", content: "give me nonsense" }] })
      )
      expect(bad._tag).toBe("StructuredOutputInvalid")
      expect((bad as { text: string }).text).toBe('{"name":42}')
    })
  )

  it.effect("responses: text.format sent, the reply decoded, a wrong shape refused", () =>
    Effect.gen(function* () {
      const format = yield* StructuredOutput.make(Coder, { name: "coder" })
      const { value } = yield* StructuredOutput.respond(format, { model: "gpt-4o", input: "give me a person" })
      expect(value.languages).toEqual(["en", "fr"])
      const bad = yield* Effect.flip(StructuredOutput.respond(format, { model: "gpt-4o", input: "give me nonsense" }))
      expect(bad._tag).toBe("StructuredOutputInvalid")
    })
  )
})

describe("chatResponseFormat (servers whose /responses drops text.format)", () => {
  it.live("respond sends response_format beside text.format only when asked", () =>
    Effect.gen(function* () {
      const bodies: Array<Record<string, unknown>> = []
      const { url } = yield* httpServer((req, res) => {
        let text = ""
        req.on("data", (chunk: Buffer) => {
          text += chunk.toString()
        })
        req.on("end", () => {
          bodies.push(JSON.parse(text))
          res.writeHead(200, { "content-type": "application/json" })
          res.end(
            JSON.stringify({
              id: "resp_1",
              status: "completed",
              output: [
                { type: "message", content: [{ type: "output_text", text: '{"name":"A","age":1,"languages":[]}' }] }
              ]
            })
          )
        })
      })
      yield* Effect.gen(function* () {
        const format = yield* StructuredOutput.make(Coder, { name: "coder" })
        const request = { model: "local", input: "a person", max_output_tokens: 100 }
        yield* StructuredOutput.respond(format, request)
        const { value } = yield* StructuredOutput.respond(format, request, { chatResponseFormat: true })
        expect(value.name).toBe("A")
      }).pipe(Effect.provide(client(url, { maxTokensPolicy: "off" })))
      expect(bodies[0]?.response_format).toBeUndefined()
      expect(bodies[1]?.response_format).toMatchObject({
        type: "json_schema",
        json_schema: { name: "coder", strict: true }
      })
      expect(bodies[1]?.text).toMatchObject({ format: { type: "json_schema", name: "coder" } })
    }).pipe(Effect.scoped)
  )
})
