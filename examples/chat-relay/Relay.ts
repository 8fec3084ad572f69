/**
 * A chat relay: an `effect/http` server (Node's `http` via `@effect/platform-node`) that serves a page and relays
 * a Sluice chat stream to it as SSE. The upstream `ChatStream` runs inside the response stream, so when the browser
 * goes away (tab closed, `EventSource.close()`, a fetch aborted) the server interrupts the response and with it the
 * upstream call: its HTTP request is aborted and its gates are settled.
 */
import * as Http from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { OpenAi } from "@sluice/core"
import { ChatStream, Interop, Sse } from "@sluice/stream"
import { Context, Effect, Layer, type Scope, Stream } from "effect"
import { HttpRouter, HttpServer, type HttpServerError, type HttpServerRequest, HttpServerResponse } from "effect/http"
import { page } from "./page.js"

export interface Options {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  readonly port?: number | undefined
  readonly model?: string | undefined
  readonly maxCompletionTokens?: number | undefined
  /** Timeouts, buffer, retry of the upstream stream. */
  readonly stream?: ChatStream.StreamOptions | undefined
}

const MAX_PROMPT = 2000

/** `GET /chat?q=…`: the upstream chat stream as SSE, ending with `data: [DONE]` or an `event: error`. */
const chat = (options: Options) => (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function* () {
    const q = new URL(request.url, "http://relay").searchParams.get("q")?.slice(0, MAX_PROMPT).trim()
    const openai = yield* OpenAi.OpenAi
    const body = ChatStream.stream(
      {
        model: options.model ?? "gpt-4o-mini",
        messages: [{ role: "user", content: q || "Tell me a long story." }],
        max_completion_tokens: options.maxCompletionTokens ?? 400
      },
      options.stream
    ).pipe(
      Interop.toSse(),
      // Tell the browser what went wrong instead of cutting the connection (no [DONE] follows, as with OpenAI).
      Stream.catch((error) => Stream.make(Sse.encodeBytes(Interop.errorEvent(error)))),
      Stream.provideService(OpenAi.OpenAi, openai)
    )
    return HttpServerResponse.stream(body, {
      contentType: "text/event-stream",
      headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
    })
  })

/** The routes: `/` (the page) and `/chat` (the SSE relay). */
export const app = (options: Options = {}) =>
  HttpRouter.addAll([
    HttpRouter.route("GET", "/", HttpServerResponse.text(page, { contentType: "text/html; charset=utf-8" })),
    HttpRouter.route("GET", "/chat", chat(options))
  ])

/** The relay as a layer: serves until the layer is released. Needs the Sluice client (`OpenAi`). */
export const layer = (options: Options = {}) =>
  // No request log and no "listening on" line: the relay is quiet, like the rest of the example.
  HttpRouter.serve(app(options), { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(() => Http.createServer(), { port: options.port ?? 0, host: "127.0.0.1" }))
  )

/**
 * Starts the relay in the current scope and returns its URL (`http://127.0.0.1:PORT`). The `OpenAi` client must
 * outlive the relay: build its layer in the same scope (`Layer.build`), not with `Effect.provide` around `start`.
 */
export const start = (
  options: Options = {}
): Effect.Effect<{ readonly url: string }, HttpServerError.ServeError, OpenAi.OpenAi | Scope.Scope> =>
  Effect.gen(function* () {
    const context = yield* Layer.build(layer(options))
    const address = Context.get(context, HttpServer.HttpServer).address
    if (address._tag === "UnixPathAddress") return yield* Effect.die(new Error("the relay listens on TCP"))
    return { url: `http://127.0.0.1:${address.port}` }
  })
