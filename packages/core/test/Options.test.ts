import { describe, expect, it } from "@effect/vitest"
import { Budget, Concurrency, Errors, Gates, OpenAi, OpenAiConfig, RateLimiter, Retry } from "@sluice/core"
import { Effect, Either, Exit, Layer } from "effect"
import { client, httpServer } from "./support/servers.js"

/** Builds a layer and returns its failure (a defect or a hang would fail the test differently). */
const buildError = <A, E>(layer: Layer.Layer<A, E>) =>
  Effect.scoped(Layer.build(layer)).pipe(
    Effect.exit,
    Effect.map((exit) => (Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : exit))
  )

const expectInvalid = (error: unknown, option: string, value: string) => {
  expect(error).toBeInstanceOf(Errors.InvalidOptions)
  const invalid = error as Errors.InvalidOptions
  expect(invalid.option).toBe(option)
  expect(invalid.value).toBe(value)
  expect(invalid.retryable).toBe(false)
  expect(invalid.message).toBe(`invalid option ${option}: got ${value}, expected ${invalid.expected}`)
}

describe("options out of range are typed errors, not hangs or defects", () => {
  it.effect("gate layers fail to build with InvalidOptions naming the option, the value and what is allowed", () =>
    Effect.gen(function* () {
      const rows: ReadonlyArray<readonly [Effect.Effect<unknown>, string, string, string]> = [
        [buildError(Concurrency.layer({ permits: 0 })), "concurrency.permits", "0", "an integer ≥ 1"],
        [buildError(Concurrency.layer({ permits: 2.5 })), "concurrency.permits", "2.5", "an integer ≥ 1"],
        [buildError(Concurrency.layer({ perScope: -1 })), "concurrency.perScope", "-1", "an integer ≥ 1"],
        [buildError(RateLimiter.layer({ requestsPerMinute: 0 })), "rateLimiter.requestsPerMinute", "0", "a number > 0"],
        [buildError(RateLimiter.layer({ tokensPerMinute: -5 })), "rateLimiter.tokensPerMinute", "-5", "a number > 0"],
        [buildError(RateLimiter.layer({ burstFactor: Number.NaN })), "rateLimiter.burstFactor", "NaN", "a number > 0"],
        [buildError(Budget.layer({ ceilingUsd: -1 })), "budget.ceilingUsd", "-1", "a number ≥ 0"],
        [
          buildError(Budget.layer({ ceilings: { team: { tokens: -3 } } })),
          "budget.ceilings.team.tokens",
          "-3",
          "a number ≥ 0"
        ],
        [
          buildError(Gates.layerDefaults({ concurrency: { permits: 0 } })),
          "concurrency.permits",
          "0",
          "an integer ≥ 1"
        ],
        [
          buildError(Gates.layerDefaults({ rateLimiter: { tokensPerMinute: 0 } })),
          "rateLimiter.tokensPerMinute",
          "0",
          "a number > 0"
        ],
        [buildError(Gates.layerDefaults({ budget: { ceilingUsd: -0.5 } })), "budget.ceilingUsd", "-0.5", "a number ≥ 0"]
      ]
      for (const [build, option, value, expected] of rows) {
        const error = yield* build
        expectInvalid(error, option, value)
        expect((error as Errors.InvalidOptions).expected).toBe(expected)
      }
      // zero is a valid budget (it refuses every request with BudgetExceeded)
      expect(Either.isRight(Budget.validate({ ceilingUsd: 0 }))).toBe(true)
    })
  )

  it.effect("resizing the concurrency gate to 0 is refused", () =>
    Effect.gen(function* () {
      const gate = yield* Concurrency.make({ permits: 2 })
      expectInvalid(yield* Effect.flip(gate.resize(0)), "concurrency.permits", "0")
      expectInvalid(yield* Effect.flip(gate.resizePerScope(-1)), "concurrency.perScope", "-1")
      expect(yield* gate.permits).toBe(2)
    })
  )

  it("Retry.validate: maxAttempts ≥ 1 (a negative max retries is 0 or fewer attempts), delays ≥ 0", () => {
    expect(Either.isRight(Retry.validate(Retry.defaults))).toBe(true)
    const left = (policy: Partial<Retry.Policy>) => {
      const result = Retry.validate(policy)
      return Either.isLeft(result) ? result.left : undefined
    }
    expectInvalid(left({ maxAttempts: 0 }), "retry.maxAttempts", "0")
    expectInvalid(left({ maxAttempts: -1 }), "retry.maxAttempts", "-1")
    expectInvalid(left({ baseDelayMs: -10 }), "retry.baseDelayMs", "-10")
    expectInvalid(left({ deadlineMs: Number.NaN }), "retry.deadlineMs", "NaN")
    expect(Either.isRight(Retry.validate({ deadlineMs: Number.POSITIVE_INFINITY }))).toBe(true)
  })

  it("OpenAiConfig.validate and resolve never throw: a bad duration or count is recorded, the defaults stand in", () => {
    const left = (options: OpenAiConfig.Options) => {
      const result = OpenAiConfig.validate(options)
      return Either.isLeft(result) ? result.left : undefined
    }
    expectInvalid(left({ connectTimeout: "abc" as never }), "connectTimeout", '"abc"')
    expectInvalid(left({ headersTimeout: -1 }), "headersTimeout", "-1")
    expectInvalid(left({ totalTimeout: "-5 seconds" }), "totalTimeout", '"-5 seconds"')
    expectInvalid(left({ totalTimeout: 0 }), "totalTimeout", "0")
    expectInvalid(left({ maxConnections: 0 }), "maxConnections", "0")
    expectInvalid(left({ maxResponseBytes: -1 }), "maxResponseBytes", "-1")
    expectInvalid(left({ maxTokensPolicy: "sometimes" as never }), "maxTokensPolicy", '"sometimes"')
    expectInvalid(left({ retry: { maxAttempts: 0 } }), "retry.maxAttempts", "0")
    const resolved = OpenAiConfig.resolve({ connectTimeout: "abc" as never })
    expect(resolved.invalid?.option).toBe("connectTimeout")
    expect(OpenAiConfig.resolve({}).invalid).toBeUndefined()
  })

  it.scoped("a client with an option out of range fails every call with InvalidOptions and sends nothing", () =>
    Effect.gen(function* () {
      let requests = 0
      const { url } = yield* httpServer((_request, response) => {
        requests++
        response.writeHead(200, { "content-type": "application/json" })
        response.end('{"object":"list","data":[]}')
      })
      const list = Effect.flatMap(OpenAi.OpenAi, (o) => o.models.list())
      const bad = yield* Effect.flip(list.pipe(Effect.provide(client(`${url}/v1`, { retry: { maxAttempts: -1 } }))))
      expectInvalid(bad, "retry.maxAttempts", "-1")
      const zero = yield* Effect.flip(list.pipe(Effect.provide(client(`${url}/v1`, { maxConnections: 0 }))))
      expectInvalid(zero, "maxConnections", "0")
      // per-call overrides are checked too
      const perCall = yield* Effect.flip(
        Effect.flatMap(OpenAi.OpenAi, (o) => o.models.list({ retry: { maxAttempts: 0 } })).pipe(
          Effect.provide(client(`${url}/v1`))
        )
      )
      expectInvalid(perCall, "retry.maxAttempts", "0")
      expect(requests).toBe(0)
    })
  )
})
