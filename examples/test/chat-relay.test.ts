/**
 * The chat relay end to end on 127.0.0.1: simulator ← Sluice client ← relay (SSE) ← a client. A complete
 * relayed stream, then the point of the example: when the client goes away (a fetch aborted, a browser tab
 * closed) the relay aborts the upstream request, which the simulator counts as a client-aborted stream.
 */
import { describe, expect, it } from "@effect/vitest"
import { Credentials, OpenAi, OpenAiConfig } from "@sluice/core"
import type { Config } from "@sluice/simulator"
import { Simulator, type Stats } from "@sluice/simulator"
import { ChatStream } from "@sluice/stream"
import * as Browser from "@sluice/test-support/Browser"
import { Clock, Effect, Layer, Stream } from "effect"
import * as Relay from "../chat-relay/Relay.js"

const setup = (latency: Config.Latency) =>
  Effect.gen(function* () {
    const sim = yield* Simulator.start({ latency })
    const client = OpenAi.layer.pipe(
      Layer.provide(OpenAiConfig.layer({ baseUrl: sim.url })),
      Layer.provide(Credentials.staticKey("sk-relay-test"))
    )
    const relay = yield* Relay.start({ stream: { retry: { maxAttempts: 1 } } }).pipe(
      Effect.provide(yield* Layer.build(client))
    )
    return { sim, relay }
  })

/**
 * Polls the simulator's stats (real time: it sees the socket close asynchronously). The deadline only turns a hang
 * into a failed assertion: it is far above what a loaded machine needs (Chromium closing a tab included).
 */
const waitForStats = (sim: Simulator.Running, ready: (stats: Stats.Stats) => boolean, withinMs = 15_000) =>
  Effect.gen(function* () {
    const start = yield* Clock.currentTimeMillis
    for (;;) {
      const stats = yield* sim.stats
      const now = yield* Clock.currentTimeMillis
      if (ready(stats) || now - start > withinMs) return { stats, afterMs: now - start }
      yield* Effect.sleep("5 millis")
    }
  })

const decoder = new TextDecoder()

describe("chat-relay", () => {
  it.scopedLive("serves the page and relays a whole chat stream as SSE that decodes back to the answer", () =>
    Effect.gen(function* () {
      const { sim, relay } = yield* setup({ perChunkMs: 1 })
      const html = yield* Effect.promise(() => fetch(`${relay.url}/`).then((r) => r.text()))
      expect(html).toContain("new EventSource")
      const response = yield* Effect.promise(() => fetch(`${relay.url}/chat?q=${encodeURIComponent("héllo 🎉")}`))
      expect(response.headers.get("content-type")).toContain("text/event-stream")
      const relayed = Stream.fromReadableStream({ evaluate: () => response.body!, onError: (e) => e })
      const completion = yield* ChatStream.accumulate(ChatStream.fromBytes(relayed))
      expect(completion.choices[0]!.finish_reason).toBe("stop")
      expect(completion.choices[0]!.message.content!.length).toBeGreaterThan(0)
      const stats = yield* sim.stats
      expect(stats).toMatchObject({ streamsStarted: 1, streamsCompleted: 1, streamsAborted: 0 })
    })
  )

  it.scopedLive("a client that aborts its request makes the relay abort the upstream stream (plain HTTP)", () =>
    Effect.gen(function* () {
      // Chunks 2 s apart: the stream cannot end by itself before the abort arrives, however slow the machine.
      const { sim, relay } = yield* setup({ perChunkMs: 2_000 })
      const controller = new AbortController()
      const firstBytes = yield* Effect.promise(async () => {
        const response = await fetch(`${relay.url}/chat?q=abort`, { signal: controller.signal })
        const reader = response.body!.getReader()
        let text = ""
        while (!text.includes('"content":"') || text.includes('"content":""}')) {
          const { value, done } = await reader.read()
          if (done) break
          text += decoder.decode(value)
          if (/"content":"[^"]/.test(text)) break
        }
        controller.abort()
        return text
      })
      expect(firstBytes).toContain("data: ")
      const { stats, afterMs } = yield* waitForStats(sim, (s) => s.streamsAborted + s.streamsCompleted >= 1)
      expect(stats).toMatchObject({ streamsStarted: 1, streamsCompleted: 0, streamsAborted: 1 })
      yield* Effect.logInfo(`upstream abort seen ${afterMs} ms after the client aborted`)
    })
  )

  // Chromium comes from npm (@sluice/test-support/Browser): where none can be had, this fails saying how to get one.
  describe("in a real browser (headless Chromium)", () => {
    it.scopedLive("the page shows the streamed text; closing the tab aborts the upstream stream", () =>
      Effect.gen(function* () {
        // Chunks 2 s apart (a ~30 s stream): it is still streaming when the page is checked and closed, and cannot
        // end by itself before the abort arrives, even with Chromium slowed down by a loaded machine.
        const { sim, relay } = yield* setup({ firstTokenMs: 100, perChunkMs: 2_000 })
        const browser = yield* Effect.acquireRelease(Effect.promise(Browser.launch), (browser) =>
          Effect.promise(() => browser.close())
        )
        const page = yield* Effect.promise(() => browser.newPage())
        yield* Effect.promise(() => page.goto(`${relay.url}/?q=${encodeURIComponent("Tell me a long story.")}`))
        yield* Effect.promise(() =>
          page.waitForFunction(() => (document.getElementById("out")?.textContent ?? "").length > 0, undefined, {
            timeout: 10_000
          })
        )
        const shown = yield* Effect.promise(() => page.textContent("#out"))
        expect(shown!.length).toBeGreaterThan(0)
        expect(yield* Effect.promise(() => page.textContent("#status"))).toBe("streaming")
        expect((yield* sim.stats).streamsStarted).toBe(1)

        yield* Effect.promise(() => page.close())
        const { stats, afterMs } = yield* waitForStats(sim, (s) => s.streamsAborted + s.streamsCompleted >= 1)
        expect(stats).toMatchObject({ streamsStarted: 1, streamsCompleted: 0, streamsAborted: 1 })
        yield* Effect.logInfo(`upstream abort seen ${afterMs} ms after the tab was closed`)
      })
    )
  })
})
