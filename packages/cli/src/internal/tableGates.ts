/**
 * The gates with the tables of `--prices` / `--lifecycle` (see tables.ts): the files are read and validated here,
 * when the gates are built, so a bad file fails the command with an `InvalidOptions` naming the file, the field
 * and the value before anything is sent.
 *
 * @internal
 */
import * as NodeFs from "node:fs"
import { Errors, Gates, ModelLifecycle, Pricing } from "@sluice/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import type { TableFiles } from "./tables.js"

const read = <A>(
  what: string,
  path: string,
  parse: (text: string, path: string) => Result.Result<A, Errors.InvalidOptions>
): Result.Result<A, Errors.InvalidOptions> => {
  try {
    return parse(NodeFs.readFileSync(path, "utf8"), path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable"
    return Result.fail(
      new Errors.InvalidOptions({ option: what, value: path, expected: `a readable JSON file (${code})` })
    )
  }
}

/**
 * The tables' part of the gates' options, or the file's problem.
 *
 * @internal
 */
export const tableOptions = (
  files: TableFiles | undefined,
  lifecycle: ModelLifecycle.Options = {}
): Result.Result<Pick<Gates.DefaultsOptions, "pricing" | "modelLifecycle">, Errors.InvalidOptions> =>
  Result.gen(function* () {
    const prices = files?.prices === undefined ? undefined : yield* read("prices file", files.prices, Pricing.parseFile)
    const table =
      files?.lifecycle === undefined
        ? undefined
        : yield* read("lifecycle file", files.lifecycle, ModelLifecycle.parseFile)
    return {
      ...(prices === undefined ? {} : { pricing: Pricing.optionsOf(prices) }),
      ...(table === undefined ? {} : { modelLifecycle: ModelLifecycle.optionsOf(table, lifecycle) })
    }
  })

/**
 * `Gates.layerDefaults(options)` with the tables of `files`, and the same prices as a `Pricing` service for what
 * else reports a cost (the batch summary).
 *
 * @internal
 */
export const gatesWithTables = (
  files: TableFiles | undefined,
  options: Gates.DefaultsOptions = {}
): Layer.Layer<Gates.Gates | Pricing.Pricing, Errors.InvalidOptions> =>
  Layer.unwrap(
    Effect.map(
      Effect.fromResult(tableOptions(files, options.modelLifecycle === false ? {} : options.modelLifecycle)),
      (tables) =>
        Layer.merge(Gates.layerDefaults({ ...options, ...tables }), Pricing.layer(tables.pricing ?? options.pricing))
    )
  )
