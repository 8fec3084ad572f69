/**
 * The Responses API with every gate of Chat Completions: a budget, the limiter and the breaker, telemetry. One
 * answer created, one streamed (text deltas as they come, then the final Response with its usage), and a
 * background response whose dropped stream is resumed after its last sequence number.
 *
 *   npx tsx --conditions=@sluice/source examples/responses.ts
 */
import { pathToFileURL } from "node:url"
import { Credentials, Gates, OpenAi, OpenAiConfig, Responses } from "@sluice/core"
import { Simulator } from "@sluice/simulator"
import { ResponseStream } from "@sluice/stream"
import { Effect, Layer, Stream } from "effect"

export const clientLayer = (baseUrl: string) =>
  OpenAi.layer.pipe(
    Layer.provide(OpenAiConfig.layer({ baseUrl })),
    Layer.provide(Credentials.static("sk-responses-example-0123456789")),
    Layer.provideMerge(Gates.layerDefaults({ budget: { ceilingUsd: 0.05 } }))
  )

export const program = Effect.gen(function* () {
  const openai = yield* OpenAi.OpenAi

  // 1. create: instructions + input instead of a messages array; max_output_tokens instead of max_completion_tokens
  const created = yield* openai.responses.create({
    model: "gpt-4.1-mini",
    instructions: "Answer in one sentence.",
    input: "What does a sluice gate do?",
    max_output_tokens: 200
  })
  const text = Responses.outputText(created.body)

  // 2. stream: the same gates, retried only before the first token, typed errors, StreamTruncated on a cut
  const deltas: Array<string> = []
  const streamed = yield* ResponseStream.finalResponse(
    ResponseStream.stream({ model: "gpt-4.1-mini", input: "And a sluice library?", max_output_tokens: 200 }).pipe(
      Stream.tap((event) =>
        Effect.sync(() => {
          if (event.type === "response.output_text.delta") deltas.push(event.delta)
        })
      )
    )
  )

  // 3. background: the stream may drop (the simulator cuts it here); the response runs on, and is resumed
  const seen: Array<ResponseStream.Event> = []
  const dropped = yield* ResponseStream.stream({
    model: "gpt-4.1-mini",
    input: "A long answer, please.",
    max_output_tokens: 400,
    background: true
  }).pipe(
    Stream.runForEach((event) => Effect.sync(() => seen.push(event))),
    Effect.as("completed"),
    Effect.catchTag("StreamTruncated", () => Effect.succeed("truncated"))
  )
  const first = seen[0]
  const id = first?.type === "response.created" ? first.response.id : ""
  const rest = yield* Stream.runCollect(ResponseStream.resume(id, { startingAfter: seen.at(-1)?.sequence_number }))
  const resumed = yield* ResponseStream.finalResponse(Stream.fromIterable([...seen, ...rest]))

  return { text, deltas, streamed, dropped, resumed }
})

export const main = Effect.gen(function* () {
  // The simulator drops the third request's stream mid-way (the background one).
  const sim = yield* Simulator.start({ script: [{ request: 3, fault: "streamDrop" }] })
  const result = yield* Effect.provide(program, clientLayer(sim.url))
  yield* Effect.log(
    `create: ${result.text}`,
    `stream: ${result.deltas.length} deltas, ${result.streamed.usage?.output_tokens} output tokens`,
    `background: ${result.dropped}, resumed to ${result.resumed.status}`
  )
  return { ...result, billedUsd: (yield* sim.stats).costUsd }
}).pipe(Effect.scoped)

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) Effect.runPromise(main)
