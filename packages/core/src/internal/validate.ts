/**
 * Request validation and response decoding with readable, path-naming errors.
 *
 * @internal
 */
import { Effect, Either, ParseResult, Schema } from "effect"
import type { ParseOptions } from "effect/SchemaAST"
import { InvalidRequest, ResponseDecodeFailed } from "../Errors.js"

const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>(
    (out, key) => (typeof key === "number" ? `${out}[${key}]` : out === "" ? String(key) : `${out}.${String(key)}`),
    ""
  )

/**
 * Validates a request; unknown fields are kept (vendor extensions pass through).
 *
 * @internal
 */
export const request = <A, I>(
  schema: Schema.Schema<A, I>,
  input: unknown,
  what: string
): Effect.Effect<A, InvalidRequest> => {
  const result = requestDecoder(schema)(input)
  return Either.isRight(result) ? Effect.succeed(result.right) : Effect.fail(invalidRequest(result.left, what))
}

const invalidRequest = (error: ParseResult.ParseError, what: string): InvalidRequest => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const first = issues[0]
  const path = first === undefined ? "" : formatPath(first.path)
  const details = issues
    .slice(0, 3)
    .map((issue) => `${formatPath(issue.path) || "(request)"}: ${issue.message}`)
    .join("; ")
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : ""
  return new InvalidRequest({
    message: `invalid ${what} request: ${details}${more}`,
    ...(path === "" ? {} : { path })
  })
}

type Decoder<A> = (input: unknown) => Either.Either<A, ParseResult.ParseError>

/** One compiled decoder per schema and options: a request and a response are decoded on every call. */
const decoders = (options: ParseOptions) => {
  const cache = new WeakMap<object, Decoder<unknown>>()
  return <A, I>(schema: Schema.Schema<A, I>): Decoder<A> => {
    let decoder = cache.get(schema)
    if (decoder === undefined) {
      decoder = Schema.decodeUnknownEither(schema, options)
      cache.set(schema, decoder)
    }
    return decoder as Decoder<A>
  }
}

const requestDecoder = decoders({ onExcessProperty: "preserve", errors: "all" })
const responseDecoder = decoders({ onExcessProperty: "preserve" })

/**
 * Decodes a response body (JSON text) with a tolerant schema. Fields the schema does not know are kept on the
 * value (servers add fields all the time: `reasoning_content`, `timings`, `service_tier` …), so nothing the
 * server sent is lost; fields the schema marks optional may be missing.
 *
 * `fast`, when given, may decode the common shape itself; when it returns `undefined` the schema decides.
 *
 * @internal
 */
export const response = <A, I>(
  schema: Schema.Schema<A, I>,
  text: string,
  meta: { readonly what: string; readonly status: number; readonly requestId: string | undefined },
  fast?: (json: unknown) => A | undefined
): Effect.Effect<A, ResponseDecodeFailed> => {
  const fail = (message: string) =>
    new ResponseDecodeFailed({
      message,
      status: meta.status,
      body: text.slice(0, 500),
      ...(meta.requestId === undefined ? {} : { requestId: meta.requestId })
    })
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return Effect.fail(
      fail(
        `response of ${meta.what} is not valid JSON (${text.length === 0 ? "empty body" : (error as Error).message})`
      )
    )
  }
  if (fast !== undefined) {
    const decoded = fast(json)
    if (decoded !== undefined) return Effect.succeed(decoded)
  }
  const decoded = responseDecoder(schema)(json)
  if (Either.isRight(decoded)) return Effect.succeed(decoded.right)
  const details = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
    .slice(0, 3)
    .map((issue) => `${formatPath(issue.path) || "(body)"}: ${issue.message}`)
    .join("; ")
  return Effect.fail(fail(`response of ${meta.what} does not match its schema: ${details}`))
}
