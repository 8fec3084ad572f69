/**
 * Many requests from one program: a `Stream` with bounded concurrency, every gate on, results folded as they
 * arrive — memory stays flat however many requests there are.
 *
 *   npx tsx examples/many-requests.ts            # 5,000 requests against an in-process simulator
 *
 * Why not `Effect.forEach(items, call, { concurrency: 32 })`? It returns every response at the end, so it holds
 * them all (a million requests would hold gigabytes); on Effect 3.22 even `discard: true` kept every element's
 * exit until the last one finished (~1.3 KB per request; Effect 4.1's `discard: true` no longer does). The
 * `Stream` folds each result as it arrives: `Stream.mapEffect` keeps only what is in flight.
 */
import { pathToFileURL } from "node:url"
import { Credentials, type Errors, Gates, OpenAi, OpenAiConfig } from "@sluice/core"
import { Simulator } from "@sluice/simulator"
import { Effect, Layer, Stream } from "effect"

export interface Tally {
  readonly succeeded: number
  readonly failed: Readonly<Record<string, number>>
  readonly completionTokens: number
}

/** Asks `questions` questions, `concurrency` at a time, and tallies the outcomes by error tag. */
export const ask = (questions: number, concurrency: number): Effect.Effect<Tally, never, OpenAi.OpenAi> =>
  Effect.flatMap(OpenAi.OpenAi, (openai) =>
    Stream.range(1, questions).pipe(
      Stream.mapEffect(
        (i) =>
          Effect.result(
            openai.chat.completions.create({
              model: "gpt-4o-mini",
              messages: [{ role: "user", content: `Give me fact number ${i} about rivers.` }],
              max_completion_tokens: 32
            })
          ),
        { concurrency }
      ),
      Stream.runFold(
        (): Tally => ({ succeeded: 0, failed: {}, completionTokens: 0 }),
        (tally, result): Tally =>
          result._tag === "Success"
            ? {
                ...tally,
                succeeded: tally.succeeded + 1,
                completionTokens: tally.completionTokens + (result.success.body.usage?.completion_tokens ?? 0)
              }
            : { ...tally, failed: increment(tally.failed, (result.failure as Errors.OpenAiError)._tag) }
      )
    )
  )

const increment = (counts: Readonly<Record<string, number>>, tag: string) => ({
  ...counts,
  [tag]: (counts[tag] ?? 0) + 1
})

/** The client with every gate on (limits learnt from the headers, breaker, lifecycle, prices). */
export const clientLayer = (baseUrl: string, key: string): Layer.Layer<OpenAi.OpenAi> =>
  OpenAi.layer.pipe(
    Layer.provide(OpenAiConfig.layer({ baseUrl })),
    Layer.provide(Credentials.static(key)),
    Layer.provide(Gates.defaults)
  )

const main = Effect.gen(function* () {
  // Realistic limits and 2 % faults: the gates pace the run, retries absorb the faults.
  const sim = yield* Simulator.start({ rpm: 30_000, tpm: 3_000_000, faults: { rate500: 0.01, rate503: 0.01 } })
  const started = Date.now()
  const tally = yield* ask(5_000, 32).pipe(Effect.provide(clientLayer(sim.url, "sk-local-demo")))
  const stats = yield* sim.stats
  yield* Effect.log(
    `${tally.succeeded} answered, failed ${JSON.stringify(tally.failed)}, ${tally.completionTokens} completion ` +
      `tokens in ${((Date.now() - started) / 1000).toFixed(1)} s; the server saw ${stats.requests} requests, ` +
      `${stats.rateLimited} 429s`
  )
})

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) Effect.runPromise(Effect.scoped(main))
