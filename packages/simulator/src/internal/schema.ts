/**
 * A deterministic instance of a JSON Schema (the strict structured-outputs subset and a little more): objects with
 * every declared property, enums, consts, arrays within their bounds, numbers within theirs, strings of the right
 * format and length, `anyOf`/`oneOf`/type lists (nullable), and `$ref`s into `$defs`/`definitions`.
 */
import { fnv1a, words } from "./text.js"

type Schema = Record<string, unknown>

const isSchema = (u: unknown): u is Schema => typeof u === "object" && u !== null && !Array.isArray(u)

const mix = (h: number, salt: number): number => {
  let x = (h ^ salt) >>> 0
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b) >>> 0
  return (x ^ (x >>> 16)) >>> 0
}

const MAX_DEPTH = 6

interface Gen {
  readonly root: Schema
  readonly depth: number
}

const resolveRef = (g: Gen, ref: string): Schema => {
  const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref)
  if (ref === "#") return g.root
  const defs = m === null ? undefined : g.root[m[1]!]
  const target = isSchema(defs) ? defs[decodeURIComponent(m![2]!)] : undefined
  return isSchema(target) ? target : {}
}

const isNullSchema = (s: unknown): boolean => isSchema(s) && s["type"] === "null"

/** Picks one alternative; past the depth limit, `null` when allowed (so recursive schemas end). */
const pick = (g: Gen, options: ReadonlyArray<unknown>, h: number): unknown => {
  if (g.depth >= MAX_DEPTH) {
    const nullable = options.find(isNullSchema)
    if (nullable !== undefined) return nullable
  }
  return options[h % options.length]
}

const stringFor = (s: Schema, h: number): string => {
  switch (s["format"]) {
    case "date-time":
      return `2026-0${1 + (h % 9)}-1${h % 10}T12:00:00Z`
    case "date":
      return `2026-0${1 + (h % 9)}-1${h % 10}`
    case "time":
      return "12:00:00"
    case "email":
      return `user${h % 1000}@example.com`
    case "uuid":
      return [8, 4, 4, 4, 12].map((n, i) => mix(h, i).toString(16).padStart(n, "0").slice(0, n)).join("-")
    case "uri":
      return `https://example.com/${h % 1000}`
    case "ipv4":
      return `10.0.${h % 256}.${(h >>> 8) % 256}`
  }
  const min = typeof s["minLength"] === "number" ? s["minLength"] : 0
  const max = typeof s["maxLength"] === "number" ? s["maxLength"] : Number.POSITIVE_INFINITY
  let text = words(h, 2 + (h % 4))
  while (text.length < min) text += ` ${words(mix(h, text.length), 3)}`
  return [...text].slice(0, Math.max(min, Math.min(max, [...text].length))).join("")
}

const numberFor = (s: Schema, h: number, integer: boolean): number => {
  const lo =
    typeof s["minimum"] === "number"
      ? s["minimum"]
      : typeof s["exclusiveMinimum"] === "number"
        ? s["exclusiveMinimum"] + (integer ? 1 : 0.5)
        : 0
  const hi =
    typeof s["maximum"] === "number"
      ? s["maximum"]
      : typeof s["exclusiveMaximum"] === "number"
        ? s["exclusiveMaximum"] - (integer ? 1 : 0.5)
        : Math.max(lo, 0) + 100
  const step = typeof s["multipleOf"] === "number" && s["multipleOf"] > 0 ? s["multipleOf"] : integer ? 1 : 0.25
  const first = Math.ceil(lo / step) * step
  const count = Math.max(1, Math.floor((hi - first) / step) + 1)
  const v = first + (h % count) * step
  return integer ? Math.round(v) : Number(v.toFixed(6))
}

const arrayFor = (g: Gen, s: Schema, h: number): Array<unknown> => {
  const min = typeof s["minItems"] === "number" ? s["minItems"] : 0
  const max = typeof s["maxItems"] === "number" ? s["maxItems"] : min + 3
  const top = g.depth >= MAX_DEPTH ? min : Math.min(max, min + 3)
  const n = min + (h % (top - min + 1))
  const prefix = Array.isArray(s["prefixItems"]) ? s["prefixItems"] : []
  const out: Array<unknown> = []
  for (let i = 0; i < Math.max(n, prefix.length); i++)
    out.push(valueAt(g, prefix[i] ?? s["items"] ?? {}, mix(h, i + 1)))
  return out
}

const objectFor = (g: Gen, s: Schema, h: number): Record<string, unknown> => {
  const props = isSchema(s["properties"]) ? s["properties"] : {}
  const out: Record<string, unknown> = {}
  for (const [name, sub] of Object.entries(props)) out[name] = valueAt(g, sub, fnv1a(name, h))
  return out
}

const byType = (g: Gen, s: Schema, type: unknown, h: number): unknown => {
  switch (type) {
    case "null":
      return null
    case "boolean":
      return h % 2 === 0
    case "integer":
      return numberFor(s, h, true)
    case "number":
      return numberFor(s, h, false)
    case "string":
      return stringFor(s, h)
    case "array":
      return arrayFor(g, s, h)
    case "object":
      return objectFor(g, s, h)
    default:
      return isSchema(s["properties"])
        ? objectFor(g, s, h)
        : s["items"] !== undefined
          ? arrayFor(g, s, h)
          : stringFor(s, h)
  }
}

const valueAt = (parent: Gen, schema: unknown, h: number): unknown => {
  const g: Gen = { root: parent.root, depth: parent.depth + 1 }
  if (schema === true || !isSchema(schema)) return words(h, 2)
  if (typeof schema["$ref"] === "string") return valueAt(parent, resolveRef(g, schema["$ref"]), h)
  if ("const" in schema) return schema["const"]
  if (Array.isArray(schema["enum"]) && schema["enum"].length > 0) return schema["enum"][h % schema["enum"].length]
  const union = Array.isArray(schema["anyOf"])
    ? schema["anyOf"]
    : Array.isArray(schema["oneOf"])
      ? schema["oneOf"]
      : undefined
  if (union !== undefined && union.length > 0) return valueAt(parent, pick(g, union, h), mix(h, 7))
  const type = schema["type"]
  if (Array.isArray(type) && type.length > 0) {
    const chosen = g.depth >= MAX_DEPTH && type.includes("null") ? "null" : type[h % type.length]
    return byType(g, schema, chosen, mix(h, 11))
  }
  return byType(g, schema, type, h)
}

/** A value valid for `schema`, the same for the same (schema, hash). */
export const valueFor = (schema: unknown, hash: number): unknown => {
  const root = isSchema(schema) ? schema : {}
  return valueAt({ root, depth: -1 }, root, hash)
}
