/**
 * An Effect `Schema` as the JSON Schema of OpenAI's strict mode. Generation is Effect's own
 * (`effect/ai/OpenAiStructuredOutput`: optional → required nullable, tuples and records re-encoded, unsupported
 * keywords dropped and enforced by the returned codec instead); this module then checks the result against what
 * strict mode accepts and refuses, naming the field, what it would reject.
 *
 * @internal
 */
import * as Result from "effect/Result"
import type * as Schema from "effect/Schema"
import { toCodecOpenAI } from "effect/ai/OpenAiStructuredOutput"
import type * as JsonSchema from "effect/JsonSchema"
import { InvalidRequest } from "../../Errors.js"

/** OpenAI's documented limits of strict mode. */
export const limits = { depth: 10, properties: 5000, enumValues: 1000 } as const

/** @internal */
export interface Strict<A> {
  readonly codec: Schema.ConstraintDecoder<A>
  readonly jsonSchema: JsonSchema.JsonSchema
}

type Node = Record<string, unknown>
const isNode = (value: unknown): value is Node => typeof value === "object" && value !== null && !Array.isArray(value)

interface Problem {
  readonly path: string
  readonly why: string
}

interface Walk {
  properties: number
}

const child = (path: string, key: string) => (path === "" ? key : `${path}.${key}`)

/** The first thing strict mode would reject at or below `node`, if any. */
const visit = (node: unknown, path: string, depth: number, walk: Walk): Problem | undefined => {
  const fail = (why: string): Problem => ({ path: path === "" ? "(root)" : path, why })
  if (!isNode(node)) return fail("is not a JSON Schema")
  if (depth > limits.depth) return fail(`nests deeper than strict mode's ${limits.depth} levels`)
  if (typeof node.$ref === "string") return undefined
  if (Array.isArray(node.anyOf)) {
    for (const member of node.anyOf) {
      const problem = visit(member, path, depth, walk)
      if (problem !== undefined) return problem
    }
    return undefined
  }
  if (Array.isArray(node.enum) && node.enum.length > limits.enumValues) {
    return fail(`has ${node.enum.length} enum values (strict mode allows ${limits.enumValues})`)
  }
  if (node.type === undefined) {
    if (node.enum !== undefined || node.const !== undefined) return undefined
    return fail(
      "has no type (Schema.Unknown, Schema.Any or a declaration without a JSON encoding): strict mode cannot express it"
    )
  }
  const types: ReadonlyArray<unknown> = Array.isArray(node.type) ? node.type : [node.type]
  if (types.includes("object")) {
    if (node.additionalProperties !== false) {
      return fail("is an object open to extra keys: strict mode needs additionalProperties: false")
    }
    const properties = isNode(node.properties) ? node.properties : {}
    const required = new Set(Array.isArray(node.required) ? node.required : [])
    for (const key of Object.keys(properties)) {
      walk.properties++
      if (walk.properties > limits.properties) return fail(`brings the schema past ${limits.properties} properties`)
      if (!required.has(key)) return fail(`has property ${key} that is not required`)
      const problem = visit(properties[key], child(path, key), depth + 1, walk)
      if (problem !== undefined) return problem
    }
  }
  if (types.includes("array") && node.items !== undefined) return visit(node.items, `${path}[]`, depth + 1, walk)
  return undefined
}

const nonFinite = new Set(["Infinity", "-Infinity", "NaN"])

/** `{type: "string", enum: ["Infinity", "-Infinity", "NaN"]}`: how Effect's JSON codec writes a non-finite number. */
const isNonFiniteBranch = (node: unknown): boolean =>
  isNode(node) &&
  node.type === "string" &&
  Array.isArray(node.enum) &&
  node.enum.every((value) => typeof value === "string" && nonFinite.has(value))

/**
 * Effect 4.1 writes `Schema.Date` and `Schema.DateTimeUtcFromString` as a bare string with this description and no
 * `format`: the model is not told to write a date, and anything else fails to decode.
 */
const dateDescriptions = new Set([
  "a string that will be decoded as a Date",
  "a string that will be decoded as a DateTime.Utc"
])

/**
 * The schema as strict mode should see it: every `anyOf [number, "Infinity" | "-Infinity" | "NaN"]` (a
 * `Schema.Number`) as just the number — a model should answer a number, not the string "NaN", and the codec still
 * decodes what it sends — and every date string with `format: "date-time"`.
 */
const finiteNumbers = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(finiteNumbers)
  if (!isNode(node)) return node
  const out: Node = {}
  for (const [key, value] of Object.entries(node)) out[key] = finiteNumbers(value)
  if (out.type === "string" && out.format === undefined && dateDescriptions.has(String(out.description))) {
    out.format = "date-time"
  }
  if (Array.isArray(out.anyOf) && out.anyOf.some(isNonFiniteBranch)) {
    const rest = out.anyOf.filter((member) => !isNonFiniteBranch(member))
    if (rest.length === 1 && isNode(rest[0])) {
      const { anyOf: _anyOf, ...annotations } = out
      return { ...rest[0], ...annotations }
    }
    out.anyOf = rest
  }
  return out
}

/**
 * The strict JSON Schema and the decoding codec of `schema`, or `InvalidRequest` naming the first field strict
 * mode cannot express (`path` is the field, as `address.tags[]`; `(root)` for the whole schema).
 *
 * @internal
 */
export const toStrict = <A, I>(
  schema: Schema.ConstraintCodec<A, I>,
  where: string
): Result.Result<Strict<A>, InvalidRequest> => {
  let generated: { readonly codec: Schema.ConstraintCodec<A, unknown>; readonly jsonSchema: JsonSchema.JsonSchema }
  try {
    generated = toCodecOpenAI(schema)
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^OpenAiStructuredOutput: /, "") : String(error)
    return Result.fail(
      new InvalidRequest({
        message: `${where}: strict structured outputs cannot express this Schema: ${reason} (wrap it in a Schema.Struct)`,
        path: "(root)"
      })
    )
  }
  const jsonSchema = finiteNumbers(generated.jsonSchema) as JsonSchema.JsonSchema
  const walk: Walk = { properties: 0 }
  const defs = isNode(jsonSchema.$defs) ? jsonSchema.$defs : {}
  let problem = visit(jsonSchema, "", 1, walk)
  for (const [name, definition] of Object.entries(defs)) problem ??= visit(definition, `$defs.${name}`, 1, walk)
  if (problem !== undefined) {
    return Result.fail(
      new InvalidRequest({ message: `${where}: field ${problem.path} ${problem.why}`, path: problem.path })
    )
  }
  return Result.succeed({ codec: generated.codec as Schema.ConstraintDecoder<A>, jsonSchema })
}
