import { describe, expect, it } from "@effect/vitest"
import { Simulator } from "@sluice/simulator"
import { Effect, Stream } from "effect"
import { ChatStream } from "../src/index.js"

class BodyFailed {
  readonly _tag = "BodyFailed"
  constructor(readonly cause: unknown) {}
}

/** A streaming chat request with fetch; the body as a Stream of bytes (the shape core's transport will hand over). */
const streamChat = (url: string, content: string) =>
  Effect.promise(() =>
    fetch(`${url}/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer sk-test", "content-type": "application/json" },
      body: JSON.stringify({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content }],
        stream: true,
        stream_options: { include_usage: true }
      })
    })
  ).pipe(
    Effect.map((response) =>
      Stream.fromReadableStream({ evaluate: () => response.body!, onError: (cause) => new BodyFailed(cause) })
    )
  )

describe("ChatStream against the simulator", () => {
  it.scoped("decodes randomly sliced, mixed line-ending SSE into a full completion with usage", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ stream: { lineEnding: "mixed", minSliceBytes: 1, maxSliceBytes: 7 } })
      for (const prompt of ["héllo wörld", "tell me a story 🎉", "third"]) {
        const body = yield* streamChat(sim.url, prompt)
        const completion = yield* ChatStream.accumulate(ChatStream.fromBytes(body))
        expect(completion.id).toMatch(/^chatcmpl-/)
        expect(completion.choices[0]!.finish_reason).toBe("stop")
        expect(completion.choices[0]!.message.content!.length).toBeGreaterThan(0)
        expect(completion.usage?.total_tokens).toBeGreaterThan(0)
      }
    })
  )

  it.scoped("a mid-stream drop is a typed failure, never a silent half answer", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.start({ script: [{ request: 1, fault: "streamDrop" }] })
      const body = yield* streamChat(sim.url, "drop me")
      const error = yield* Effect.flip(Stream.runDrain(ChatStream.fromBytes(body)))
      // The simulator resets the socket: the body's own error passes through unchanged (core maps it to
      // ConnectionFailed). A connection closed cleanly before [DONE] is StreamTruncated (see ChatStream.test.ts).
      expect(error._tag).toBe("BodyFailed")
    })
  )
})
