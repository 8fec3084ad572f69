/**
 * Validation of Batch API input lines: every problem of every line, before anything is sent.
 *
 * @internal
 */
import { ChatCompletions, Decoding, Embeddings, Responses } from "@sluice/core"
import * as Result from "effect/Result"

/** @internal */
export const endpoints = ["/v1/chat/completions", "/v1/embeddings", "/v1/responses"] as const

/** @internal */
export type Endpoint = (typeof endpoints)[number]

/** @internal */
export interface Problem {
  /** 1-based line number in the input (0 for the input as a whole). */
  readonly line: number
  readonly field: string
  readonly problem: string
  /** The offending value, shortened, when there is one. */
  readonly value?: string | undefined
}

/** @internal */
export interface Parsed {
  readonly line: number
  readonly customId: string
  readonly url: Endpoint
  readonly body: Record<string, unknown>
  /** The input line as given (trimmed), for uploading to the server-side Batch API. */
  readonly raw: string
}

// Core's tolerant decoders: compiled once, and a failure lists every problem of the line, not only the first.
const decoders: Record<Endpoint, Decoding.Decoder<unknown>> = {
  "/v1/chat/completions": Decoding.decoder(ChatCompletions.Request),
  "/v1/embeddings": Decoding.decoder(Embeddings.Request),
  "/v1/responses": Decoding.decoder(Responses.Request)
}

const show = (value: unknown): string => {
  let text: string
  try {
    text = typeof value === "string" ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value))
  } catch {
    text = String(value)
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((out, key) => (typeof key === "number" ? `${out}[${key}]` : `${out}.${String(key)}`), "body")

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const maxIssuesPerLine = 5

type Add = (field: string, problem: string, value?: unknown) => void

/** A well-formed custom_id, or a problem with it (`idProblem` may name one: a duplicate, a changed line). */
const checkCustomId = (
  customId: unknown,
  line: number,
  problem: Add,
  idProblem: (customId: string, line: number) => string | undefined
) => {
  if (customId === undefined) return problem("custom_id", "missing")
  if (typeof customId !== "string" || customId.length === 0) {
    return problem("custom_id", "must be a non-empty string", customId)
  }
  const message = idProblem(customId, line)
  if (message !== undefined) problem("custom_id", message, customId)
}

/** `method` is `"POST"` and `url` one of the endpoints; returns whether the url is known. */
const checkRoute = (json: Record<string, unknown>, problem: Add): boolean => {
  const method = json["method"]
  if (method === undefined) problem("method", 'missing (must be "POST")')
  else if (method !== "POST") problem("method", 'must be "POST"', method)
  const url = json["url"]
  const knownUrl = typeof url === "string" && (endpoints as ReadonlyArray<string>).includes(url)
  if (url === undefined) problem("url", `missing (one of ${endpoints.join(", ")})`)
  else if (!knownUrl) problem("url", `unknown endpoint (expected one of ${endpoints.join(", ")})`, url)
  return knownUrl
}

/** The body is an object that the endpoint's decoder accepts, and does not ask for a stream. */
const checkBody = (body: unknown, url: Endpoint | undefined, problem: Add) => {
  if (body === undefined) return problem("body", "missing")
  if (!isRecord(body)) return problem("body", "must be a JSON object", body)
  if (url === undefined) return
  const decoded = decoders[url](body)
  if (Result.isFailure(decoded)) {
    const issues = decoded.failure
    for (const issue of issues.slice(0, maxIssuesPerLine)) problem(formatPath(issue.path), issue.message)
    if (issues.length > maxIssuesPerLine) problem("body", `and ${issues.length - maxIssuesPerLine} more problems`)
  }
  if (body["stream"] === true) problem("body.stream", "streaming is not supported in a batch", true)
}

/** The line as a JSON object, or `undefined` after adding why it is not one. */
const parseObject = (raw: string, add: Add): Record<string, unknown> | undefined => {
  let json: unknown
  try {
    json = JSON.parse(raw)
  } catch (error) {
    add("(line)", `not valid JSON (${(error as Error).message})`)
    return undefined
  }
  if (isRecord(json)) return json
  add("(line)", "must be a JSON object {custom_id, method, url, body}", json)
  return undefined
}

/**
 * Checks one line, adding its problems with `add`; returns the request when the line has none. `idProblem` is asked
 * about a well-formed custom_id (a duplicate, or a line that changed between two passes) and may name a problem.
 */
const checkLine = (
  text: string,
  line: number,
  add: Add,
  idProblem: (customId: string, line: number) => string | undefined
): Parsed | undefined => {
  const raw = text.trim()
  const json = parseObject(raw, add)
  if (json === undefined) return undefined
  let bad = false
  const problem: Add = (field, message, value) => {
    bad = true
    add(field, message, value)
  }
  checkCustomId(json["custom_id"], line, problem, idProblem)
  const url = checkRoute(json, problem) ? (json["url"] as Endpoint) : undefined
  checkBody(json["body"], url, problem)
  if (bad || url === undefined) return undefined
  return { line, customId: json["custom_id"] as string, url, body: json["body"] as Record<string, unknown>, raw }
}

/**
 * The first pass over an input, line by line: every problem, and the first line of every custom_id (duplicates are
 * problems). It keeps no request, so an input of any size is checked in memory proportional to its ids.
 *
 * @internal
 */
export interface Scan {
  /** Checks the next piece of input (one line, or several separated by LF or CRLF). */
  readonly feed: (text: string) => void
  /** Every problem so far, in line order (the empty input is one, once `finish` ran). */
  readonly problems: Array<Problem>
  /** custom_id → the line it is on. */
  readonly ids: Map<string, number>
  /** Non-blank lines so far. */
  readonly total: () => number
  /** Ends the input; adds the empty-input problem when it had no request. */
  readonly finish: () => void
}

const splitInto = (text: string, each: (line: string) => void) => {
  if (text.indexOf("\n") === -1) each(text)
  else for (const line of text.split(/\r?\n/)) each(line)
}

/** @internal */
export const scan = (): Scan => {
  const problems: Array<Problem> = []
  const ids = new Map<string, number>()
  let line = 0
  let total = 0
  const idProblem = (customId: string, at: number) => {
    const first = ids.get(customId)
    if (first !== undefined) return `duplicate (first used on line ${first})`
    ids.set(customId, at)
    return undefined
  }
  const one = (text: string) => {
    line++
    if (text.trim().length === 0) return
    total++
    const at = line
    checkLine(text, at, (field, problem, value) => problems.push(problemAt(at, field, problem, value)), idProblem)
  }
  return {
    feed: (text) => splitInto(text, one),
    problems,
    ids,
    total: () => total,
    finish: () => {
      if (total === 0) problems.push({ line: 0, field: "(input)", problem: "the input has no requests" })
    }
  }
}

/**
 * The second pass: the same input again, each line checked as in the first and parsed for sending. A line that
 * differs from the first pass (a problem now, or a custom_id not on the line the first pass saw it on) is reported
 * through `changed`: the input changed between the passes.
 *
 * @internal
 */
export const reader = (
  ids: ReadonlyMap<string, number>
): {
  readonly feed: (text: string, each: (request: Parsed) => void) => Problem | undefined
} => {
  let line = 0
  const idProblem = (customId: string, at: number) =>
    ids.get(customId) === at ? undefined : "not on the line the first pass saw it on (the input changed)"
  return {
    feed: (text, each) => {
      let first: Problem | undefined
      splitInto(text, (piece) => {
        line++
        if (first !== undefined || piece.trim().length === 0) return
        const at = line
        const parsed = checkLine(
          piece,
          at,
          (field, problem, value) => {
            first ??= problemAt(at, field, problem, value)
          },
          idProblem
        )
        if (parsed !== undefined) each(parsed)
      })
      return first
    }
  }
}

const problemAt = (line: number, field: string, problem: string, value?: unknown): Problem => ({
  line,
  field,
  problem,
  ...(value === undefined ? {} : { value: show(value) })
})

/**
 * Checks every line; returns the valid requests and every problem found (both complete: a caller sends nothing
 * unless `problems` is empty). Blank lines are ignored but still counted in line numbers.
 *
 * @internal
 */
export const validate = (
  lines: ReadonlyArray<string>
): { readonly requests: Array<Parsed>; readonly problems: Array<Problem>; readonly total: number } => {
  const requests: Array<Parsed> = []
  const problems: Array<Problem> = []
  const firstLineOf = new Map<string, number>()
  let total = 0
  const idProblem = (customId: string, at: number) => {
    const first = firstLineOf.get(customId)
    if (first !== undefined) return `duplicate (first used on line ${first})`
    firstLineOf.set(customId, at)
    return undefined
  }
  lines.forEach((text, index) => {
    const line = index + 1
    if (text.trim().length === 0) return
    total++
    const parsed = checkLine(
      text,
      line,
      (field, problem, value) => problems.push(problemAt(line, field, problem, value)),
      idProblem
    )
    if (parsed !== undefined) requests.push(parsed)
  })
  if (total === 0) problems.push({ line: 0, field: "(input)", problem: "the input has no requests" })
  return { requests, problems, total }
}
