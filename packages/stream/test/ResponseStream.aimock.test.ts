/**
 * ResponseStream against aimock's `/v1/responses` (an OpenAI mock nobody here wrote): its SSE stream decodes into
 * the semantic events, text and tool calls, through the client's gated streaming call.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { expect, it } from "@effect/vitest"
import { Credentials, OpenAi, OpenAiConfig, Responses } from "@sluice/core"
import { Effect, Layer, Stream } from "effect"
import { ResponseStream } from "../src/index.js"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const fixtures = fileURLToPath(new URL("../../core/test/fixtures/", import.meta.url))

/** aimock on a port it picks itself, killed with the scope. */
const aimock = Effect.acquireRelease(
  Effect.callback<{ readonly url: string; readonly child: ChildProcess }, Error>((resume) => {
    const child = spawn(
      `${root}node_modules/.bin/aimock`,
      ["--config", `${fixtures}aimock-tools.json`, "--port", "0"],
      {
        cwd: fixtures,
        stdio: ["ignore", "pipe", "pipe"]
      }
    )
    let log = ""
    const onData = (data: Buffer) => {
      log += data.toString()
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)\s/.exec(log)
      if (match !== null) resume(Effect.succeed({ url: `http://127.0.0.1:${match[1]}/v1`, child }))
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    child.once("exit", (code) => resume(Effect.fail(new Error(`aimock exited with ${code}: ${log}`))))
  }),
  ({ child }) => Effect.sync(() => child.kill("SIGTERM"))
)

const client = (baseUrl: string) =>
  OpenAi.layer.pipe(
    Layer.provide(OpenAiConfig.layer({ baseUrl, retry: { maxAttempts: 1 }, maxTokensPolicy: "off" })),
    Layer.provide(Credentials.staticKey("sk-test"))
  )

it.live("aimock's streamed text and function call decode; the final Response equals what the deltas said", () =>
  Effect.gen(function* () {
    const { url } = yield* aimock
    yield* Effect.gen(function* () {
      const events = yield* Stream.runCollect(ResponseStream.stream({ model: "gpt-4o", input: "hello" }))
      expect(events.at(-1)?.type).toBe("response.completed")
      expect(events.some((event) => event.type === "unknown")).toBe(false)
      const text = yield* Stream.mkString(ResponseStream.textDeltas(Stream.fromIterable(events)))
      expect(text).toBe("Hello from aimock")
      const final = yield* ResponseStream.finalResponse(Stream.fromIterable(events))
      expect(Responses.outputText(final)).toBe("Hello from aimock")

      const call = yield* ResponseStream.finalResponse(
        ResponseStream.stream({
          model: "gpt-4o",
          input: "weather in paris",
          tools: [{ type: "function", name: "get_weather", parameters: { type: "object" } }]
        })
      )
      const [fc] = Responses.functionCalls(call)
      expect(fc?.name).toBe("get_weather")
      expect(JSON.parse(fc?.arguments ?? "")).toEqual({ city: "Paris" })
    }).pipe(Effect.provide(client(url)))
  }).pipe(Effect.scoped)
)
