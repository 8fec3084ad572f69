/**
 * A circuit that opens for a while during a job is waited out (by a Schedule from its `closesAtMs`): the lines
 * refused meanwhile are sent once it closes, not counted as failures, and nothing is sent while it is open.
 */
import * as Path from "node:path"
import { expect } from "@effect/vitest"
import { live } from "./support/fileSystem.js"
import { Credentials, Gates, OpenAi, OpenAiConfig } from "@sluice/core"
import { Simulator } from "@sluice/simulator"
import { Effect, Layer, Stream } from "effect"
import { Batch } from "../src/index.js"
import { tempDir as scopedTempDir } from "./support/tempDir.js"

const tempDir = scopedTempDir("sluice-batch-circuit-")

const chatLine = (i: number) =>
  JSON.stringify({
    custom_id: `req-${i}`,
    method: "POST",
    url: "/v1/chat/completions",
    body: { model: "gpt-4o-mini", messages: [{ role: "user", content: `question ${i}` }], max_tokens: 8 }
  })

// No client retries: the 500 fails its line, and one failure in a window opens the breaker for 300 ms.
const client = (url: string) =>
  OpenAi.layer.pipe(
    Layer.provideMerge(Batch.layerMeter),
    Layer.provide(
      Gates.layerDefaults({
        modelLifecycle: false,
        circuitBreaker: { minimumCalls: 1, failureRate: 0, openMs: 300, tripOn: ["ServerError"] }
      })
    ),
    Layer.provide(OpenAiConfig.layer({ baseUrl: url, retry: { maxAttempts: 1 } })),
    Layer.provide(Credentials.static("sk-test"))
  )

live("a temporarily open circuit is waited out: later lines succeed, nothing is sent while it is open", () =>
  Effect.gen(function* () {
    const sim = yield* Simulator.start({ script: [{ request: 1, fault: "500" }] })
    const dir = yield* tempDir
    const summary = yield* Batch.run(Stream.fromIterable([1, 2, 3].map(chatLine)), {
      output: Path.join(dir, "out.jsonl"),
      concurrency: 1
    }).pipe(Effect.provide(client(sim.url)))
    expect(summary).toMatchObject({ succeeded: 2, failed: 1 })
    expect(summary.stopped).toBeNull()
    // the failed line's one request, then one per later line: a refusal by the open circuit sends nothing
    expect((yield* sim.stats).requests).toBe(3)
  })
)
