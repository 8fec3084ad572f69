/**
 * Small pure helpers of Telemetry. Not public.
 */

const literalSegments = new Set([
  "content",
  "cancel",
  "completions",
  "chat",
  "embeddings",
  "models",
  "files",
  "batches",
  "responses",
  "input_tokens"
])

/**
 * The endpoint a path belongs to, with identifiers replaced so metric tags stay low-cardinality:
 * `/files/file-abc/content` → `/files/{id}/content`, `/models/gpt-4o` → `/models/{id}`.
 */
export const endpointOf = (path: string): string => {
  const bare = path.split("?")[0] ?? path
  const segments = bare.split("/").filter((segment) => segment.length > 0)
  return `/${segments.map((segment, index) => (index === 0 || literalSegments.has(segment) ? segment : "{id}")).join("/")}`
}

/** The GenAI semantic-convention operation name of an endpoint, when it has one. */
export const operationOf = (path: string): string | undefined =>
  path.startsWith("/chat/completions") || path === "/responses"
    ? "chat"
    : path.startsWith("/embeddings")
      ? "embeddings"
      : undefined

/** Defence in depth: the client already scrubs keys from error bodies; telemetry never trusts that alone. */
export const scrubSecrets = (text: string): string =>
  text.replace(/\b(sk|sess|rk)-[A-Za-z0-9_*-]{6,}/g, "$1-[redacted]").replace(/Bearer\s+\S+/gi, "Bearer [redacted]")

/** Drops `undefined` values so logs, spans and JSON stay free of empty keys. */
export const defined = <A extends Record<string, unknown>>(record: A): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const key in record) if (record[key] !== undefined) out[key] = record[key]
  return out
}

/** {@link defined} for a record whose optional fields accept `undefined`: the same type, without those keys. */
export const compact = <A extends object>(record: A): A => {
  const out: Record<string, unknown> = {}
  for (const key in record) if (record[key] !== undefined) out[key] = record[key]
  return out as A
}
