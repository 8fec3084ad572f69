/**
 * `sluice chat --api responses`, run as a user runs it, against the simulator on loopback: the answer streamed from
 * the Responses API (the same text the simulator gives Chat Completions for the same question).
 */
import { describe, expect, it } from "@effect/vitest"
import { simulator, sluice } from "./support.js"

const key = "sk-responses-0123456789abcdef"

describe("sluice chat --api responses", () => {
  it("streams the Responses answer to stdout; --no-stream sends one plain request; both equal the chat answer", async () => {
    const sim = await simulator({ keys: [key] })
    const env = { OPENAI_API_KEY: key, OPENAI_BASE_URL: sim.url }
    const streamed = await sluice(["chat", "hello there", "--max-tokens", "40", "--api", "responses"], env)
    expect(streamed.stderr).toBe("")
    expect(streamed.code).toBe(0)
    expect(sim.stats().byPath["POST /v1/responses"]).toBe(1)
    expect([sim.stats().streamsStarted, sim.stats().streamsCompleted]).toEqual([1, 1])
    const whole = await sluice(["chat", "hello there", "--max-tokens", "40", "--api", "responses", "--no-stream"], env)
    expect(whole.code).toBe(0)
    expect(sim.stats().byPath["POST /v1/responses"]).toBe(2)
    const chat = await sluice(["chat", "hello there", "--max-tokens", "40", "--no-stream"], env)
    expect(streamed.stdout.trim().length).toBeGreaterThan(0)
    expect(streamed.stdout).toBe(whole.stdout)
    expect(whole.stdout).toBe(chat.stdout)
    expect(streamed.stdout).not.toContain(key)
  }, 90_000)
})
