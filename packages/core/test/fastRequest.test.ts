import { expect, it } from "@effect/vitest"
import { Decoding } from "@sluice/core"
import { Result, Schema } from "effect"
import { Request } from "../src/ChatCompletions.js"
import { fastChatRequest } from "../src/internal/client/fastRequest.js"

const slow = Decoding.decoder(Request)
const json = (u: unknown): unknown => JSON.parse(JSON.stringify(u))
let accepted = 0
// Every bound the schema checks, and just past it.
const edges = [-2.05, -2, -1, -0.05, 0, 0.5, 1, 1.05, 2, 2.05, 20, 21, 128, 129]
const scalarNames = [
  "max_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "n",
  "seed",
  "presence_penalty",
  "frequency_penalty",
  "top_logprobs"
]

/** The request with only what the fast path knows: text messages and the scalar options (so it is exercised). */
const plain = (request: Record<string, unknown>): Record<string, unknown> => {
  const { tools, tool_choice, response_format, stop, logit_bias, metadata, stream_options, ...rest } = request
  const messages = (request.messages as Array<Record<string, unknown>>)
    .filter((m) => typeof m.content === "string" && m.role !== "tool")
    .map(({ role, content, name }) => (name === undefined ? { role, content } : { role, content, name }))
  return { ...rest, messages }
}

/** Whether the fast path took `candidate`; when it did, the schema must return the same value, fields in order. */
const agrees = (candidate: unknown): boolean => {
  const actual = fastChatRequest(json(candidate))
  if (actual === undefined) return false
  const expected = Result.getOrThrow(slow(json(candidate)))
  expect(actual).toEqual(expected)
  expect(Object.keys(actual)).toEqual(Object.keys(expected as object))
  return true
}

it.prop(
  "the fast chat-request check agrees with the schema whenever it accepts",
  {
    request: Schema.toEncoded(Request),
    noise: Schema.Json,
    small: Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum: -3, maximum: 130 }))),
    real: Schema.Number
  },
  ({ request: encoded, noise, small, real }) => {
    const request = json(encoded) as Record<string, unknown>
    const candidates = [
      request,
      plain(request),
      noise,
      { ...plain(request), extra: noise },
      { ...plain(request), temperature: noise },
      { ...plain(request), max_tokens: noise },
      { ...plain(request), messages: [noise] },
      ...scalarNames.flatMap((name) => [
        { ...plain(request), [name]: small },
        { ...plain(request), [name]: real / 7 },
        ...edges.map((edge) => ({ ...plain(request), [name]: edge }))
      ])
    ]
    accepted += candidates.filter(agrees).length
  },
  { arbitrary: { runs: 500 } }
)

it("the fast path was taken often in that property, so it checked something", () => {
  expect(accepted, "candidates the fast path took").toBeGreaterThan(100)
})

it("takes a plain request as a copy, and leaves tools, parts, unknown fields and bad values to the schema", () => {
  const request = {
    model: "gpt-4o-mini",
    messages: [
      { role: "system", content: "be brief" },
      { role: "user", content: "hi", name: "ann" }
    ],
    max_completion_tokens: 16,
    temperature: 0.2,
    seed: undefined
  }
  const fast = fastChatRequest(request)
  expect(fast).toEqual(Result.getOrThrow(slow(request)))
  expect(fast).not.toBe(request)
  expect(fast?.messages).not.toBe(request.messages)
  expect(Object.hasOwn(fast ?? {}, "seed")).toBe(true)
  const refused = [
    { ...request, tools: [] },
    { ...request, top_k: 40 },
    { ...request, model: "" },
    { ...request, messages: [] },
    { ...request, messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }] },
    { ...request, messages: [{ role: "tool", content: "42", tool_call_id: "c1" }] },
    { ...request, max_completion_tokens: 0 },
    { ...request, max_completion_tokens: 1.5 },
    { ...request, temperature: 3 },
    { ...request, temperature: Number.NaN },
    { ...request, seed: 2 ** 60 },
    JSON.parse('{"model":"m","messages":[{"role":"user","content":"hi"}],"__proto__":{"x":1}}'),
    Object.assign(Object.create({ inherited: true }), request)
  ]
  for (const candidate of refused) expect(fastChatRequest(candidate)).toBeUndefined()
})
