import { describe, expect, it } from "@effect/vitest"
import { Simulator } from "@sluice/simulator"
import { Effect, Fiber } from "effect"
import { chatBody, get, jsonHeaders, KEY, post, waitForStats } from "./helpers.js"

const goDuration = /^(\d+h)?(\d+m)?(\d+(\.\d+)?s|\d+ms)$/

describe("chat completions", () => {
  it.effect("answers with the real response shape and headers", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/)
      const res = yield* post(sim.url, "/chat/completions", chatBody("Hello there"))
      expect(res.status).toBe(200)
      expect(res.headers.get("content-type")).toBe("application/json")
      expect(res.headers.get("x-request-id")).toMatch(/^req_[0-9a-z]+$/)
      expect(res.headers.get("openai-processing-ms")).toMatch(/^\d+$/)
      const body = JSON.parse(res.text)
      expect(body.id).toMatch(/^chatcmpl-/)
      expect(body.object).toBe("chat.completion")
      expect(body.model).toBe("gpt-4o-mini")
      expect(typeof body.created).toBe("number")
      expect(body.system_fingerprint).toMatch(/^fp_/)
      expect(body.choices).toHaveLength(1)
      const choice = body.choices[0]
      expect(choice.index).toBe(0)
      expect(choice.message.role).toBe("assistant")
      expect(choice.message.refusal).toBeNull()
      expect(choice.message.content.length).toBeGreaterThan(0)
      expect(choice.finish_reason).toBe("stop")
      expect(choice.logprobs).toBeNull()
      expect(body.usage.prompt_tokens).toBeGreaterThan(0)
      expect(body.usage.completion_tokens).toBeGreaterThan(0)
      expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens)
      expect(body.usage.prompt_tokens_details.cached_tokens).toBe(0)
      expect(body.usage.completion_tokens_details.reasoning_tokens).toBe(0)
    })
  )

  it.effect("is deterministic per prompt and varies across prompts; the corpus has multi-byte text", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const answers = new Set<string>()
      for (let i = 0; i < 30; i++) {
        const a = JSON.parse((yield* post(sim.url, "/chat/completions", chatBody(`prompt ${i}`))).text)
        const b = JSON.parse((yield* post(sim.url, "/chat/completions", chatBody(`prompt ${i}`))).text)
        expect(a.choices[0].message.content).toBe(b.choices[0].message.content)
        answers.add(a.choices[0].message.content)
      }
      expect(answers.size).toBeGreaterThan(10)
      // some answer contains characters outside ASCII (accents, CJK or emoji)
      expect([...answers].some((a) => /[^\x00-\x7f]/.test(a))).toBe(true)
    })
  )

  it.effect("max_tokens caps the answer with finish_reason length", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const full = JSON.parse((yield* post(sim.url, "/chat/completions", chatBody("cap me"))).text)
      const capped = JSON.parse((yield* post(sim.url, "/chat/completions", chatBody("cap me", { max_tokens: 3 }))).text)
      expect(capped.usage.completion_tokens).toBe(3)
      expect(capped.choices[0].finish_reason).toBe("length")
      expect(full.choices[0].message.content.startsWith(capped.choices[0].message.content)).toBe(true)
      expect(capped.choices[0].message.content.length).toBeLessThan(full.choices[0].message.content.length)
      const capped2 = JSON.parse(
        (yield* post(sim.url, "/chat/completions", chatBody("cap me", { max_completion_tokens: 2 }))).text
      )
      expect(capped2.usage.completion_tokens).toBe(2)
      expect(capped2.choices[0].finish_reason).toBe("length")
    })
  )

  it.effect("content filter and tool call markers", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const filtered = JSON.parse((yield* post(sim.url, "/chat/completions", chatBody("bad [[content_filter]]"))).text)
      expect(filtered.choices[0].finish_reason).toBe("content_filter")
      const tools = [
        {
          type: "function",
          function: {
            name: "get_weather",
            parameters: { type: "object", properties: { city: { type: "string" }, days: { type: "integer" } } }
          }
        }
      ]
      const called = JSON.parse(
        (yield* post(sim.url, "/chat/completions", chatBody("weather? [[tool_call]]", { tools }))).text
      )
      const choice = called.choices[0]
      expect(choice.finish_reason).toBe("tool_calls")
      expect(choice.message.content).toBeNull()
      expect(choice.message.tool_calls).toHaveLength(1)
      expect(choice.message.tool_calls[0].id).toMatch(/^call_/)
      expect(choice.message.tool_calls[0].type).toBe("function")
      expect(choice.message.tool_calls[0].function.name).toBe("get_weather")
      const args = JSON.parse(choice.message.tool_calls[0].function.arguments)
      expect(typeof args.city).toBe("string")
      expect(Number.isInteger(args.days)).toBe(true)
      // without tools the marker is just text
      const plain = JSON.parse((yield* post(sim.url, "/chat/completions", chatBody("weather? [[tool_call]]"))).text)
      expect(plain.choices[0].finish_reason).toBe("stop")
    })
  )

  it.effect("errors have the real shape and status codes", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const badJson = yield* post(sim.url, "/chat/completions", "{not json")
      expect(badJson.status).toBe(400)
      expect(JSON.parse(badJson.text).error).toMatchObject({ type: "invalid_request_error", code: null, param: null })
      const noModel = yield* post(sim.url, "/chat/completions", { messages: [{ role: "user", content: "x" }] })
      expect(noModel.status).toBe(400)
      expect(JSON.parse(noModel.text).error.message).toMatch(/model/)
      const noMessages = yield* post(sim.url, "/chat/completions", { model: "gpt-4o-mini" })
      expect(noMessages.status).toBe(400)
      expect(JSON.parse(noMessages.text).error).toMatchObject({ param: "messages", type: "invalid_request_error" })
      const retired = yield* post(sim.url, "/chat/completions", { ...chatBody("x"), model: "text-davinci-003" })
      expect(retired.status).toBe(404)
      expect(JSON.parse(retired.text).error).toMatchObject({ code: "model_not_found", type: "invalid_request_error" })
      const unknownPath = yield* post(sim.url, "/nope", {})
      expect(unknownPath.status).toBe(404)
      expect(Object.keys(JSON.parse(unknownPath.text).error).sort()).toEqual(["code", "message", "param", "type"])
    })
  )
})

describe("models", () => {
  it.effect("lists models and answers 404 model_not_found for retired and unknown ids", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ retiredModels: ["gpt-3.5-turbo-0301", "my-old-model"] })
      const list = JSON.parse((yield* get(sim.url, "/models")).text)
      expect(list.object).toBe("list")
      expect(list.data.map((m: { id: string }) => m.id)).toContain("gpt-4o-mini")
      expect(list.data[0]).toMatchObject({ object: "model", owned_by: "system" })
      const one = yield* get(sim.url, "/models/gpt-4o-mini")
      expect(one.status).toBe(200)
      expect(JSON.parse(one.text)).toMatchObject({ id: "gpt-4o-mini", object: "model" })
      for (const id of ["gpt-3.5-turbo-0301", "my-old-model", "no-such-model"]) {
        const res = yield* get(sim.url, `/models/${id}`)
        expect(res.status).toBe(404)
        expect(JSON.parse(res.text).error.code).toBe("model_not_found")
      }
      const chat = yield* post(sim.url, "/chat/completions", { ...chatBody("x"), model: "my-old-model" })
      expect(chat.status).toBe(404)
    })
  )

  it.effect("strictModels rejects models it does not list", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ strictModels: true })
      const res = yield* post(sim.url, "/chat/completions", { ...chatBody("x"), model: "gpt-unknown" })
      expect(res.status).toBe(404)
      expect(JSON.parse(res.text).error.code).toBe("model_not_found")
    })
  )
})

describe("embeddings", () => {
  it.effect("float, base64 (little-endian float32) and dimensions", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const float = JSON.parse(
        (yield* post(sim.url, "/embeddings", { model: "text-embedding-3-small", input: ["héllo", "world"] })).text
      )
      expect(float.object).toBe("list")
      expect(float.model).toBe("text-embedding-3-small")
      expect(float.data).toHaveLength(2)
      expect(float.data[1]).toMatchObject({ object: "embedding", index: 1 })
      expect(float.data[0].embedding).toHaveLength(1536)
      const norm = Math.sqrt(float.data[0].embedding.reduce((s: number, x: number) => s + x * x, 0))
      expect(norm).toBeCloseTo(1, 4)
      expect(float.usage.prompt_tokens).toBeGreaterThan(0)
      expect(float.usage.total_tokens).toBe(float.usage.prompt_tokens)

      const b64 = JSON.parse(
        (yield* post(sim.url, "/embeddings", {
          model: "text-embedding-3-small",
          input: "héllo",
          encoding_format: "base64"
        })).text
      )
      const bytes = Buffer.from(b64.data[0].embedding, "base64")
      expect(bytes.length).toBe(1536 * 4)
      const decoded = Array.from({ length: 1536 }, (_, i) => bytes.readFloatLE(i * 4))
      expect(decoded).toEqual(float.data[0].embedding)

      const small = JSON.parse(
        (yield* post(sim.url, "/embeddings", { model: "text-embedding-3-large", input: "x", dimensions: 256 })).text
      )
      expect(small.data[0].embedding).toHaveLength(256)
      const large = JSON.parse(
        (yield* post(sim.url, "/embeddings", { model: "text-embedding-3-large", input: "x" })).text
      )
      expect(large.data[0].embedding).toHaveLength(3072)
      const missing = yield* post(sim.url, "/embeddings", { model: "text-embedding-3-small" })
      expect(missing.status).toBe(400)
      expect(JSON.parse(missing.text).error.param).toBe("input")
    })
  )
})

describe("auth", () => {
  it.effect("missing key, unknown key, accepted keys", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ keys: ["sk-good-key-1"] })
      const missing = yield* Effect.promise(() =>
        fetch(`${sim.url}/models`).then(async (r) => ({ status: r.status, text: await r.text() }))
      )
      expect(missing.status).toBe(401)
      const unknown = yield* get(sim.url, "/models", "sk-wrong-key-123")
      expect(unknown.status).toBe(401)
      expect(JSON.parse(unknown.text).error).toMatchObject({ code: "invalid_api_key", type: "invalid_request_error" })
      expect(JSON.parse(unknown.text).error.message).not.toContain("sk-wrong-key-123")
      expect((yield* get(sim.url, "/models", "sk-good-key-1")).status).toBe(200)
      expect((yield* sim.stats).unauthorized).toBe(2)
    })
  )

  it.effect("without keys any non-empty key works", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      expect((yield* get(sim.url, "/models", "anything")).status).toBe(200)
    })
  )

  it.effect("revocation after N requests and at a time; rotation via update", () =>
    Effect.gen(function* () {
      let now = 1_000_000
      const sim = yield* Simulator.start({
        revoke: [
          { key: "sk-old", afterRequests: 2 },
          { key: "sk-timed", atMs: 1_000_500 }
        ],
        clock: () => now
      })
      expect((yield* get(sim.url, "/models", "sk-old")).status).toBe(200)
      expect((yield* get(sim.url, "/models", "sk-old")).status).toBe(200)
      expect((yield* get(sim.url, "/models", "sk-old")).status).toBe(401)
      expect((yield* get(sim.url, "/models", "sk-new")).status).toBe(200)
      expect((yield* get(sim.url, "/models", "sk-timed")).status).toBe(200)
      now = 1_000_500
      const revoked = yield* get(sim.url, "/models", "sk-timed")
      expect(revoked.status).toBe(401)
      expect(JSON.parse(revoked.text).error.code).toBe("invalid_api_key")
      yield* sim.update({ revoke: [{ key: "sk-new", afterRequests: 0 }] })
      expect((yield* get(sim.url, "/models", "sk-new")).status).toBe(401)
      expect((yield* get(sim.url, "/models", "sk-timed")).status).toBe(200)
    })
  )
})

describe("rate limits over HTTP", () => {
  it.effect("headers on every response, 429 with retry-after, rejected requests counted", () =>
    Effect.gen(function* () {
      const now = 5_000_000
      const sim = yield* Simulator.start({ rpm: 120, tpm: 100_000, clock: () => now })
      const ok = yield* post(sim.url, "/chat/completions", chatBody("hi", { max_tokens: 100 }))
      expect(ok.status).toBe(200)
      expect(ok.headers.get("x-ratelimit-limit-requests")).toBe("120")
      expect(ok.headers.get("x-ratelimit-limit-tokens")).toBe("100000")
      expect(ok.headers.get("x-ratelimit-remaining-requests")).toBe("119")
      const usage = JSON.parse(ok.text).usage
      // charged at admission: prompt estimate + max_tokens, not the actual completion
      expect(ok.headers.get("x-ratelimit-remaining-tokens")).toBe(String(100_000 - usage.prompt_tokens - 100))
      expect(ok.headers.get("x-ratelimit-reset-requests")).toMatch(goDuration)
      expect(ok.headers.get("x-ratelimit-reset-tokens")).toMatch(goDuration)
      expect(ok.headers.get("x-ratelimit-reset-requests")).toBe("500ms")
      // 120 rpm = 2 per ~1 s window
      expect((yield* post(sim.url, "/chat/completions", chatBody("hi"))).status).toBe(200)
      const limited = yield* post(sim.url, "/chat/completions", chatBody("hi"))
      expect(limited.status).toBe(429)
      const err = JSON.parse(limited.text).error
      expect(err.code).toBe("rate_limit_exceeded")
      expect(err.type).toBe("requests")
      expect(limited.headers.get("retry-after")).toBe("1")
      expect(limited.headers.get("retry-after-ms")).toBe("500")
      expect(limited.headers.get("x-ratelimit-remaining-requests")).toBe("117")
      const again = yield* post(sim.url, "/chat/completions", chatBody("hi"))
      // the rejected attempt counted, so the wait grew
      expect(again.headers.get("retry-after-ms")).toBe("1000")
      const stats = yield* sim.stats
      expect(stats.rateLimited).toBe(2)
      expect(stats.byStatus["429"]).toBe(2)
      // other responses for the same key carry the headers too
      const models = yield* get(sim.url, "/models")
      expect(models.headers.get("x-ratelimit-remaining-requests")).toBe("116")
    })
  )

  it.effect("token limits reject with scope tokens, and the headers can be switched off", () =>
    Effect.gen(function* () {
      const now = 5_000_000
      const sim = yield* Simulator.start({
        tpm: 6000,
        clock: () => now,
        headers: { rateLimit: false, retryAfterMs: false }
      })
      expect((yield* post(sim.url, "/chat/completions", chatBody("hi", { max_tokens: 90 }))).status).toBe(200)
      const limited = yield* post(sim.url, "/chat/completions", chatBody("hi", { max_tokens: 90 }))
      expect(limited.status).toBe(429)
      expect(JSON.parse(limited.text).error.type).toBe("tokens")
      expect(limited.headers.get("retry-after")).toMatch(/^\d+$/)
      expect(limited.headers.get("retry-after-ms")).toBeNull()
      expect(limited.headers.get("x-ratelimit-limit-tokens")).toBeNull()
      const tooLarge = yield* post(sim.url, "/chat/completions", chatBody("hi", { max_tokens: 7000 }))
      expect(tooLarge.status).toBe(429)
      expect(JSON.parse(tooLarge.text).error.message).toMatch(/Request too large/)
    })
  )

  it.effect("limits are per API key and changeable at run time; reset refills the buckets", () =>
    Effect.gen(function* () {
      const now = 5_000_000
      const sim = yield* Simulator.start({ rpm: 60, clock: () => now })
      expect((yield* get(sim.url, "/models", "sk-a")).status).toBe(200)
      expect((yield* post(sim.url, "/chat/completions", chatBody("x"), "sk-a")).status).toBe(200)
      expect((yield* post(sim.url, "/chat/completions", chatBody("x"), "sk-a")).status).toBe(429)
      expect((yield* post(sim.url, "/chat/completions", chatBody("x"), "sk-b")).status).toBe(200)
      yield* sim.reset
      expect((yield* post(sim.url, "/chat/completions", chatBody("x"), "sk-a")).status).toBe(200)
      yield* sim.update({ rpm: 600 })
      expect((yield* post(sim.url, "/chat/completions", chatBody("x"), "sk-a")).status).toBe(200)
    })
  )
})

describe("stats", () => {
  it.effect("counts requests, statuses, successes, duplicates, tokens and cost; reset zeroes them", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const a = yield* post(sim.url, "/chat/completions", chatBody("same"))
      yield* post(sim.url, "/chat/completions", chatBody("same"))
      yield* post(sim.url, "/chat/completions", chatBody("other"))
      yield* post(sim.url, "/chat/completions", { model: "gpt-4o-mini" })
      yield* get(sim.url, "/models")
      const stats = yield* sim.stats
      expect(stats.requests).toBe(5)
      expect(stats.byPath["POST /v1/chat/completions"]).toBe(4)
      expect(stats.byPath["GET /v1/models"]).toBe(1)
      expect(stats.byStatus).toEqual({ "200": 4, "400": 1 })
      expect(stats.successes).toBe(4)
      expect(stats.duplicateSuccesses).toBe(1)
      const usage = JSON.parse(a.text).usage
      expect(stats.promptTokens).toBeGreaterThanOrEqual(usage.prompt_tokens * 2)
      expect(stats.totalTokens).toBe(stats.promptTokens + stats.completionTokens)
      expect(stats.costUsd).toBeCloseTo((stats.promptTokens * 0.15 + stats.completionTokens * 0.6) / 1e6, 12)
      expect(stats.inFlight).toBe(0)
      expect(stats.maxConcurrent).toBeGreaterThanOrEqual(1)

      const over = yield* Effect.promise(() =>
        fetch(`${sim.url.replace(/\/v1$/, "")}/__sim/stats`).then((r) => r.json())
      )
      expect(over.requests).toBe(5)
      yield* Effect.promise(() => fetch(`${sim.url.replace(/\/v1$/, "")}/__sim/reset`, { method: "POST" }))
      const zero = yield* sim.stats
      expect(zero.requests).toBe(0)
      expect(zero.successes).toBe(0)
      yield* post(sim.url, "/chat/completions", chatBody("same"))
      expect((yield* sim.stats).duplicateSuccesses).toBe(0)
    })
  )

  it.effect("max concurrent requests seen", () =>
    Effect.gen(function* () {
      // Every request hangs until its client leaves, so the 8 overlap however the machine schedules them (with a
      // fixed latency, a stalled test process could let the first finish before the last one arrived).
      const sim = yield* Simulator.start({ faults: { rateHang: 1 } })
      const requests = yield* Effect.forkScoped(
        Effect.all(
          Array.from({ length: 8 }, (_, i) =>
            Effect.promise((signal) =>
              fetch(`${sim.url}/chat/completions`, {
                method: "POST",
                headers: jsonHeaders(),
                body: JSON.stringify(chatBody(`c${i}`)),
                signal
              })
            )
          ),
          { concurrency: "unbounded" }
        )
      )
      const during = yield* waitForStats(sim, (s) => s.inFlight === 8)
      expect(during.inFlight).toBe(8)
      expect(during.maxConcurrent).toBe(8)
      yield* Fiber.interrupt(requests) // aborts the 8 fetches
      const after = yield* waitForStats(sim, (s) => s.inFlight === 0)
      expect(after.inFlight).toBe(0)
      expect(after.maxConcurrent).toBe(8)
      expect(after.requests).toBe(8)
    })
  )

  it.effect("insufficient_quota after the configured spend", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ quotaUsd: 0.000001 })
      const body = chatBody("spend", { model: "gpt-4o" })
      let status = 200
      let n = 0
      while (status === 200 && n < 50) {
        const res = yield* post(sim.url, "/chat/completions", body)
        status = res.status
        n++
        if (status === 429) {
          expect(JSON.parse(res.text).error).toMatchObject({ code: "insufficient_quota", type: "insufficient_quota" })
          expect(res.headers.get("retry-after")).toBeNull()
        }
      }
      expect(status).toBe(429)
      const stats = yield* sim.stats
      expect(stats.costUsd).toBeGreaterThanOrEqual(0.000001)
      expect(stats.quotaExceeded).toBe(1)
      expect((yield* post(sim.url, "/chat/completions", body)).status).toBe(429)
    })
  )
})

describe("layer", () => {
  it.effect("provides the Simulator service and closes it with the scope", () =>
    Effect.gen(function* () {
      const url = yield* Effect.scoped(
        Effect.gen(function* () {
          const sim = yield* Simulator.Simulator
          expect((yield* get(sim.url, "/models", KEY)).status).toBe(200)
          return sim.url
        }).pipe(Effect.provide(Simulator.layer()))
      )
      const after = yield* Effect.promise(() =>
        fetch(`${url}/models`).then(
          () => "open",
          () => "closed"
        )
      )
      expect(after).toBe("closed")
    })
  )
})
