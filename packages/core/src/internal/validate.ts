/**
 * Request validation and response decoding with readable, path-naming errors.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type * as Schema from "effect/Schema"
import * as Decoding from "../Decoding.js"
import { InvalidRequest, ResponseDecodeFailed } from "../Errors.js"

const describe = (problems: ReadonlyArray<Decoding.Problem>, whole: string): string =>
  problems
    .slice(0, 3)
    .map((problem) => `${Decoding.formatPath(problem.path) || whole}: ${problem.message}`)
    .join("; ")

/**
 * Validates a request; unknown fields are kept (vendor extensions pass through).
 *
 * @internal
 */
export const request = <S extends Schema.ConstraintDecoder<unknown>>(
  schema: S,
  input: unknown,
  what: string
): Effect.Effect<S["Type"], InvalidRequest> => {
  const result = Decoding.decoder(schema)(input)
  return Result.isSuccess(result) ? Effect.succeed(result.success) : Effect.fail(invalidRequest(result.failure, what))
}

const invalidRequest = (problems: ReadonlyArray<Decoding.Problem>, what: string): InvalidRequest => {
  const first = problems[0]
  const path = first === undefined ? "" : Decoding.formatPath(first.path)
  const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : ""
  return new InvalidRequest({
    message: `invalid ${what} request: ${describe(problems, "(request)")}${more}`,
    ...(path === "" ? {} : { path })
  })
}

/**
 * Decodes a response body (JSON text) with a tolerant schema. Fields the schema does not know are kept on the
 * value (servers add fields all the time: `reasoning_content`, `timings`, `service_tier` …), so nothing the
 * server sent is lost; fields the schema marks optional may be missing.
 *
 * `fast`, when given, may decode the common shape itself; when it returns `undefined` the schema decides.
 *
 * @internal
 */
export const response = <S extends Schema.ConstraintDecoder<unknown>>(
  schema: S,
  text: string,
  meta: { readonly what: string; readonly status: number; readonly requestId: string | undefined },
  fast?: (json: unknown) => S["Type"] | undefined
): Effect.Effect<S["Type"], ResponseDecodeFailed> => {
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
  const decoded = Decoding.decoder(schema)(json)
  if (Result.isSuccess(decoded)) return Effect.succeed(decoded.success)
  return Effect.fail(fail(`response of ${meta.what} does not match its schema: ${describe(decoded.failure, "(body)")}`))
}
