import { describe, expect, it } from "@effect/vitest"
import { Simulator } from "@sluice/simulator"
import { Effect } from "effect"
import { chatBody, jsonHeaders, post, raw, sseData, waitForStats } from "./helpers.js"

const streamBody = (content: string, extra: Record<string, unknown> = {}) =>
  chatBody(content, { stream: true, ...extra })

const contentOf = (events: ReadonlyArray<string>): string =>
  events
    .filter((e) => e !== "[DONE]")
    .map((e) => JSON.parse(e))
    .map((c) => c.choices[0]?.delta?.content ?? "")
    .join("")

describe("SSE streaming", () => {
  it.effect("frames chunks like the real API, with include_usage before [DONE]", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      const res = yield* post(
        sim.url,
        "/chat/completions",
        streamBody("stream me", { stream_options: { include_usage: true } })
      )
      expect(res.status).toBe(200)
      expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/)
      expect(res.headers.get("x-request-id")).toMatch(/^req_/)
      const events = sseData(res.text)
      expect(events.at(-1)).toBe("[DONE]")
      const chunks = events.slice(0, -1).map((e) => JSON.parse(e))
      const ids = new Set(chunks.map((c) => c.id))
      expect(ids.size).toBe(1)
      expect([...ids][0]).toMatch(/^chatcmpl-/)
      for (const c of chunks) expect(c.object).toBe("chat.completion.chunk")
      expect(chunks[0].choices[0].delta.role).toBe("assistant")
      const usageChunk = chunks.at(-1)
      expect(usageChunk.choices).toEqual([])
      expect(usageChunk.usage.total_tokens).toBe(usageChunk.usage.prompt_tokens + usageChunk.usage.completion_tokens)
      const finish = chunks.at(-2)
      expect(finish.choices[0].finish_reason).toBe("stop")
      for (const c of chunks.slice(0, -2)) {
        expect(c.choices[0].finish_reason).toBeNull()
        expect(c.usage).toBeNull()
      }
      // content arrives in several deltas
      expect(chunks.filter((c) => c.choices[0]?.delta?.content).length).toBeGreaterThan(2)

      const noUsage = sseData((yield* post(sim.url, "/chat/completions", streamBody("stream me"))).text)
      const last = JSON.parse(noUsage.at(-2)!)
      expect(last.choices[0].finish_reason).toBe("stop")
      expect(last.usage).toBeUndefined()
    })
  )

  it.effect("re-assembled streamed text equals the non-streamed answer; length and tool calls stream too", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start()
      for (const prompt of ["alpha", "béta", "ガンマ", "🚀 delta", "epsilon"]) {
        const json = JSON.parse((yield* post(sim.url, "/chat/completions", chatBody(prompt))).text)
        const streamed = contentOf(sseData((yield* post(sim.url, "/chat/completions", streamBody(prompt))).text))
        expect(streamed).toBe(json.choices[0].message.content)
      }
      const capped = sseData((yield* post(sim.url, "/chat/completions", streamBody("alpha", { max_tokens: 2 }))).text)
      expect(JSON.parse(capped.at(-2)!).choices[0].finish_reason).toBe("length")

      const tools = [
        { type: "function", function: { name: "lookup", parameters: { properties: { q: { type: "string" } } } } }
      ]
      const body = chatBody("find [[tool_call]]", { tools })
      const json = JSON.parse((yield* post(sim.url, "/chat/completions", body)).text)
      const events = sseData((yield* post(sim.url, "/chat/completions", { ...body, stream: true })).text)
      const chunks = events.slice(0, -1).map((e) => JSON.parse(e))
      const first = chunks[0].choices[0].delta.tool_calls[0]
      expect(first).toMatchObject({ index: 0, type: "function", function: { name: "lookup" } })
      const args = chunks.map((c) => c.choices[0].delta.tool_calls?.[0]?.function?.arguments ?? "").join("")
      expect(args).toBe(json.choices[0].message.tool_calls[0].function.arguments)
      expect(chunks.at(-1).choices[0].finish_reason).toBe("tool_calls")
    })
  )

  it.effect("writes bytes in slices that split UTF-8 characters and CRLF pairs", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ stream: { lineEnding: "crlf", minSliceBytes: 1, maxSliceBytes: 7 } })
      let splitUtf8 = 0
      let splitCrlf = 0
      let chunksSeen = 0
      for (const prompt of ["p1", "p2", "p3", "p4", "p5", "p6"]) {
        const result = yield* Effect.promise(() => raw(sim.port, "/chat/completions", streamBody(prompt)))
        expect(result.status).toBe(200)
        expect(result.complete).toBe(true)
        chunksSeen += result.chunks.length
        const decoder = new TextDecoder("utf-8", { fatal: true })
        for (let i = 0; i < result.chunks.length; i++) {
          const c = result.chunks[i]!
          try {
            decoder.decode(c)
          } catch {
            splitUtf8++
          }
          if (c.at(-1) === 0x0d && result.chunks[i + 1]?.[0] === 0x0a) splitCrlf++
        }
        const text = Buffer.concat(result.chunks).toString("utf8")
        expect(text.endsWith("data: [DONE]\r\n\r\n")).toBe(true)
        expect(text.includes("\n\n")).toBe(false)
      }
      expect(chunksSeen).toBeGreaterThan(100)
      expect(splitUtf8).toBeGreaterThan(0)
      expect(splitCrlf).toBeGreaterThan(0)
    })
  )

  it.effect("line endings: lf, and mixed picks both across streams (seeded)", () =>
    Effect.gen(function* () {
      const lf = yield* Simulator.start({ stream: { lineEnding: "lf" } })
      const text = (yield* post(lf.url, "/chat/completions", streamBody("x"))).text
      expect(text.includes("\r")).toBe(false)
      const mixed = yield* Simulator.start({ seed: 7 })
      const kinds = new Set<string>()
      for (let i = 0; i < 10; i++) {
        const t = (yield* post(mixed.url, "/chat/completions", streamBody(`m${i}`))).text
        kinds.add(t.includes("\r\n") ? "crlf" : "lf")
      }
      expect(kinds).toEqual(new Set(["crlf", "lf"]))
    })
  )

  it.effect("a stream the client abandons is counted as aborted", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ latency: { perChunkMs: 200 } })
      yield* Effect.promise(async () => {
        const controller = new AbortController()
        const res = await fetch(`${sim.url}/chat/completions`, {
          method: "POST",
          headers: jsonHeaders(),
          body: JSON.stringify(streamBody("long one")),
          signal: controller.signal
        })
        const reader = res.body!.getReader()
        await reader.read()
        controller.abort()
      })
      // Wait for the stream to end either way: aborted (right) or completed (the abort was not seen).
      const stats = yield* waitForStats(sim, (s) => s.streamsAborted + s.streamsCompleted > 0)
      expect(stats.streamsStarted).toBe(1)
      expect(stats.streamsAborted).toBe(1)
      expect(stats.streamsCompleted).toBe(0)
      expect(stats.successes).toBe(0)
      expect(stats.clientAborts).toBe(1)
    })
  )

  it.effect("latency: first token and per-chunk delays are applied", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ latency: { firstTokenMs: 120 } })
      const started = Date.now()
      yield* post(sim.url, "/chat/completions", streamBody("slow"))
      expect(Date.now() - started).toBeGreaterThanOrEqual(110)
    })
  )
})
