/**
 * Derives the JSON Schemas the simulator's conformance test (test/Spec.test.ts) validates its answers against,
 * from the public OpenAI spec beside the clone (../shared/openai-openapi/openapi.yaml): the Response object, every
 * Responses stream event, chat completions and chunks, embeddings, input token counts and the error body, with
 * every component they reference, prose stripped, and OpenAPI's `nullable: true` turned into a `null` type.
 *
 *   npx --no-install tsx packages/simulator/scripts/spec-schemas.ts           regenerate test/fixtures/openai-schemas.json
 *   npx --no-install tsx packages/simulator/scripts/spec-schemas.ts --check   fail if the committed file differs
 */
import * as Fs from "node:fs"
import { fileURLToPath } from "node:url"
import * as Yaml from "yaml"

type Json = null | boolean | number | string | Array<Json> | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

const root = fileURLToPath(new URL("../../../", import.meta.url))
const fullSpecPath = `${root}../shared/openai-openapi/openapi.yaml`
const outPath = fileURLToPath(new URL("../test/fixtures/openai-schemas.json", import.meta.url))

const roots = [
  "Response",
  "ResponseStreamEvent",
  "TokenCountsResource",
  "CreateChatCompletionResponse",
  "CreateChatCompletionStreamResponse",
  "CreateEmbeddingResponse",
  "ErrorResponse"
]

const isObject = (v: Json | undefined): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v)
const nameMaps = new Set(["properties", "patternProperties", "$defs", "definitions"])
const dropped = (key: string) =>
  ["description", "summary", "title", "example", "examples", "externalDocs", "discriminator", "deprecated"].includes(
    key
  ) || key.startsWith("x-")

/** Prose and OpenAPI-only keywords out; `nullable: true` → a `null` type (or a `null` enum value). */
const clean = (value: Json, names = false): Json => {
  if (Array.isArray(value)) return value.map((v) => clean(v))
  if (!isObject(value)) return value
  const out: JsonObject = {}
  for (const [key, child] of Object.entries(value)) {
    if (names) out[key] = clean(child)
    else if (key === "nullable" || dropped(key)) continue
    else out[key] = key === "enum" || key === "const" || key === "default" ? child : clean(child, nameMaps.has(key))
  }
  if (!names && value["nullable"] === true) {
    if (typeof out["type"] === "string") out["type"] = [out["type"], "null"]
    if (Array.isArray(out["enum"])) out["enum"] = [...out["enum"], null]
  }
  return out
}

const refs = (value: Json, found: Set<string>): Set<string> => {
  if (Array.isArray(value)) for (const v of value) refs(v, found)
  else if (isObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      if (key === "$ref" && typeof child === "string") found.add(child.replace("#/components/schemas/", ""))
      else refs(child, found)
    }
  }
  return found
}

export const derive = (specText: string): string => {
  const spec = Yaml.parse(specText, { maxAliasCount: -1 }) as JsonObject
  const all = (spec["components"] as JsonObject)["schemas"] as JsonObject
  const kept = new Map<string, Json>()
  const pending = [...roots]
  while (pending.length > 0) {
    const name = pending.pop()!
    if (kept.has(name)) continue
    if (all[name] === undefined) throw new Error(`#/components/schemas/${name} is not in the spec`)
    const schema = clean(all[name]!)
    kept.set(name, schema)
    for (const next of refs(schema, new Set())) if (!kept.has(next)) pending.push(next)
  }
  const schemas: JsonObject = {}
  for (const name of Object.keys(all)) if (kept.has(name)) schemas[name] = kept.get(name)!
  const info = spec["info"] as JsonObject
  return `${JSON.stringify({ source: `openai/openai-openapi ${String(info["version"])}`, components: { schemas } })}\n`
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = derive(Fs.readFileSync(fullSpecPath, "utf8"))
  if (process.argv.includes("--check")) {
    if (Fs.readFileSync(outPath, "utf8") !== text) throw new Error(`${outPath} is stale: regenerate it`)
  } else Fs.writeFileSync(outPath, text)
}
