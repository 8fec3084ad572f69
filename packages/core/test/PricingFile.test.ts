import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import * as ModelLifecycle from "../src/ModelLifecycle.js"
import * as Pricing from "../src/Pricing.js"

const dir = mkdtempSync(join(tmpdir(), "sluice-tables-"))
let n = 0
const write = (content: unknown): string => {
  const path = join(dir, `table-${n++}.json`)
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content))
  return path
}

const usage = (promptTokens: number, completionTokens: number, cachedPromptTokens = 0) => ({
  promptTokens,
  completionTokens,
  cachedPromptTokens
})

const prices = (models: unknown, extra: Record<string, unknown> = {}) => ({
  format: "sluice-prices",
  version: 1,
  asOf: "2026-12-01",
  currency: "USD",
  unit: "per 1M tokens",
  models,
  ...extra
})

const lifecycle = (models: unknown, extra: Record<string, unknown> = {}) => ({
  format: "sluice-lifecycle",
  version: 1,
  asOf: "2026-12-01",
  models,
  ...extra
})

/** The error a bad prices file gives (the layer must not build). */
const pricesError = (content: unknown) =>
  Effect.flip(Pricing.readFile(write(content))).pipe(Effect.provide(NodeFileSystem.layer))

const lifecycleError = (content: unknown) =>
  Effect.flip(ModelLifecycle.readFile(write(content))).pipe(Effect.provide(NodeFileSystem.layer))

describe("Pricing.layerFile", () => {
  it.effect("a file's prices add to and replace the built-in table; batch prices apply to batch calls", () =>
    Effect.gen(function* () {
      const pricing = yield* Pricing.Pricing
      expect(Option.getOrThrow(pricing.cost("llama-3-70b", usage(1_000_000, 1_000_000)))).toBeCloseTo(1.5)
      // Explicit batch prices win over the 50 % rule.
      expect(Option.getOrThrow(pricing.cost("llama-3-70b", usage(1_000_000, 0), { batch: true }))).toBeCloseTo(0.4)
      expect(Option.getOrThrow(pricing.cost("gpt-4o-2024-11-20", usage(1_000_000, 0)))).toBeCloseTo(1)
      // Without batch prices: half.
      expect(Option.getOrThrow(pricing.cost("gpt-4o", usage(1_000_000, 0), { batch: true }))).toBeCloseTo(0.5)
      // The rest of the built-in table is still there.
      expect(Option.isSome(pricing.price("gpt-4.1-mini"))).toBe(true)
    }).pipe(
      Effect.provide(
        Pricing.layerFile(
          write(
            prices({
              "llama-3-70b": { input: 0.5, output: 1, batch: { input: 0.4, output: 0.8 }, source: "https://example" },
              "gpt-4o": { input: 1, checked: "2026-12-01" }
            })
          )
        ).pipe(Layer.provide(NodeFileSystem.layer))
      )
    )
  )

  it.effect('"replace": true starts from an empty table; SLUICE_PRICES selects the file', () =>
    Effect.gen(function* () {
      const pricing = yield* Pricing.Pricing
      expect(Option.isSome(pricing.price("mine"))).toBe(true)
      expect(Option.isNone(pricing.price("gpt-4o"))).toBe(true)
    }).pipe(
      Effect.provide(
        Pricing.layerConfig().pipe(
          Layer.provide(NodeFileSystem.layer),
          Layer.provide(
            ConfigProvider.layer(
              ConfigProvider.fromEnv({
                env: { SLUICE_PRICES: write(prices({ mine: { input: 1 } }, { replace: true })) }
              })
            )
          )
        )
      )
    )
  )

  it.effect("bad files are InvalidOptions naming the file, the field and the value", () =>
    Effect.gen(function* () {
      const negative = yield* pricesError(prices({ "gpt-4o": { input: -1 } }))
      expect(negative._tag).toBe("InvalidOptions")
      expect(negative.option).toMatch(/^prices file .*table-\d+\.json: models\.gpt-4o\.input$/)
      expect(negative.value).toBe("-1")
      const typo = yield* pricesError(prices({ "gpt-4o": { input: 1, cachedinput: 0.5 } }))
      expect(typo.option).toMatch(/models\.gpt-4o\.cachedinput$/)
      expect(typo.value).toBe("0.5")
      expect(typo.expected).toContain("no such field")
      expect(negative.message).toContain("got -1, expected a value greater than or equal to 0")
      const text = yield* pricesError(prices({ "gpt-4o": { input: "2.50" } }))
      expect(text.value).toBe('"2.50"')
      expect(text.message).toContain("expected")
      const version = yield* pricesError(prices({}, { version: 2 }))
      expect(version.option).toMatch(/: version$/)
      expect(version.value).toBe("2")
      const date = yield* pricesError(prices({}, { asOf: "2026-13-01" }))
      expect(date.option).toMatch(/: asOf$/)
      expect(date.value).toBe('"2026-13-01"')
      const unit = yield* pricesError(prices({}, { unit: "per 1K tokens" }))
      expect(unit.option).toMatch(/: unit$/)
      const json = yield* pricesError("{ not json")
      expect(json.option).toBe("prices file")
      expect(json.expected).toMatch(/^JSON/)
      const missing = yield* Effect.flip(Pricing.readFile(join(dir, "absent.json"))).pipe(
        Effect.provide(NodeFileSystem.layer)
      )
      expect(missing.value).toContain("absent.json")
      expect(missing.expected).toMatch(/^a readable JSON file/)
    })
  )
})

describe("ModelLifecycle.layerFile", () => {
  it.effect("a file's entries add to the built-in table and the policies still apply", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.parse("2026-12-01T00:00:00Z"))
      const gate = yield* ModelLifecycle.ModelLifecycle
      const error = yield* Effect.flip(gate.check("my-old-model"))
      expect(error).toMatchObject({ _tag: "ModelRetired", shutdownDate: "2026-01-01", replacement: "my-new-model" })
      expect((yield* Effect.flip(gate.check("text-davinci-003")))._tag).toBe("ModelRetired")
    }).pipe(
      Effect.provide(
        ModelLifecycle.layerFile(
          write(
            lifecycle({
              "my-old-model": { deprecated: "2025-06-01", shutdown: "2026-01-01", replacement: "my-new-model" }
            })
          ),
          { onRetired: "fail" }
        ).pipe(Layer.provide(NodeFileSystem.layer))
      )
    )
  )

  it.effect("bad files are InvalidOptions naming the field and the value", () =>
    Effect.gen(function* () {
      const date = yield* lifecycleError(lifecycle({ "o1-mini": { shutdown: "27 Oct 2025" } }))
      expect(date.option).toMatch(/^lifecycle file .*: models\.o1-mini\.shutdown$/)
      expect(date.value).toBe('"27 Oct 2025"')
      const format = yield* lifecycleError(lifecycle({}, { format: "sluice-prices" }))
      expect(format.option).toMatch(/: format$/)
      const extra = yield* lifecycleError(lifecycle({ x: { retired: true } }))
      expect(extra.option).toMatch(/models\.x\.retired$/)
    })
  )
})
