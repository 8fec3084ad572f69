/**
 * The gates together: a $0.002 budget, a limiter with a configured ceiling, the circuit breaker and its fuse.
 * It sends requests until the budget says no — and the budget says no *before* sending, so the simulator's
 * spend never crosses the ceiling. Then a billing failure trips the fuse, and every later call fails fast
 * without reaching the server.
 *
 *   npx tsx --conditions=@sluice/source examples/spend-safely.ts
 */
import { pathToFileURL } from "node:url"
import { Credentials, Gates, OpenAi, OpenAiConfig } from "@sluice/core"
import { Simulator } from "@sluice/simulator"
import { Effect, Layer } from "effect"

export interface Report {
  readonly answered: number
  readonly refusedBy: string
  readonly spentUsd: number
  readonly ceilingUsd: number
  readonly afterQuota: ReadonlyArray<string>
}

const ceilingUsd = 0.002

/** One client with every gate: budget, lifecycle, breaker (and fuse), limiter (≤ 600 RPM), concurrency. */
export const clientLayer = (baseUrl: string) =>
  OpenAi.layer.pipe(
    Layer.provide(OpenAiConfig.layer({ baseUrl, retry: { maxAttempts: 3, baseDelayMs: 10 } })),
    Layer.provide(Credentials.static("sk-spend-safely-0123456789")),
    Layer.provideMerge(
      Gates.layerDefaults({
        budget: { ceilingUsd },
        rateLimiter: { requestsPerMinute: 600 },
        concurrency: { permits: 8 }
      })
    )
  )

const ask = (i: number) =>
  Effect.flatMap(OpenAi.OpenAi, (openai) =>
    openai.chat.completions.create({
      model: "gpt-4o",
      max_completion_tokens: 50,
      messages: [{ role: "user", content: `Give me fact number ${i} about water.` }]
    })
  )

export const program = Effect.gen(function* () {
  let answered = 0
  // Spend until the budget refuses: the refusal is a typed error, and nothing was sent for it.
  const refusal = yield* Effect.gen(function* () {
    for (let i = 0; ; i++) {
      yield* ask(i)
      answered++
    }
  }).pipe(
    Effect.as("nothing"),
    Effect.catchTag("BudgetExceeded", (error) => Effect.succeed(`${error._tag}: ${error.message}`))
  )
  return { answered, refusal }
})

export const main = Effect.gen(function* () {
  // The simulator bills the same prices; its quota trips a billing 429 after ~3x the budget.
  const sim = yield* Simulator.start({ rpm: 600, quotaUsd: ceilingUsd * 3 })
  const { answered, refusal } = yield* Effect.provide(program, clientLayer(sim.url))
  const spentUsd = (yield* sim.stats).costUsd

  // A fresh client without a budget runs into the billing quota: QuotaExceeded trips the fuse, and every later
  // call fails fast with CircuitOpen — the job stops instead of hammering.
  const afterQuota = yield* Effect.gen(function* () {
    const tags: Array<string> = []
    for (let i = 0; i < 40; i++) {
      const outcome = yield* Effect.result(ask(i))
      if (outcome._tag === "Failure") tags.push(outcome.failure._tag)
    }
    return tags
  }).pipe(
    Effect.provide(
      OpenAi.layer.pipe(
        Layer.provide(OpenAiConfig.layer({ baseUrl: sim.url })),
        Layer.provide(Credentials.static("sk-spend-safely-0123456789")),
        Layer.provide(Gates.defaults)
      )
    )
  )
  const report: Report = { answered, refusedBy: refusal, spentUsd, ceilingUsd, afterQuota }
  yield* Effect.log(
    `${answered} answers for $${spentUsd.toFixed(6)} of a $${ceilingUsd} budget; then: ${refusal}`,
    `after the quota: ${afterQuota.slice(0, 3).join(", ")} … (${afterQuota.length} failures, none retried)`
  )
  return report
}).pipe(Effect.scoped)

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) Effect.runPromise(main)
