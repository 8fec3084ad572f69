import { describe, expect, it } from "@effect/vitest"
import { Simulator } from "@sluice/simulator"
import { Effect } from "effect"
import { chatBody, get, KEY, post, raw } from "./helpers.js"
import { ajv, orderSchema, searchTool, weatherTool } from "./schemas.js"

/** A parsed JSON value, as loosely typed as `JSON.parse`'s. */
type Json = ReturnType<typeof JSON.parse>

interface Sse {
  readonly event: string
  readonly data: Json
}

/** Parses named SSE events (`event:` + `data:` lines, LF or CRLF). */
const events = (text: string): Array<Sse> =>
  text
    .split(/\r?\n\r?\n/)
    .filter((e) => e.length > 0)
    .map((e) => {
      const lines = e.split(/\r?\n/)
      const event = lines.find((l) => l.startsWith("event: "))!.slice(7)
      const data = JSON.parse(lines.find((l) => l.startsWith("data: "))!.slice(6))
      expect(data.type).toBe(event)
      return { event, data }
    })

const create = (url: string, body: Record<string, unknown>) =>
  Effect.map(post(url, "/responses", { model: "gpt-4o-mini", ...body }), (r) => ({ ...r, json: JSON.parse(r.text) }))

const stream = (url: string, body: Record<string, unknown>) =>
  Effect.map(post(url, "/responses", { model: "gpt-4o-mini", stream: true, ...body }), (r) => ({
    ...r,
    events: events(r.text)
  }))

const del = (url: string, path: string) =>
  Effect.promise(() =>
    fetch(url + path, { method: "DELETE", headers: { authorization: `Bearer ${KEY}` } }).then(async (r) => ({
      status: r.status,
      json: await r.json()
    }))
  )

const outputText = (response: Json): string =>
  response.output
    .filter((i: Json) => i.type === "message")
    .flatMap((i: Json) => i.content)
    .map((p: Json) => p.text ?? "")
    .join("")

const functionTools = [weatherTool, searchTool].map((t) => ({ type: "function", strict: true, ...t }))

describe("POST /v1/responses (JSON)", () => {
  it.effect("a completed Response with a message, usage, and the same answer as chat for the same prompt", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const r = yield* create(sim.url, { input: "Hello there", metadata: { k: "v" }, temperature: 0.5 })
      expect(r.status).toBe(200)
      const body = r.json
      expect(body).toMatchObject({
        object: "response",
        status: "completed",
        background: false,
        error: null,
        incomplete_details: null,
        model: "gpt-4o-mini",
        previous_response_id: null,
        store: true,
        temperature: 0.5,
        metadata: { k: "v" },
        text: { format: { type: "text" } }
      })
      expect(body.id).toMatch(/^resp_/)
      expect(body.output).toHaveLength(1)
      expect(body.output[0]).toMatchObject({ type: "message", status: "completed", role: "assistant" })
      expect(body.output[0].id).toMatch(/^msg_/)
      expect(body.output[0].content[0]).toMatchObject({ type: "output_text", annotations: [], logprobs: [] })
      const chat = JSON.parse((yield* post(sim.url, "/chat/completions", chatBody("Hello there"))).text)
      expect(outputText(body)).toBe(chat.choices[0].message.content)
      expect(body.usage).toEqual({
        input_tokens: chat.usage.prompt_tokens,
        input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
        output_tokens: chat.usage.completion_tokens,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: chat.usage.total_tokens
      })
      const again = yield* create(sim.url, {
        input: [{ role: "user", content: [{ type: "input_text", text: "Hello there" }] }]
      })
      expect(outputText(again.json)).toBe(outputText(body))
      const stats = yield* sim.stats
      expect(stats.byPath["POST /v1/responses"]).toBe(2)
      expect(stats.promptTokens).toBe(3 * chat.usage.prompt_tokens)
      const counted = JSON.parse(
        (yield* post(sim.url, "/responses/input_tokens", { model: "gpt-4o-mini", input: "Hello there" })).text
      )
      expect(counted).toEqual({ object: "response.input_tokens", input_tokens: body.usage.input_tokens })
    })
  )

  it.effect("OpenAI-shaped 400s for bad requests", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const cases: Array<[Record<string, unknown>, string, string | null]> = [
        [{}, "input", "missing_required_parameter"],
        [{ input: 3 }, "input", "invalid_type"],
        [{ input: [{ type: "banana" }] }, "input[0].type", "invalid_value"],
        [{ input: [{ role: "robot", content: "x" }] }, "input[0].role", "invalid_value"],
        [{ input: [{ role: "user" }] }, "input[0].content", "missing_required_parameter"],
        [{ input: [{ type: "function_call_output", output: "x" }] }, "input[0].call_id", "missing_required_parameter"],
        [{ input: "x", tools: [{ type: "function", parameters: {} }] }, "tools[0].name", "missing_required_parameter"],
        [
          { input: "x", text: { format: { type: "json_schema", schema: {} } } },
          "text.format.name",
          "missing_required_parameter"
        ],
        [
          { input: "x", text: { format: { type: "json_schema", name: "n" } } },
          "text.format.schema",
          "missing_required_parameter"
        ],
        [{ input: "x", max_output_tokens: 5 }, "max_output_tokens", "integer_below_min_value"],
        [{ input: "x", reasoning: { effort: "extreme" } }, "reasoning.effort", "invalid_value"],
        [{ input: "x", background: true, store: false }, "background", null],
        [{ input: "x", previous_response_id: "resp_nope" }, "previous_response_id", "previous_response_not_found"]
      ]
      for (const [body, param, code] of cases) {
        const r = yield* create(sim.url, body)
        expect(r.status, JSON.stringify(body)).toBe(400)
        expect(r.json.error, JSON.stringify(body)).toMatchObject({ type: "invalid_request_error", param, code })
      }
      expect((yield* create(sim.url, { model: "text-davinci-003", input: "x" })).status).toBe(404)
      expect((yield* post(sim.url, "/responses", "{nope")).status).toBe(400)
      expect((yield* sim.stats).successes).toBe(0)
    })
  )

  it.effect("store, retrieve, delete; store: false is not retrievable", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const stored = (yield* create(sim.url, { input: "keep me" })).json
      const got = JSON.parse((yield* get(sim.url, `/responses/${stored.id}`)).text)
      expect(got).toEqual(stored)
      const deleted = yield* del(sim.url, `/responses/${stored.id}`)
      expect(deleted.json).toEqual({ id: stored.id, object: "response", deleted: true })
      const gone = yield* get(sim.url, `/responses/${stored.id}`)
      expect(gone.status).toBe(404)
      expect(JSON.parse(gone.text).error.message).toBe(`Response with id '${stored.id}' not found.`)
      expect((yield* del(sim.url, `/responses/${stored.id}`)).status).toBe(404)
      const ephemeral = (yield* create(sim.url, { input: "forget me", store: false })).json
      expect(ephemeral.store).toBe(false)
      expect((yield* get(sim.url, `/responses/${ephemeral.id}`)).status).toBe(404)
      const follow = yield* create(sim.url, { input: "more", previous_response_id: ephemeral.id })
      expect(follow.json.error.code).toBe("previous_response_not_found")
      const cancel = yield* post(sim.url, `/responses/${stored.id}/cancel`, {})
      expect(cancel.status).toBe(404)
    })
  )

  it.effect(
    "responses.maxStored keeps the newest stored responses; [[content_filter]] is incomplete; tool_choice forces a call",
    () =>
      Effect.gen(function* () {
        const sim = yield* Simulator.start({ responses: { maxStored: 2 } })
        const ids: Array<string> = []
        for (const input of ["one", "two", "three"]) ids.push((yield* create(sim.url, { input })).json.id)
        expect((yield* get(sim.url, `/responses/${ids[0]}`)).status).toBe(404)
        expect((yield* get(sim.url, `/responses/${ids[1]}`)).status).toBe(200)
        expect((yield* get(sim.url, `/responses/${ids[2]}`)).status).toBe(200)
        const filtered = (yield* create(sim.url, { input: "bad [[content_filter]]" })).json
        expect(filtered.status).toBe("incomplete")
        expect(filtered.incomplete_details).toEqual({ reason: "content_filter" })
        const required = (yield* create(sim.url, { input: "no marker", tools: functionTools, tool_choice: "required" }))
          .json
        expect(required.output[0]).toMatchObject({ type: "function_call", name: "get_weather" })
        const named = (yield* create(sim.url, {
          input: "no marker",
          tools: functionTools,
          tool_choice: { type: "function", name: "search" }
        })).json
        expect(named.output[0]).toMatchObject({ type: "function_call", name: "search" })
        const none = (yield* create(sim.url, { input: "[tools]", tools: functionTools, tool_choice: "none" })).json
        expect(none.output[0].type).toBe("message")
      })
  )

  it.effect("max_output_tokens cuts the answer: status incomplete, reason max_output_tokens", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      // find a prompt whose answer is longer than 16 pseudo-tokens
      let prompt = ""
      for (let i = 0; i < 50 && prompt === ""; i++) {
        const full = (yield* create(sim.url, { input: `long ${i}` })).json
        if (full.usage.output_tokens > 16) prompt = `long ${i}`
      }
      expect(prompt).not.toBe("")
      const cut = (yield* create(sim.url, { input: prompt, max_output_tokens: 16 })).json
      expect(cut.status).toBe("incomplete")
      expect(cut.incomplete_details).toEqual({ reason: "max_output_tokens" })
      expect(cut.output[0].status).toBe("incomplete")
      expect(cut.usage.output_tokens).toBe(16)
      expect(cut.max_output_tokens).toBe(16)
      const s = yield* stream(sim.url, { input: prompt, max_output_tokens: 16 })
      expect(s.events.at(-1)!.event).toBe("response.incomplete")
      expect(s.events.at(-1)!.data.response.incomplete_details).toEqual({ reason: "max_output_tokens" })
    })
  )

  it.effect(
    "reasoning: a reasoning item with a summary, reasoning tokens billed as output; reasoning can use up the budget",
    () =>
      Effect.gen(function* () {
        const sim = yield* Simulator.start()
        const r = (yield* create(sim.url, {
          model: "o4-mini",
          input: "think",
          reasoning: { effort: "low", summary: "auto" }
        })).json
        expect(r.output.map((i: Json) => i.type)).toEqual(["reasoning", "message"])
        expect(r.output[0].id).toMatch(/^rs_/)
        expect(r.output[0].summary[0].type).toBe("summary_text")
        expect(r.output[0].summary[0].text.length).toBeGreaterThan(0)
        expect(r.reasoning).toEqual({ effort: "low", summary: "auto" })
        const reasoning = r.usage.output_tokens_details.reasoning_tokens
        expect(reasoning).toBeGreaterThanOrEqual(32)
        expect(reasoning).toBeLessThan(64)
        const plain = (yield* create(sim.url, { model: "o4-mini", input: "think" })).json
        expect(r.usage.output_tokens).toBe(reasoning + plain.usage.output_tokens)
        const noSummary = (yield* create(sim.url, { input: "think", reasoning: { effort: "medium" } })).json
        expect(noSummary.output[0]).toMatchObject({ type: "reasoning", summary: [] })
        const starved = (yield* create(sim.url, {
          input: "think",
          reasoning: { effort: "high" },
          max_output_tokens: 100
        })).json
        expect(starved.status).toBe("incomplete")
        expect(starved.output.map((i: Json) => i.type)).toEqual(["reasoning"])
        expect(starved.usage.output_tokens_details.reasoning_tokens).toBe(100)
        const s = yield* stream(sim.url, { input: "think", reasoning: { effort: "low", summary: "detailed" } })
        const summary = s.events
          .filter((e) => e.event === "response.reasoning_summary_text.delta")
          .map((e) => e.data.delta)
          .join("")
        const done = s.events.find((e) => e.event === "response.reasoning_summary_text.done")!
        expect(summary).toBe(done.data.text)
        expect(s.events.map((e) => e.event)).toContain("response.reasoning_summary_part.done")
      })
  )
})

describe("structured output and tools on /v1/responses", () => {
  it.effect("text.format json_schema: output_text is JSON valid for the schema; [refuse] gives a refusal part", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const text = { format: { type: "json_schema", name: "order", strict: true, schema: orderSchema } }
      const validate = ajv.compile(orderSchema)
      for (const input of ["an order", "another order", "a third"]) {
        const r = (yield* create(sim.url, { input, text })).json
        expect(validate(JSON.parse(outputText(r))), JSON.stringify(validate.errors)).toBe(true)
        expect(r.text.format.name).toBe("order")
      }
      const refused = (yield* create(sim.url, { input: "no [refuse]", text })).json
      expect(refused.output[0].content).toEqual([
        { type: "refusal", refusal: "I'm sorry, but I can't help with that request." }
      ])
      const s = yield* stream(sim.url, { input: "no [refuse]", text })
      const deltas = s.events.filter((e) => e.event === "response.refusal.delta").map((e) => e.data.delta)
      expect(deltas.join("")).toBe(refused.output[0].content[0].refusal)
      expect(s.events.find((e) => e.event === "response.refusal.done")!.data.refusal).toBe(deltas.join(""))
    })
  )

  it.effect("[tool:NAME]: a function_call with valid arguments; its function_call_output gets text quoting it", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const first = (yield* create(sim.url, { input: "weather in Oslo? [tool:get_weather]", tools: functionTools }))
        .json
      expect(first.status).toBe("completed")
      expect(first.output).toHaveLength(1)
      const call = first.output[0]
      expect(call).toMatchObject({ type: "function_call", status: "completed", name: "get_weather" })
      expect(call.id).toMatch(/^fc_/)
      expect(call.call_id).toMatch(/^call_/)
      expect(ajv.validate(weatherTool.parameters, JSON.parse(call.arguments))).toBe(true)
      const output = '{"temp_c": 4, "sky": "snow"}'
      const second = (yield* create(sim.url, {
        previous_response_id: first.id,
        tools: functionTools,
        input: [{ type: "function_call_output", call_id: call.call_id, output }]
      })).json
      expect(second.previous_response_id).toBe(first.id)
      expect(second.output[0].type).toBe("message")
      expect(outputText(second)).toContain(output)
      // stateless: the same turn with the items echoed back
      const stateless = (yield* create(sim.url, {
        tools: functionTools,
        input: [
          { role: "user", content: "weather in Oslo? [tool:get_weather]" },
          call,
          { type: "function_call_output", call_id: call.call_id, output }
        ]
      })).json
      expect(outputText(stateless)).toContain(output)
      const both = (yield* create(sim.url, { input: "[tool:search] [tool:get_weather]", tools: functionTools })).json
      expect(both.output.map((i: Json) => i.name)).toEqual(["search", "get_weather"])
      const serial = (yield* create(sim.url, {
        input: "[tool:search] [tool:get_weather]",
        tools: functionTools,
        parallel_tool_calls: false
      })).json
      expect(serial.output.map((i: Json) => i.name)).toEqual(["search"])
      expect(serial.parallel_tool_calls).toBe(false)
      expect(ajv.validate(searchTool.parameters, JSON.parse(both.output[0].arguments))).toBe(true)
      const s = yield* stream(sim.url, { input: "[tool:search]", tools: functionTools })
      const args = s.events.filter((e) => e.event === "response.function_call_arguments.delta").map((e) => e.data.delta)
      const done = s.events.find((e) => e.event === "response.function_call_arguments.done")!
      expect(args.join("")).toBe(done.data.arguments)
      expect(done.data.name).toBe("search")
      expect(ajv.validate(searchTool.parameters, JSON.parse(done.data.arguments))).toBe(true)
    })
  )

  it.effect(
    "previous_response_id carries the conversation: its tokens are input, cached in 128-token blocks from 1,024",
    () =>
      Effect.gen(function* () {
        const sim = yield* Simulator.start()
        const long = "word ".repeat(1000) // 5,000 chars: 1,250 tokens
        const first = (yield* create(sim.url, { input: long })).json
        expect(first.usage.input_tokens).toBe(3 + 3 + 1250)
        const next = (yield* create(sim.url, { input: "and then?", previous_response_id: first.id })).json
        const prefix = first.usage.input_tokens + first.usage.output_tokens
        expect(next.usage.input_tokens).toBe(prefix + 3 + Math.ceil("and then?".length / 4))
        expect(next.usage.input_tokens_details.cached_tokens).toBe(Math.floor(prefix / 128) * 128)
        const short = (yield* create(sim.url, { input: "hi" })).json
        const shortNext = (yield* create(sim.url, { input: "and?", previous_response_id: short.id })).json
        expect(shortNext.usage.input_tokens_details.cached_tokens).toBe(0)
        const fresh = (yield* create(sim.url, { input: "and then?" })).json
        expect(outputText(fresh)).not.toBe(outputText(next)) // the context changes the answer
      })
  )
})

describe("POST /v1/responses (SSE)", () => {
  it.effect("the semantic events in order, numbered, in random byte slices; the deltas rebuild the JSON answer", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const json = (yield* create(sim.url, { input: "stream me" })).json
      const r = yield* Effect.promise(() =>
        raw(sim.port, "/responses", { model: "gpt-4o-mini", input: "stream me", stream: true })
      )
      expect(r.status).toBe(200)
      expect(r.headers!["content-type"]).toBe("text/event-stream; charset=utf-8")
      expect(r.chunks.length).toBeGreaterThan(1)
      const evs = events(Buffer.concat(r.chunks).toString("utf8"))
      expect(evs.map((e) => e.data.sequence_number)).toEqual(evs.map((_, i) => i))
      const types = evs.map((e) => e.event)
      expect(types.slice(0, 4)).toEqual([
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added"
      ])
      expect(types.slice(-4)).toEqual([
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed"
      ])
      expect(evs[0]!.data.response.status).toBe("in_progress")
      expect(evs[0]!.data.response.output).toEqual([])
      const text = evs.filter((e) => e.event === "response.output_text.delta").map((e) => e.data.delta)
      expect(text.length).toBeGreaterThan(1)
      expect(text.join("")).toBe(outputText(json))
      for (const e of evs.filter((x) => x.event.includes("output_text") || x.event.includes("output_item"))) {
        expect(e.data.output_index).toBe(0)
      }
      const final = evs.at(-1)!.data.response
      expect(final.status).toBe("completed")
      expect(final.usage).toEqual(json.usage)
      expect(outputText(final)).toBe(outputText(json))
      const stats = yield* sim.stats
      expect(stats.streamsStarted).toBe(1)
      expect(stats.streamsCompleted).toBe(1)
      expect(stats.successes).toBe(2)
    })
  )

  it.effect("responses.sequenceNumbers: false omits sequence_number and output_index, as llama.cpp does", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ responses: { sequenceNumbers: false } })
      const s = yield* stream(sim.url, { input: "[tool:search]", tools: functionTools })
      expect(s.events.length).toBeGreaterThan(5)
      for (const e of s.events) {
        expect(e.data).not.toHaveProperty("sequence_number")
        expect(e.data).not.toHaveProperty("output_index")
      }
      expect(s.events.at(-1)!.event).toBe("response.completed")
    })
  )

  it.effect("faults: an error event (insufficient_quota), response.failed, a dropped stream", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({
        faults: { streamErrorCode: "insufficient_quota" },
        script: [
          { request: 1, path: "/v1/responses", fault: "streamError" },
          { request: 2, path: "/v1/responses", fault: "responseFailed" },
          { request: 3, path: "/v1/responses", fault: "streamDrop" }
        ]
      })
      const errored = yield* stream(sim.url, { input: "a fairly long prompt to stream" })
      const last = errored.events.at(-1)!
      expect(last.event).toBe("error")
      expect(last.data).toMatchObject({ code: "insufficient_quota", param: null })
      expect(last.data.message).toContain("You exceeded your current quota")
      expect(errored.events.map((e) => e.event)).not.toContain("response.completed")
      const failed = yield* stream(sim.url, { input: "a fairly long prompt to stream" })
      expect(failed.events.at(-1)!.event).toBe("response.failed")
      expect(failed.events.at(-1)!.data.response).toMatchObject({ status: "failed", error: { code: "server_error" } })
      const dropped = yield* Effect.promise(() =>
        raw(sim.port, "/responses", { model: "gpt-4o-mini", input: "a fairly long prompt to stream", stream: true })
      )
      expect(dropped.complete).toBe(false)
      const text = Buffer.concat(dropped.chunks).toString("utf8")
      expect(text).toContain("response.created")
      expect(text).not.toContain("response.completed")
      const stats = yield* sim.stats
      expect(stats.faults).toMatchObject({ streamError: 1, responseFailed: 1, streamDrop: 1 })
      expect(stats.successes).toBe(0)
      expect(stats.clientAborts).toBe(0)
      expect(stats.costUsd).toBe(0)
    })
  )
})

describe("background responses", () => {
  const poll = (url: string, id: string, until: ReadonlyArray<string>, seen: Set<string>) =>
    Effect.gen(function* () {
      const deadline = Date.now() + 10_000
      for (;;) {
        const r = JSON.parse((yield* get(url, `/responses/${id}`)).text)
        seen.add(r.status)
        if (until.includes(r.status)) return r
        if (Date.now() > deadline) throw new Error(`response ${id} never reached ${until}: saw ${[...seen]}`)
        yield* Effect.promise(() => new Promise((res) => setTimeout(res, 2)))
      }
    })

  it.effect("queued → in_progress → completed, retrievable; cancel; only background ones can be cancelled", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ latency: { perChunkMs: 25 } })
      const created = (yield* create(sim.url, { input: "work in the background", background: true })).json
      expect(created).toMatchObject({ status: "queued", background: true, output: [], usage: null })
      const seen = new Set<string>()
      const done = yield* poll(sim.url, created.id, ["completed"], seen)
      expect([...seen]).toContain("in_progress")
      const direct = (yield* create(sim.url, { input: "work in the background" })).json
      expect(outputText(done)).toBe(outputText(direct))
      expect(done.usage).toEqual(direct.usage)
      const slow = yield* Simulator.start({ latency: { perChunkMs: 200 } })
      const long = (yield* create(slow.url, { input: "cancel me please", background: true })).json
      yield* poll(slow.url, long.id, ["in_progress"], new Set())
      const cancelled = JSON.parse((yield* post(slow.url, `/responses/${long.id}/cancel`, {})).text)
      expect(cancelled.status).toBe("cancelled")
      expect(JSON.parse((yield* get(slow.url, `/responses/${long.id}`)).text).status).toBe("cancelled")
      expect((yield* slow.stats).costUsd).toBe(0)
      const foreground = (yield* create(sim.url, { input: "x" })).json
      const refused = yield* post(sim.url, `/responses/${foreground.id}/cancel`, {})
      expect(refused.status).toBe(400)
      const notStreamable = yield* get(sim.url, `/responses/${foreground.id}?stream=true`)
      expect(notStreamable.status).toBe(400)
    })
  )

  it.effect("a background stream cut mid-way resumes with starting_after: every event exactly once, in order", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ script: [{ request: 1, path: "/v1/responses", fault: "streamDrop" }] })
      const body = { model: "gpt-4o-mini", input: "a long answer to resume, please", background: true, stream: true }
      const cut = yield* Effect.promise(() => raw(sim.port, "/responses", body))
      expect(cut.complete).toBe(false)
      const text = Buffer.concat(cut.chunks).toString("utf8")
      const whole = text.slice(0, text.lastIndexOf("\n\n") + 2).replace(/\r\n/g, "\n")
      const got = whole.length > 0 ? events(whole) : []
      expect(got.length).toBeGreaterThan(0)
      const id = got[0]!.data.response.id
      expect(got[0]!.data.response.status).toBe("queued")
      const lastSeen = got.at(-1)!.data.sequence_number
      const rest = events((yield* get(sim.url, `/responses/${id}?stream=true&starting_after=${lastSeen}`)).text)
      expect(rest[0]!.data.sequence_number).toBe(lastSeen + 1)
      const all = [...got, ...rest]
      expect(all.map((e) => e.data.sequence_number)).toEqual(all.map((_, i) => i))
      expect(all.at(-1)!.event).toBe("response.completed")
      const replay = events((yield* get(sim.url, `/responses/${id}?stream=true`)).text)
      expect(replay.map((e) => e.data)).toEqual(all.map((e) => e.data))
      const final = JSON.parse((yield* get(sim.url, `/responses/${id}`)).text)
      expect(final.status).toBe("completed")
      expect(outputText(final)).toBe(
        all
          .filter((e) => e.event === "response.output_text.delta")
          .map((e) => e.data.delta)
          .join("")
      )
    })
  )
})

describe("responses through the gates and the Batch API", () => {
  it.effect("the token bucket admits responses: input + max_output_tokens", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ tpm: 6000, clock: () => 1_000_000 }) // 100 tokens per ~1 s
      expect((yield* create(sim.url, { input: "hi", max_output_tokens: 80 })).status).toBe(200)
      const limited = yield* create(sim.url, { input: "hi", max_output_tokens: 80 })
      expect(limited.status).toBe(429)
      expect(limited.json.error).toMatchObject({ type: "tokens", code: "rate_limit_exceeded" })
    })
  )

  it.effect("batch lines for /v1/responses carry the Response object", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ batch: { validatingMs: 1, inProgressMs: 1, finalizingMs: 1 } })
      const lines = [
        { custom_id: "a", method: "POST", url: "/v1/responses", body: { model: "gpt-4o-mini", input: "Hello there" } },
        { custom_id: "b", method: "POST", url: "/v1/responses", body: { model: "gpt-4o-mini" } }
      ]
      const form = new FormData()
      form.append("purpose", "batch")
      form.append("file", new Blob([lines.map((l) => JSON.stringify(l)).join("\n")]), "in.jsonl")
      const file = yield* Effect.promise(() =>
        fetch(`${sim.url}/files`, { method: "POST", headers: { authorization: `Bearer ${KEY}` }, body: form }).then(
          (r) => r.json()
        )
      )
      const batch = JSON.parse(
        (yield* post(sim.url, "/batches", {
          input_file_id: file.id,
          endpoint: "/v1/responses",
          completion_window: "24h"
        })).text
      )
      let done = batch
      const deadline = Date.now() + 10_000
      while (done.status !== "completed" && Date.now() < deadline) {
        yield* Effect.promise(() => new Promise((r) => setTimeout(r, 2)))
        done = JSON.parse((yield* get(sim.url, `/batches/${batch.id}`)).text)
      }
      expect(done.request_counts).toEqual({ total: 2, completed: 1, failed: 1 })
      const out = JSON.parse((yield* get(sim.url, `/files/${done.output_file_id}/content`)).text.trim())
      expect(out.custom_id).toBe("a")
      expect(out.response.status_code).toBe(200)
      expect(out.response.body).toMatchObject({ object: "response", status: "completed" })
      const direct = (yield* create(sim.url, { input: "Hello there" })).json
      expect(outputText(out.response.body)).toBe(outputText(direct))
      const err = JSON.parse((yield* get(sim.url, `/files/${done.error_file_id}/content`)).text.trim())
      expect(err.response.status_code).toBe(400)
      expect(err.response.body.error.param).toBe("input")
    })
  )
})
