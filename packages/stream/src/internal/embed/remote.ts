/**
 * `runFile` with `remote`: the texts missing from the store go to the Batch API (`Batch.remote`, 50 % cheaper)
 * as packs in `/v1/embeddings` lines; the vectors of its output fill the store; then the ordinary pass writes the
 * output from the store (it sends only what the batch did not answer).
 *
 * @internal
 */
import * as Path from "node:path"
import { Tokens } from "@sluice/core"
import * as Embeddings from "@sluice/core/Embeddings"
import * as Usage from "@sluice/core/Usage"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Scope from "effect/Scope"
import * as Batch from "../../Batch.js"
import * as Api from "../../Embed.js"
import { ioReason } from "../batch/ioReason.js"
import * as Cache from "./cache.js"
import * as Input from "./input.js"

/** @internal */
export interface Prefilled {
  readonly packs: number
  readonly inputs: number
  readonly tokens: number
  readonly stopped: Batch.Summary["stopped"]
}

const io = (path: string) => (error: unknown) => new Batch.BatchIoError({ path, reason: ioReason(error) })

const encoder = new TextEncoder()

/** Writes the Batch API input: one line per pack of missing texts; returns the packs' keys. */
const writeRequests = (
  path: string,
  documents: AsyncIterable<{ id: string; text: string }>,
  store: Cache.Store,
  options: Api.FileOptions,
  count: (text: string) => Effect.Effect<number>
) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const file = yield* Effect.mapError(fs.open(path, { flag: "w" }), io(path))
    const packs: Array<ReadonlyArray<Cache.Key>> = []
    const seen = new Set<string>()
    let texts: Array<string> = []
    let keys: Array<Cache.Key> = []
    let tokens = 0
    const maxInputs = options.maxInputsPerRequest ?? Api.limits.inputsPerRequest
    const maxTokens = options.maxTokensPerRequest ?? Api.limits.tokensPerRequest
    const flush = Effect.suspend(() => {
      if (texts.length === 0) return Effect.void
      const body = {
        model: options.model,
        input: texts,
        encoding_format: "base64",
        ...(options.dimensions === undefined ? {} : { dimensions: options.dimensions })
      }
      const line = { custom_id: `pack-${packs.length}`, method: "POST", url: "/v1/embeddings", body }
      packs.push(keys)
      texts = []
      keys = []
      tokens = 0
      return Effect.mapError(file.writeAll(encoder.encode(`${JSON.stringify(line)}\n`)), io(path))
    })
    const iterator = documents[Symbol.asyncIterator]()
    while (true) {
      const next = yield* Effect.tryPromise({ try: () => iterator.next(), catch: io(options.input) })
      if (next.done === true) break
      const { text } = next.value
      const key = Cache.keyOf(options.model, options.dimensions, text)
      if (seen.has(Cache.idOf(key)) || store.has(key)) continue
      const n = yield* count(text)
      if (n > (options.maxTokensPerInput ?? Api.limits.tokensPerInput)) continue // the live pass applies the policy
      if (texts.length >= maxInputs || tokens + n > maxTokens) yield* flush
      seen.add(Cache.idOf(key))
      texts.push(text)
      keys.push(key)
      tokens += n
    }
    yield* flush
    return packs
  })

/** Reads the Batch output: every 2xx pack's vectors go into the store. */
const readResults = (path: string, packs: ReadonlyArray<ReadonlyArray<Cache.Key>>, store: Cache.Store) =>
  Effect.flatMap(Stream.toAsyncIterableEffect(Input.lines(path)), (lines) =>
    Effect.tryPromise({
      try: async () => {
        let tokens = 0
        const writes: Array<Promise<unknown>> = []
        for await (const { text } of lines) {
          if (text.trim() === "") continue
          const line = JSON.parse(text) as Batch.OutputLine
          const keys = packs[Number(line.custom_id.slice("pack-".length))]
          const status = line.response?.status_code ?? 0
          if (keys === undefined || status < 200 || status >= 300) continue
          const body = line.response!.body as Embeddings.EmbeddingList
          tokens += Usage.fromBody(body)?.promptTokens ?? 0
          for (const item of body.data) {
            const vector = Embeddings.toFloat32(item.embedding)
            const key = keys[item.index]
            if (vector !== undefined && key !== undefined) writes.push(store.put(key, vector))
          }
        }
        await Promise.all(writes)
        return tokens
      },
      catch: (error) => (error instanceof Batch.BatchIoError ? error : io(path)(error))
    })
  )

/** @internal */
export const prefill = (
  options: Api.FileOptions,
  format: Input.Format,
  skipped: number,
  store: Cache.Store
): Effect.Effect<
  Prefilled,
  Batch.RunError | Batch.RemoteBatchFailed | import("@sluice/core").Errors.OpenAiError,
  import("@sluice/core").OpenAi.OpenAi | FileSystem.FileSystem | Scope.Scope
> =>
  Effect.gen(function* () {
    const tokenizer = Option.getOrUndefined(yield* Effect.serviceOption(Tokens.Tokens)) ?? (yield* Tokens.make())
    const encoding = Tokens.encodingFor(options.model)
    const fs = yield* FileSystem.FileSystem
    const dir = yield* Effect.mapError(
      fs.makeTempDirectoryScoped({ prefix: "sluice-embed-remote-" }),
      io("(temporary directory)")
    )
    const requests = Path.join(dir, "requests.jsonl")
    const results = Path.join(dir, "results.jsonl")
    const documents = yield* Stream.toAsyncIterableEffect(Stream.drop(Input.documents(options.input, format), skipped))
    const packs = yield* Effect.scoped(
      writeRequests(requests, documents, store, options, (text) => tokenizer.count(text, encoding))
    )
    if (packs.length === 0) return { packs: 0, inputs: 0, tokens: 0, stopped: null }
    const summary = yield* Batch.remote(Batch.linesFromFile(requests), {
      output: results,
      ...(options.shutdown === undefined ? {} : { shutdown: options.shutdown }),
      ...(options.pollInterval === undefined ? {} : { pollInterval: options.pollInterval })
    })
    const tokens = yield* readResults(results, packs, store)
    return {
      packs: summary.requests_sent,
      inputs: packs.reduce((n, keys) => n + keys.length, 0),
      tokens,
      stopped: summary.stopped
    }
  })
