/**
 * Strict mode's check of a JSON Schema (structured outputs and strict function tools), as OpenAI answers it: every
 * object must set `additionalProperties: false` and list every property in `required`. The first problem is
 * reported with the path of the schema node as a Python tuple, the way OpenAI's messages do: `In context=(), …`,
 * `In context=('properties', 'customer'), …`.
 */
type Schema = Record<string, unknown>

const isSchema = (u: unknown): u is Schema => typeof u === "object" && u !== null && !Array.isArray(u)

const context = (path: ReadonlyArray<string>): string =>
  path.length === 0 ? "()" : path.length === 1 ? `('${path[0]}',)` : `(${path.map((p) => `'${p}'`).join(", ")})`

const isObjectSchema = (s: Schema): boolean =>
  s["type"] === "object" || (Array.isArray(s["type"]) && s["type"].includes("object")) || isSchema(s["properties"])

const objectProblem = (s: Schema, path: ReadonlyArray<string>): string | undefined => {
  if (s["additionalProperties"] !== false) {
    return `In context=${context(path)}, 'additionalProperties' is required to be supplied and to be false.`
  }
  const keys = Object.keys(isSchema(s["properties"]) ? s["properties"] : {})
  const required = Array.isArray(s["required"]) ? s["required"] : undefined
  const missing = keys.find((k) => required === undefined || !required.includes(k))
  if (missing !== undefined) {
    return (
      `In context=${context(path)}, 'required' is required to be supplied and to be an array including every key ` +
      `in properties. Missing '${missing}'.`
    )
  }
  return undefined
}

/** The sub-schemas to check next, with their paths. */
const children = (s: Schema, path: ReadonlyArray<string>): Array<[unknown, ReadonlyArray<string>]> => {
  const out: Array<[unknown, ReadonlyArray<string>]> = []
  for (const key of ["properties", "$defs", "definitions"]) {
    const map = s[key]
    if (isSchema(map)) for (const [name, sub] of Object.entries(map)) out.push([sub, [...path, key, name]])
  }
  if (s["items"] !== undefined) out.push([s["items"], [...path, "items"]])
  for (const key of ["anyOf", "oneOf", "prefixItems"]) {
    const list = s[key]
    if (!Array.isArray(list)) continue
    list.forEach((sub, i) => {
      out.push([sub, [...path, key, String(i)]])
    })
  }
  return out
}

/** The first strict-mode problem of `schema`, or undefined when strict mode accepts it. */
export const strictProblem = (schema: unknown, path: ReadonlyArray<string> = []): string | undefined => {
  if (!isSchema(schema)) return undefined
  if (isObjectSchema(schema)) {
    const problem = objectProblem(schema, path)
    if (problem !== undefined) return problem
  }
  for (const [sub, at] of children(schema, path)) {
    const problem = strictProblem(sub, at)
    if (problem !== undefined) return problem
  }
  return undefined
}
