/**
 * Streaming fixtures: a captured-style chat completion SSE body (deterministic), the ways of cutting it into
 * network-sized reads, the four decoders compared, and a loopback server that streams an arbitrarily long
 * answer with real backpressure (the simulator's answers are at most a few sentences long).
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Faults } from "@sluice/simulator"
import * as ChatStream from "@sluice/stream/ChatStream"
import * as Sse from "@sluice/stream/Sse"
import { Effect, Stream } from "effect"
import { Stream as OpenAiStream, _iterSSEMessages } from "openai/core/streaming"
import type { Decoder } from "./common.js"

const words = [" the", " sluice", " gate", " opens", " slowly", ",", " and", " water", " finds", " its", " level", "."]
const multibyte = [" café", " déjà", " 水は", " 🚀", " Zürich", " 数据", " ✅"]

const header = `{"id":"chatcmpl-BenchAbCdEfGhIjKlMnOpQrStUv","object":"chat.completion.chunk","created":1764115200,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_560af6e559","choices":[`

/** One `data:` event carrying a content delta, in the shape OpenAI sends today. */
export const contentEvent = (token: string, index: number): string =>
  `data: ${header}{"index":0,"delta":{"content":${JSON.stringify(token)}},"logprobs":null,"finish_reason":null}],"obfuscation":"${(index % 997).toString(36)}"}\n\n`

export const roleEvent = `data: ${header}{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"obfuscation":"x"}\n\n`

export const tailEvents = (tokens: number): string =>
  `data: ${header}{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"obfuscation":"y"}\n\n` +
  `data: ${header.replace('"choices":[', '"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":')}${tokens},"total_tokens":${tokens + 12}}}\n\n` +
  "data: [DONE]\n\n"

/** The token at position `i` (mostly ASCII words, one in eight multi-byte). */
export const tokenAt = (i: number): string =>
  i % 8 === 7 ? multibyte[(i >>> 3) % multibyte.length]! : words[i % words.length]!

/** A whole stream of `events` content deltas, as bytes. */
export const corpus = (events: number): Uint8Array => {
  const parts: Array<string> = [roleEvent]
  for (let i = 0; i < events; i++) parts.push(contentEvent(tokenAt(i), i))
  parts.push(tailEvents(events))
  return new TextEncoder().encode(parts.join(""))
}

/**
 * Cuts the bytes the way reads arrive: `small` = seeded random 16–512 bytes (splits events, lines and UTF-8
 * characters), `large` = 64 KiB reads.
 */
export const cut = (bytes: Uint8Array, chunking: "small" | "large"): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  const random = Faults.mulberry32(42)
  for (let at = 0; at < bytes.length; ) {
    const size = chunking === "large" ? 65_536 : 16 + Math.floor(random() * 497)
    out.push(bytes.subarray(at, Math.min(bytes.length, at + size)))
    at += size
  }
  return out
}

/** A web `ReadableStream` that hands out one read per pull (as a socket does). */
const readable = (chunks: ReadonlyArray<Uint8Array>): ReadableStream<Uint8Array> => {
  let i = 0
  return new ReadableStream<Uint8Array>({
    pull: (controller) => {
      if (i < chunks.length) controller.enqueue(chunks[i++]!)
      else controller.close()
    }
  })
}

/** Effect's own adapter, the baseline "effect-read" (Sluice's decoders read with their public `fromReadableStream`). */
const effectBytes = (chunks: ReadonlyArray<Uint8Array>) =>
  Stream.fromReadableStream({ evaluate: () => readable(chunks), onError: (e) => e })

/** Decodes the chunks once; returns the number of items (events or chunks) seen. */
export const decodeOnce = async (decoder: Decoder, chunks: ReadonlyArray<Uint8Array>): Promise<number> => {
  switch (decoder) {
    case "web-read": {
      const reader = readable(chunks).getReader()
      let n = 0
      while (!(await reader.read()).done) n++
      return n
    }
    case "effect-read":
      return Effect.runPromise(Stream.runCount(effectBytes(chunks)))
    case "sluice-sse":
      return Effect.runPromise(Stream.runCount(Sse.fromReadableStream(readable(chunks))))
    case "sluice-chat":
      return Effect.runPromise(Stream.runCount(ChatStream.fromReadableStream(readable(chunks))))
    case "openai-sse": {
      let n = 0
      for await (const _ of _iterSSEMessages(new Response(readable(chunks)), new AbortController())) n++
      return n
    }
    case "openai-chat": {
      let n = 0
      const stream = OpenAiStream.fromSSEResponse<unknown>(new Response(readable(chunks)), new AbortController())
      for await (const _ of stream) n++
      return n
    }
  }
}

/**
 * A loopback server answering `POST …/chat/completions` with a stream of as many one-token chunks as the
 * prompt asks for (`tokens:<n>`), written in batches that wait for `drain`: a reader that stops reading stops
 * the writer, so client memory shows only what the client itself buffers.
 */
export const startLongStreamServer = async (): Promise<{ url: string; close: () => Promise<void> }> => {
  const server = http.createServer((req, res) => {
    const body: Array<Buffer> = []
    req.on("data", (b: Buffer) => body.push(b))
    req.on("end", async () => {
      const text = Buffer.concat(body).toString("utf8")
      const tokens = Number(/tokens:(\d+)/.exec(text)?.[1] ?? "100")
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
      const write = (s: string) =>
        res.write(s) ? Promise.resolve() : new Promise<void>((resolve) => res.once("drain", () => resolve()))
      await write(roleEvent)
      for (let i = 0; i < tokens && !res.destroyed; ) {
        let batch = ""
        for (let k = 0; k < 64 && i < tokens; k++, i++) batch += contentEvent(tokenAt(i), i)
        await write(batch)
      }
      if (!res.destroyed) res.end(tailEvents(tokens))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
