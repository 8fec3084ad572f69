/**
 * Runs the chat relay against the embedded simulator (slow enough per chunk to watch the stream, and to close
 * the tab half-way):
 *
 *   npx tsx --conditions=@sluice/source examples/chat-relay/main.ts
 *
 * Open the printed URL, send a prompt, close the tab while it streams: the log shows the simulator counting
 * the aborted upstream stream.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Credentials, OpenAi, OpenAiConfig } from "@sluice/core"
import { Simulator } from "@sluice/simulator"
import { Effect, Layer, Schedule } from "effect"
import * as Relay from "./Relay.js"

const program = Effect.gen(function* () {
  const sim = yield* Simulator.start({ latency: { firstTokenMs: 300, perChunkMs: 150 } })
  const client = OpenAi.layer.pipe(
    Layer.provide(OpenAiConfig.layer({ baseUrl: sim.url })),
    Layer.provide(Credentials.staticKey("sk-relay-demo"))
  )
  // Built in the program's scope: the client (and its connection pool) lives as long as the relay.
  const clientContext = yield* Layer.build(client)
  const relay = yield* Relay.start({ port: Number(process.env.PORT ?? 8787) }).pipe(Effect.provide(clientContext))
  yield* Effect.logInfo(`chat relay on ${relay.url}/?q=Tell%20me%20a%20long%20story (simulator at ${sim.url})`)
  let last = ""
  yield* Effect.repeat(
    Effect.flatMap(sim.stats, (stats) => {
      const line = `upstream streams: ${stats.streamsStarted} started, ${stats.streamsCompleted} completed, ${stats.streamsAborted} aborted`
      if (line === last) return Effect.void
      last = line
      return Effect.logInfo(line)
    }),
    Schedule.spaced("500 millis")
  )
})

NodeRuntime.runMain(Effect.scoped(program))
