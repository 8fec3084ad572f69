/**
 * Validation of Batch API input lines: every problem of every line, before anything is sent.
 *
 * @internal
 */
import { ChatCompletions, Decoding, Embeddings } from "@sluice/core"
import { Result } from "effect"

/** @internal */
export const endpoints = ["/v1/chat/completions", "/v1/embeddings"] as const

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
  "/v1/embeddings": Decoding.decoder(Embeddings.Request)
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
  lines.forEach((text, index) => {
    const line = index + 1
    const raw = text.trim()
    if (raw.length === 0) return
    total++
    const add = (field: string, problem: string, value?: unknown) =>
      problems.push({ line, field, problem, ...(value === undefined ? {} : { value: show(value) }) })
    let json: unknown
    try {
      json = JSON.parse(raw)
    } catch (error) {
      add("(line)", `not valid JSON (${(error as Error).message})`)
      return
    }
    if (!isRecord(json)) {
      add("(line)", "must be a JSON object {custom_id, method, url, body}", json)
      return
    }
    const before = problems.length
    const customId = json["custom_id"]
    if (customId === undefined) add("custom_id", "missing")
    else if (typeof customId !== "string" || customId.length === 0)
      add("custom_id", "must be a non-empty string", customId)
    else {
      const first = firstLineOf.get(customId)
      if (first !== undefined) add("custom_id", `duplicate (first used on line ${first})`, customId)
      else firstLineOf.set(customId, line)
    }
    const method = json["method"]
    if (method === undefined) add("method", 'missing (must be "POST")')
    else if (method !== "POST") add("method", 'must be "POST"', method)
    const url = json["url"]
    const knownUrl = typeof url === "string" && (endpoints as ReadonlyArray<string>).includes(url)
    if (url === undefined) add("url", `missing (one of ${endpoints.join(", ")})`)
    else if (!knownUrl) add("url", `unknown endpoint (expected one of ${endpoints.join(", ")})`, url)
    const body = json["body"]
    if (body === undefined) add("body", "missing")
    else if (!isRecord(body)) add("body", "must be a JSON object", body)
    else if (knownUrl) {
      const decoded = decoders[url as Endpoint](body)
      if (Result.isFailure(decoded)) {
        const issues = decoded.failure
        for (const issue of issues.slice(0, maxIssuesPerLine)) add(formatPath(issue.path), issue.message)
        if (issues.length > maxIssuesPerLine) add("body", `and ${issues.length - maxIssuesPerLine} more problems`)
      }
      if (body["stream"] === true) add("body.stream", "streaming is not supported in a batch", true)
    }
    if (problems.length === before) {
      requests.push({
        line,
        customId: customId as string,
        url: url as Endpoint,
        body: body as Record<string, unknown>,
        raw
      })
    }
  })
  if (total === 0) problems.push({ line: 0, field: "(input)", problem: "the input has no requests" })
  return { requests, problems, total }
}
