import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Effect, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as ModelLifecycle from "../src/ModelLifecycle.js"

const models = ["a", "b", "c", "d", "e"] as const
const model = Arbitrary.schema(Schema.Literals(models))
const boolean = Arbitrary.schema(Schema.Boolean)

/** fast-check's `dictionary`: some keys (each at most once), each with a value. */
const dictionary = <V>(key: Arbitrary.Arbitrary<string>, value: Arbitrary.Arbitrary<V>) =>
  Arbitrary.map(
    Arbitrary.array(Arbitrary.all([key, value])),
    (entries): Record<string, V> => Object.fromEntries(entries)
  )

/** fast-check's `subarray`: the values kept in order, each present or not. */
const subarray = (values: ReadonlyArray<string>) =>
  Arbitrary.map(Arbitrary.array(boolean, { minLength: values.length, maxLength: values.length }), (keep) =>
    values.filter((_, index) => keep[index])
  )

const at = (day: string) => TestClock.setTime(Date.parse(`${day}T12:00:00Z`))

describe("ModelLifecycle", () => {
  it("knows deprecation and shutdown dates", () => {
    const now = Date.parse("2025-05-01T00:00:00Z")
    expect(ModelLifecycle.status(ModelLifecycle.table, "gpt-4o", now)._tag).toBe("Active")
    expect(ModelLifecycle.status(ModelLifecycle.table, "text-davinci-003", now)._tag).toBe("Retired")
    expect(ModelLifecycle.status(ModelLifecycle.table, "gpt-4.5-preview", now)._tag).toBe("Deprecated")
    expect(
      ModelLifecycle.status(ModelLifecycle.table, "gpt-4.5-preview", Date.parse("2025-07-14T00:00:00Z"))._tag
    ).toBe("Retired")
    expect(ModelLifecycle.status(ModelLifecycle.table, "o1-mini", Date.parse("2025-01-01T00:00:00Z"))._tag).toBe(
      "Active"
    )
  })

  it.effect("fails retired models with ModelRetired (default) and only warns for deprecated ones", () =>
    Effect.gen(function* () {
      yield* at("2025-05-01")
      const lifecycle = yield* ModelLifecycle.make()
      const error = yield* Effect.flip(lifecycle.check("gpt-3.5-turbo-0301"))
      expect(error).toMatchObject({
        _tag: "ModelRetired",
        state: "retired",
        shutdownDate: "2024-06-13",
        replacement: "gpt-3.5-turbo"
      })
      yield* lifecycle.check("gpt-4.5-preview")
      yield* lifecycle.check("gpt-4o")
      yield* lifecycle.check("my-local-llama")
    })
  )

  it.effect("policy fail for deprecated, ignore for retired, and custom entries", () =>
    Effect.gen(function* () {
      yield* at("2025-05-01")
      const lifecycle = yield* ModelLifecycle.make({
        onDeprecated: "fail",
        onRetired: "ignore",
        entries: { "gpt-4o": { deprecated: "2025-01-01", replacement: "gpt-4.1" } }
      })
      const error = yield* Effect.flip(lifecycle.check("gpt-4o"))
      expect(error).toMatchObject({ state: "deprecated", replacement: "gpt-4.1" })
      yield* lifecycle.check("text-davinci-003")
    })
  )

  describe("chooseModel", () => {
    const fallbacks = { "gpt-4o": ["gpt-4o-mini"], "gpt-4o-mini": ["gpt-4.1-nano"], "gpt-4.1-nano": ["gpt-4o"] }

    it("keeps the model when it is fine, else walks the chain", () => {
      expect(ModelLifecycle.chooseModel("gpt-4o", { fallbacks })).toBe("gpt-4o")
      expect(ModelLifecycle.chooseModel("gpt-4o", { fallbacks, exclude: ["gpt-4o"] })).toBe("gpt-4o-mini")
      expect(ModelLifecycle.chooseModel("gpt-4o", { fallbacks, canAfford: (m) => m === "gpt-4.1-nano" })).toBe(
        "gpt-4.1-nano"
      )
    })

    it("never falls back to a model the budget cannot afford, and terminates on cycles", () => {
      expect(ModelLifecycle.chooseModel("gpt-4o", { fallbacks, canAfford: () => false })).toBeUndefined()
    })

    it.prop(
      "the choice is always affordable, usable and not excluded",
      [dictionary(model, Arbitrary.array(model, { maxLength: 3 })), subarray(models), subarray(models)],
      ([chain, affordable, excluded]) => {
        const choice = ModelLifecycle.chooseModel("a", {
          fallbacks: chain,
          canAfford: (m) => affordable.includes(m),
          exclude: excluded
        })
        if (choice !== undefined) {
          expect(affordable).toContain(choice)
          expect(excluded).not.toContain(choice)
        }
      }
    )
  })
})
