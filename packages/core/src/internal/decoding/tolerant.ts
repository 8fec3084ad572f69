/**
 * The body of `Decoding`: the tolerant decoder (the schema on the parser's fast path, then the keys it dropped
 * copied back), its problems with paths, and the chat fast paths wired in front of their schemas.
 *
 * @internal
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as SchemaParser from "effect/SchemaParser"
import * as SchemaAST from "effect/SchemaAST"
import type { StandardSchemaV1 } from "effect/StandardSchema"
import { ChatCompletion, ChatCompletionChunk } from "../../ChatCompletions.js"
import { fastChatCompletion, fastChatCompletionChunk } from "../fastChat.js"

type Json = Record<string, unknown>

const isGraftable = (value: unknown): value is Json => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

const graft = (out: unknown, input: unknown): void => {
  if (out === input || typeof out !== "object" || out === null || typeof input !== "object" || input === null) return
  if (Array.isArray(out)) {
    if (!Array.isArray(input)) return
    const length = Math.min(out.length, input.length)
    for (let index = 0; index < length; index++) {
      const item: unknown = out[index]
      if (typeof item === "object" && item !== null) graft(item, input[index])
    }
    return
  }
  if (Array.isArray(input) || !isGraftable(out)) return
  const source = input as Json
  for (const key of Object.keys(source)) {
    // JSON.parse makes an own "__proto__" key an ordinary property; assigning it would set the prototype.
    if (key === "__proto__") continue
    if (Object.hasOwn(out, key)) graft(out[key], source[key])
    else out[key] = source[key]
  }
}

/**
 * Copies onto `decoded` (in place, at every depth) the keys of `input` that decoding dropped: what
 * `onExcessProperty: "preserve"` did in Effect 3. Only plain objects are extended (never class instances);
 * arrays are walked by index. Returns `decoded`.
 *
 * @internal
 */
export const keepUnknown = <A>(decoded: A, input: unknown): A => {
  graft(decoded, input)
  return decoded
}

/**
 * One problem found by a decoder: where (`path`) and what (`message`, with the offending value).
 *
 * @internal
 */
export interface Problem {
  readonly path: ReadonlyArray<PropertyKey>
  readonly message: string
}

/**
 * A compiled tolerant decoder. `Failure` holds every problem (not just the first).
 *
 * @internal
 */
export type Decoder<A> = (input: unknown) => Result.Result<A, ReadonlyArray<Problem>>

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()
const fast: SchemaAST.ParseOptions = {}
const thorough: SchemaAST.ParseOptions = { errors: "all", reportInput: true }

const toProblem =
  (prefix: ReadonlyArray<PropertyKey>) =>
  (issue: StandardSchemaV1.Issue): Problem => ({
    path:
      issue.path === undefined || issue.path.length === 0
        ? prefix
        : [...prefix, ...issue.path.map((segment) => (typeof segment === "object" ? segment.key : segment))],
    message: issue.message
  })

/**
 * The key every member of a union of structs tags itself with (`role`, `type`), and the values it takes.
 * Effect 4 rejects a value whose tag matches no member as a whole ("Expected { role: "system" … } | …"); naming
 * the tag field says what is wrong, as Effect 3 did (`messages[0].role`).
 */
const discriminant = (
  ast: SchemaAST.AST
): { readonly key: PropertyKey; readonly literals: Array<unknown> } | undefined => {
  if (!SchemaAST.isUnion(ast) || ast.types.length < 2) return undefined
  let keys: Array<PropertyKey> | undefined
  for (const member of ast.types) {
    if (!SchemaAST.isObjects(member)) return undefined
    const tagged = member.propertySignatures
      .filter((ps) => SchemaAST.isLiteral(ps.type) && !SchemaAST.isOptional(ps.type))
      .map((ps) => ps.name)
    keys = keys === undefined ? tagged : keys.filter((key) => tagged.includes(key))
    if (keys.length === 0) return undefined
  }
  const key = keys![0]!
  const literals = ast.types.map((member) => {
    const ps = (member as SchemaAST.Objects).propertySignatures.find((ps) => ps.name === key)!
    return (ps.type as SchemaAST.Literal).literal
  })
  return { key, literals }
}

/** Like the Standard Schema formatter, with a union whose tag matched no member reported at the tag. */
const toProblems = (issue: SchemaIssue.Issue, path: ReadonlyArray<PropertyKey>): Array<Problem> => {
  switch (issue._tag) {
    case "Pointer":
      return toProblems(issue.issue, [...path, ...issue.path])
    case "Composite":
      return issue.issues.flatMap((inner) => toProblems(inner, path))
    case "AnyOf": {
      if (issue.issues.length > 0) return issue.issues.flatMap((inner) => toProblems(inner, path))
      const tag = discriminant(issue.ast)
      const input: unknown = SchemaIssue.hasInput(issue) ? issue.input : undefined
      if (tag !== undefined && typeof input === "object" && input !== null && !Array.isArray(input)) {
        const value = (input as Json)[tag.key as string]
        const expected = tag.literals.map((literal) => JSON.stringify(literal)).join(" | ")
        return [
          {
            path: [...path, tag.key],
            message:
              value === undefined ? `Missing key (${expected})` : `Expected ${expected}, got ${JSON.stringify(value)}`
          }
        ]
      }
      return formatter(issue).issues.map(toProblem(path))
    }
    default:
      return formatter(issue).issues.map(toProblem(path))
  }
}

type Parse = (input: unknown, options?: SchemaAST.ParseOptions) => Result.Result<unknown, SchemaIssue.Issue>

/** Different sets of present optional keys remembered per struct (a request type uses a handful). */
const maxShapes = 64

/**
 * For a struct with optional fields (a request has 25, a call sets three or four), a parser of the struct cut down
 * to the keys present: Effect 4's parser visits every declared property, present or not (~0.25 µs each), and an
 * absent optional field can never fail nor add anything to the output. Fields with defaults or transformations
 * and required fields are always kept, so the output is the same as the whole struct's. `undefined` when the
 * schema is not a plain struct (checks, index signatures or a transformation of its own).
 */
const sparse = (schema: Schema.ConstraintDecoder<unknown>): ((input: unknown) => Parse | undefined) | undefined => {
  const ast = schema.ast
  const fields = (schema as { readonly fields?: Schema.Struct.Fields }).fields
  if (
    fields === undefined ||
    !SchemaAST.isObjects(ast) ||
    ast.indexSignatures.length > 0 ||
    ast.checks !== undefined ||
    ast.encoding !== undefined
  ) {
    return undefined
  }
  const names = Object.keys(fields)
  const skippable = new Set(
    names.filter((name) => {
      const field = fields[name]!.ast
      return SchemaAST.isOptional(field) && field.encoding === undefined
    })
  )
  if (skippable.size < 4) return undefined
  const shapes = new Map<string, Parse>()
  return (input) => {
    if (typeof input !== "object" || input === null || Array.isArray(input)) return undefined
    let id = ""
    for (const name of names) {
      if (skippable.has(name) && Object.hasOwn(input, name)) id += `${name},`
    }
    let parse = shapes.get(id)
    if (parse === undefined) {
      if (shapes.size >= maxShapes) return undefined
      const picked: Record<string, Schema.Constraint> = {}
      for (const name of names) {
        if (!skippable.has(name) || Object.hasOwn(input, name)) picked[name] = fields[name]!
      }
      // The fields are the schema's own, which needs no services to decode: neither does a subset of them.
      const subset = Schema.Struct(picked) as unknown as Schema.ConstraintDecoder<unknown>
      parse = SchemaParser.decodeUnknownResult(subset)
      shapes.set(id, parse)
    }
    return parse
  }
}

const compile = <S extends Schema.ConstraintDecoder<unknown>>(schema: S): Decoder<S["Type"]> => {
  const whole: Parse = SchemaParser.decodeUnknownResult(schema)
  const shapeOf = sparse(schema)
  return (input): Result.Result<S["Type"], ReadonlyArray<Problem>> => {
    const result = (shapeOf?.(input) ?? whole)(input, fast)
    if (Result.isSuccess(result)) return Result.succeed(keepUnknown(result.success as S["Type"], input))
    // The failure path runs the whole schema again collecting every issue with its input: the success path stays
    // the cheap one.
    const again = whole(input, thorough)
    const issue = Result.isFailure(again) ? again.failure : result.failure
    return Result.fail(toProblems(issue, []))
  }
}

const cache = new WeakMap<object, Decoder<unknown>>()

/**
 * The tolerant decoder of a schema (compiled on first use, then cached per schema): validates, fills
 * defaults, and keeps unknown fields. The schema must need no services to decode.
 *
 * @internal
 */
export const decoder = <S extends Schema.ConstraintDecoder<unknown>>(schema: S): Decoder<S["Type"]> => {
  let decode = cache.get(schema)
  if (decode === undefined) {
    decode = compile(schema) as Decoder<unknown>
    cache.set(schema, decode)
  }
  return decode as Decoder<S["Type"]>
}

/**
 * Formats a path the way error messages show it: `messages[0].content`.
 *
 * @internal
 */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>(
    (out, key) => (typeof key === "number" ? `${out}[${key}]` : out === "" ? String(key) : `${out}.${String(key)}`),
    ""
  )

/** A schema's tolerant decoder with a hand-written fast path in front (`undefined`: the schema decides). */
const withFastPath =
  <A>(fast: (u: unknown) => A | undefined, slow: Decoder<A>): Decoder<A> =>
  (input) => {
    const decoded = fast(input)
    return decoded === undefined ? slow(input) : Result.succeed(decoded)
  }

/** @internal */
export const chatCompletion: Decoder<ChatCompletion> = withFastPath(fastChatCompletion, decoder(ChatCompletion))

/** @internal */
export const chatCompletionChunk: Decoder<ChatCompletionChunk> = withFastPath(
  fastChatCompletionChunk,
  decoder(ChatCompletionChunk)
)
