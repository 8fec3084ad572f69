/**
 * Reading a dated, versioned JSON table file (prices, model lifecycle) with `FileSystem`, validated by a Schema
 * that rejects unknown fields: a bad file is an `InvalidOptions` naming the file, the field and the value, and
 * nothing is sent.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as SchemaParser from "effect/SchemaParser"
import { formatPath } from "../../Decoding.js"
import { InvalidOptions } from "../../Errors.js"

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/** A `YYYY-MM-DD` date that exists. @internal */
export const IsoDate = Schema.String.check(
  Schema.makeFilter((s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`)), {
    expected: "a date YYYY-MM-DD"
  })
)

/** The header every table file carries. @internal */
export const header = <Format extends string>(format: Format) => ({
  format: Schema.Literal(format),
  version: Schema.Literal(1),
  /** The day the figures were checked against their sources. */
  asOf: IsoDate,
  /** Start from an empty table instead of the built-in one (default false: the file's entries win). */
  replace: Schema.optionalKey(Schema.Boolean),
  notes: Schema.optionalKey(Schema.String)
})

const valueText = (input: unknown): string => {
  if (input === undefined) return "nothing"
  const text = JSON.stringify(input)
  return text === undefined ? String(input) : text.length > 80 ? `${text.slice(0, 77)}...` : text
}

const valueAt = (root: unknown, path: ReadonlyArray<PropertyKey>): unknown =>
  path.reduce<unknown>(
    (value, key) =>
      typeof value === "object" && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined,
    root
  )

/**
 * Validates a table file's `text` (read from `path`) against `schema`. `what` names the table in errors
 * (`prices file`).
 *
 * @internal
 */
export const parse = <S extends Schema.ConstraintDecoder<unknown>>(
  what: string,
  path: string,
  text: string,
  schema: S
): Result.Result<S["Type"], InvalidOptions> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return Result.fail(
      new InvalidOptions({
        option: what,
        value: path,
        expected: `JSON (${error instanceof Error ? error.message : String(error)})`
      })
    )
  }
  const decoded = SchemaParser.decodeUnknownResult(schema)(json, { onExcessProperty: "error" })
  if (Result.isSuccess(decoded)) return Result.succeed(decoded.success)
  const issue = formatter(decoded.failure).issues[0]!
  const at = (issue.path ?? []).map((segment) => (typeof segment === "object" ? segment.key : segment))
  return Result.fail(
    new InvalidOptions({
      option: `${what} ${path}: ${at.length === 0 ? "(the whole file)" : formatPath(at)}`,
      value: valueText(valueAt(json, at)),
      expected: expectation(issue.message)
    })
  )
}

/** The formatter's message as what was expected: `Expected a number` → `a number`. */
const expectation = (message: string): string => {
  if (/^Missing key/.test(message)) return "a value (the field is required)"
  if (/^(Unexpected key|Expected no excess property)/.test(message)) {
    return "no such field (unknown fields are refused: check the spelling)"
  }
  return message.replace(/^Expected /, "").replace(/^(number|string|boolean)$/, "a $1")
}

/**
 * Reads `path` with `FileSystem` and validates it (see {@link parse}).
 *
 * @internal
 */
export const read = <S extends Schema.ConstraintDecoder<unknown>>(
  what: string,
  path: string,
  schema: S
): Effect.Effect<S["Type"], InvalidOptions, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs
      .readFileString(path)
      .pipe(
        Effect.mapError(
          (error) =>
            new InvalidOptions({ option: what, value: path, expected: `a readable JSON file (${error.message})` })
        )
      )
    return yield* Effect.fromResult(parse(what, path, text, schema))
  })
