import { describe, expect, it } from "@effect/vitest"
import { Faults, Simulator } from "@sluice/simulator"
import { Effect } from "effect"
import { chatBody, jsonHeaders, post, raw, waitForStats } from "./helpers.js"

describe("Faults.choose (pure)", () => {
  it("is reproducible from the seed and follows the rates", () => {
    const run = (seed: number) => {
      const rng = Faults.mulberry32(seed)
      return Array.from({ length: 1000 }, (_, i) =>
        Faults.choose({
          rates: { rate500: 0.1, rate503: 0.1, rateStreamDrop: 0.1 },
          script: [],
          requestNumber: i + 1,
          path: "/v1/chat/completions",
          pathRequestNumber: i + 1,
          streaming: false,
          u: rng()
        })
      )
    }
    expect(run(42)).toEqual(run(42))
    expect(run(42)).not.toEqual(run(43))
    const faults = run(42)
    const count500 = faults.filter((f) => f === "500").length
    expect(count500).toBeGreaterThan(60)
    expect(count500).toBeLessThan(140)
    // stream drops do not apply to non-streaming requests
    expect(faults.includes("streamDrop")).toBe(false)
  })

  it("scripts win over rates, by request number overall or per path", () => {
    const base = { rates: { rate500: 1 }, streaming: false, u: 0.5 }
    const script = [
      { request: 3, fault: "503" as const },
      { request: 2, path: "/v1/embeddings", fault: "reset" as const }
    ]
    expect(
      Faults.choose({ ...base, script, requestNumber: 3, path: "/v1/chat/completions", pathRequestNumber: 1 })
    ).toBe("503")
    expect(Faults.choose({ ...base, script, requestNumber: 5, path: "/v1/embeddings", pathRequestNumber: 2 })).toBe(
      "reset"
    )
    expect(
      Faults.choose({ ...base, script, requestNumber: 4, path: "/v1/chat/completions", pathRequestNumber: 2 })
    ).toBe("500")
  })
})

describe("faults over HTTP", () => {
  it.effect("500, 503, 502 HTML and 429 with x-should-retry", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({
        faults: { shouldRetryHeader: true },
        script: [
          { request: 1, fault: "500" },
          { request: 2, fault: "503" },
          { request: 3, fault: "502Html" },
          { request: 4, fault: "429" }
        ]
      })
      const r500 = yield* post(sim.url, "/chat/completions", chatBody("x"))
      expect(r500.status).toBe(500)
      expect(JSON.parse(r500.text).error.type).toBe("server_error")
      expect(r500.headers.get("x-should-retry")).toBe("true")
      const r503 = yield* post(sim.url, "/chat/completions", chatBody("x"))
      expect(r503.status).toBe(503)
      expect(JSON.parse(r503.text).error.message).toMatch(/overloaded/)
      const r502 = yield* post(sim.url, "/chat/completions", chatBody("x"))
      expect(r502.status).toBe(502)
      expect(r502.headers.get("content-type")).toBe("text/html")
      expect(r502.text).toMatch(/^<html>/)
      expect(() => JSON.parse(r502.text)).toThrow()
      const r429 = yield* post(sim.url, "/chat/completions", chatBody("x"))
      expect(r429.status).toBe(429)
      expect(JSON.parse(r429.text).error.code).toBe("rate_limit_exceeded")
      expect(r429.headers.get("retry-after")).toBe("1")
      const ok = yield* post(sim.url, "/chat/completions", chatBody("x"))
      expect(ok.status).toBe(200)
      const stats = yield* sim.stats
      expect(stats.faults).toEqual({ "500": 1, "503": 1, "502Html": 1, "429": 1 })
      expect(stats.byStatus).toEqual({ "200": 1, "429": 1, "500": 1, "502": 1, "503": 1 })
      expect(stats.successes).toBe(1)
    })
  )

  it.effect("connection reset", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ script: [{ request: 1, fault: "reset" }] })
      const result = yield* Effect.promise(() => raw(sim.port, "/chat/completions", chatBody("x")))
      expect(result.status).toBeUndefined()
      expect(result.error).toBe("ECONNRESET")
      const stats = yield* sim.stats
      expect(stats.faults["reset"]).toBe(1)
      expect(stats.clientAborts).toBe(0)
    })
  )

  it.effect("truncated JSON body", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ script: [{ request: 1, fault: "truncatedJson" }] })
      const result = yield* Effect.promise(() => raw(sim.port, "/chat/completions", chatBody("x")))
      expect(result.status).toBe(200)
      expect(result.complete).toBe(false)
      const body = Buffer.concat(result.chunks)
      expect(body.length).toBeGreaterThan(0)
      expect(body.length).toBeLessThan(Number(result.headers!["content-length"]))
      expect(() => JSON.parse(body.toString("utf8"))).toThrow()
      expect((yield* sim.stats).successes).toBe(0)
    })
  )

  it.effect("stream drop: the stream ends without [DONE]", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ script: [{ request: 1, fault: "streamDrop" }] })
      const result = yield* Effect.promise(() => raw(sim.port, "/chat/completions", chatBody("x", { stream: true })))
      expect(result.status).toBe(200)
      expect(result.complete).toBe(false)
      const text = Buffer.concat(result.chunks).toString("utf8")
      expect(text.startsWith("data: {")).toBe(true)
      expect(/data: \[DONE\]/.test(text)).toBe(false)
      const stats = yield* sim.stats
      expect(stats.faults["streamDrop"]).toBe(1)
      expect(stats.streamsCompleted).toBe(0)
      expect(stats.streamsAborted).toBe(0)
    })
  )

  it.effect("stream error: an event: error frame, then a clean end without [DONE]", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({
        stream: { lineEnding: "lf" },
        script: [{ request: 1, fault: "streamError" }]
      })
      const result = yield* Effect.promise(() => raw(sim.port, "/chat/completions", chatBody("x", { stream: true })))
      expect(result.status).toBe(200)
      expect(result.complete).toBe(true)
      const text = Buffer.concat(result.chunks).toString("utf8")
      const events = text.split("\n\n").filter((e) => e !== "")
      const last = events.at(-1)!
      expect(last.startsWith("event: error\ndata: ")).toBe(true)
      expect(JSON.parse(last.split("\ndata: ")[1]!).error.type).toBe("server_error")
      expect(events.slice(0, -1).every((e) => e.startsWith("data: {"))).toBe(true)
      expect(/data: \[DONE\]/.test(text)).toBe(false)
      const stats = yield* sim.stats
      expect(stats.faults["streamError"]).toBe(1)
      expect(stats.streamsCompleted).toBe(0)
      expect(stats.clientAborts).toBe(0)
    })
  )

  it.effect("hang: no answer until the client aborts, and the abort is counted", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ script: [{ request: 1, fault: "hang" }] })
      // The client gives up once the server holds the request (not after a fixed time, which on a loaded machine
      // could pass before the request even arrived).
      const controller = new AbortController()
      let outcome = "pending"
      const settled = fetch(`${sim.url}/chat/completions`, {
        method: "POST",
        headers: jsonHeaders(),
        body: JSON.stringify(chatBody("x")),
        signal: controller.signal
      }).then(
        () => {
          outcome = "answered"
        },
        (e: Error) => {
          outcome = e.name
        }
      )
      const held = yield* waitForStats(sim, (s) => s.faults["hang"] === 1)
      expect(held.faults["hang"]).toBe(1)
      expect(held.inFlight).toBe(1)
      // A hung request never answers; give a wrong answer time to show.
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 100)))
      expect(outcome).toBe("pending")
      controller.abort()
      yield* Effect.promise(() => settled)
      expect(outcome).toBe("AbortError")
      const stats = yield* waitForStats(sim, (s) => s.clientAborts > 0 && s.inFlight === 0)
      expect(stats.faults["hang"]).toBe(1)
      expect(stats.clientAborts).toBe(1)
      expect(stats.inFlight).toBe(0)
    })
  )

  it.effect("slow first token delays only the first content chunk", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({
        faults: { slowFirstTokenMs: 150 },
        script: [{ request: 1, fault: "slowFirstToken" }]
      })
      const started = Date.now()
      const first = yield* post(sim.url, "/chat/completions", chatBody("x", { stream: true }))
      expect(first.status).toBe(200)
      expect(Date.now() - started).toBeGreaterThanOrEqual(140)
      expect((yield* sim.stats).faults["slowFirstToken"]).toBe(1)
    })
  )

  it.effect("probabilistic faults are reproducible for a seed", () =>
    Effect.gen(function* () {
      const statuses = (seed: number) =>
        Effect.gen(function* () {
          const sim = yield* Simulator.start({ seed, faults: { rate500: 0.2, rate503: 0.2 } })
          const out: Array<number> = []
          for (let i = 0; i < 30; i++) out.push((yield* post(sim.url, "/chat/completions", chatBody(`r${i}`))).status)
          const stats = yield* sim.stats
          expect(stats.faults["500"] ?? 0).toBe(out.filter((s) => s === 500).length)
          expect(stats.faults["503"] ?? 0).toBe(out.filter((s) => s === 503).length)
          return out
        })
      const a = yield* statuses(11)
      const b = yield* statuses(11)
      expect(a).toEqual(b)
      expect(a.filter((s) => s !== 200).length).toBeGreaterThan(3)
      expect(a.filter((s) => s === 200).length).toBeGreaterThan(5)
    })
  )

  it.effect("faults can be switched on at run time with update", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      expect((yield* post(sim.url, "/chat/completions", chatBody("x"))).status).toBe(200)
      yield* sim.update({ faults: { rate503: 1 } })
      expect((yield* post(sim.url, "/chat/completions", chatBody("x"))).status).toBe(503)
      yield* sim.update({ faults: { rate503: 0 } })
      expect((yield* post(sim.url, "/chat/completions", chatBody("x"))).status).toBe(200)
    })
  )
})
