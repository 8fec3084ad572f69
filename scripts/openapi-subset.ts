/**
 * Derives the OpenAI OpenAPI subset that the contract tests serve with steady
 * (packages/core/test/fixtures/openai-openapi.subset.yaml) from the full public spec beside the clone
 * (../shared/openai-openapi/openapi.yaml): the operations Sluice's contract tests call and every component they
 * reference, transitively, with the prose (description, summary, examples, x-oai* documentation metadata) stripped.
 *
 *   npm run spec:subset          regenerate the committed file from the full spec
 *   npm run spec:subset -- --check   fail if the committed file differs from what the full spec gives (CI runs this)
 *
 * The output is deterministic (spec order, no dates), so --check compares bytes.
 */
import * as Fs from "node:fs"
import { fileURLToPath } from "node:url"
import * as Yaml from "yaml"

const root = fileURLToPath(new URL("../", import.meta.url))
export const fullSpecPath = `${root}../shared/openai-openapi/openapi.yaml`
export const subsetPath = `${root}packages/core/test/fixtures/openai-openapi.subset.yaml`

/** The source this subset is derived from; checked against the full spec's info.version. */
const source = {
  repository: "openai/openai-openapi",
  commit: "f85dbe223d40e1a31cba812ab2d755c7e98a92a3",
  version: "2.3.0",
  licence: "MIT"
}

/** The operations the contract tests (packages/core/test/Contract.test.ts) call. */
const operations: Record<string, ReadonlyArray<string>> = {
  "/chat/completions": ["post"],
  "/embeddings": ["post"],
  "/models": ["get"],
  "/models/{model}": ["get"],
  "/files": ["get", "post"],
  "/files/{file_id}": ["get", "delete"],
  "/files/{file_id}/content": ["get"],
  "/batches": ["get", "post"],
  "/batches/{batch_id}": ["get"],
  "/batches/{batch_id}/cancel": ["post"],
  "/responses": ["post"],
  "/responses/{response_id}": ["get", "delete"],
  "/responses/{response_id}/cancel": ["post"],
  "/responses/input_tokens": ["post"]
}

type Json = null | boolean | number | string | Array<Json> | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Documentation only: validation and generation never read these. */
const proseKeys = new Set(["description", "summary", "example", "examples", "externalDocs"])
const prose = (key: string) => proseKeys.has(key) || key.startsWith("x-oai")

/** Objects whose keys are names chosen by the spec (a property may be called `description`), not keywords. */
const nameMaps = new Set(["properties", "patternProperties", "$defs", "definitions", "mapping"])

/** Values that are data, not schema: copied as they are. */
const data = new Set(["enum", "const", "default"])

const strip = (value: Json, parentKey?: string): Json => {
  if (Array.isArray(value)) return value.map((item) => strip(item))
  if (!isObject(value)) return value
  const names = parentKey !== undefined && nameMaps.has(parentKey)
  const out: JsonObject = {}
  for (const [key, child] of Object.entries(value)) {
    if (!names && prose(key)) continue
    out[key] = !names && data.has(key) ? child : strip(child, names ? undefined : key)
  }
  return out
}

/** Every `#/components/<kind>/<name>` this value points to ($ref, and discriminator mappings). */
const refsOf = (value: Json, found: Set<string>): Set<string> => {
  if (Array.isArray(value)) for (const item of value) refsOf(item, found)
  else if (isObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      if (key === "$ref" && typeof child === "string") found.add(child)
      else if (key === "mapping" && isObject(child)) {
        for (const target of Object.values(child)) if (typeof target === "string") found.add(target)
      } else refsOf(child, found)
    }
  }
  return found
}

const pointer = (ref: string): [string, string] => {
  const match = /^#\/components\/([^/]+)\/([^/]+)$/.exec(ref)
  if (match === null) throw new Error(`unsupported $ref ${ref}: only #/components/<kind>/<name> is handled`)
  return [match[1]!, match[2]!.replace(/~1/g, "/").replace(/~0/g, "~")]
}

/** The subset as YAML text, header included. */
export const subset = (fullSpecText: string): string => {
  const spec = Yaml.parse(fullSpecText, { maxAliasCount: -1 }) as JsonObject
  const info = spec["info"] as JsonObject
  if (info["version"] !== source.version) {
    throw new Error(`the full spec is info.version ${String(info["version"])}, this script expects ${source.version}`)
  }
  const allPaths = spec["paths"] as JsonObject
  const components = spec["components"] as Record<string, JsonObject>

  const paths: JsonObject = {}
  for (const [path, methods] of Object.entries(operations)) {
    const item = allPaths[path]
    if (!isObject(item)) throw new Error(`path ${path} is not in the full spec`)
    const kept: JsonObject = {}
    if (item["parameters"] !== undefined) kept["parameters"] = item["parameters"]
    for (const method of methods) {
      if (item[method] === undefined) throw new Error(`${method.toUpperCase()} ${path} is not in the full spec`)
      kept[method] = item[method]!
    }
    paths[path] = strip(kept)
  }

  // Close over references: each component kept is stripped, then its own references are followed.
  const kept = new Map<string, Json>()
  const pending = [...refsOf(paths, new Set())]
  while (pending.length > 0) {
    const ref = pending.pop()!
    if (kept.has(ref)) continue
    const [kind, name] = pointer(ref)
    const target = components[kind]?.[name]
    if (target === undefined) throw new Error(`${ref} does not resolve in the full spec`)
    const stripped = strip(target)
    kept.set(ref, stripped)
    for (const next of refsOf(stripped, new Set())) if (!kept.has(next)) pending.push(next)
  }

  // Components in the full spec's order, so the output does not depend on the walk.
  const outComponents: Record<string, JsonObject> = {}
  for (const [kind, entries] of Object.entries(components)) {
    for (const name of Object.keys(entries)) {
      const ref = `#/components/${kind}/${name.replace(/~/g, "~0").replace(/\//g, "~1")}`
      if (!kept.has(ref)) continue
      outComponents[kind] ??= {}
      outComponents[kind][name] = kept.get(ref)!
    }
  }
  if (isObject(components["securitySchemes"] as Json)) {
    outComponents["securitySchemes"] = strip(components["securitySchemes"]!) as JsonObject
  }

  const document: JsonObject = {
    openapi: spec["openapi"]!,
    info: { title: info["title"]!, version: info["version"]!, license: info["license"]! },
    servers: spec["servers"]!,
    security: spec["security"]!,
    paths,
    components: outComponents
  }
  const header = [
    "# A subset of the OpenAI OpenAPI specification, for Sluice's contract tests (steady serves it).",
    `# Source: github.com/${source.repository} at commit ${source.commit} (info.version ${source.version}),`,
    `# ${source.licence} licence. Derived by scripts/openapi-subset.ts: only the operations the contract tests call and the`,
    "# components they reference; every description, summary, example and x-oai* field is stripped.",
    "# Do not edit: regenerate with `npm run spec:subset` (needs the full spec, shared/openai-openapi/openapi.yaml, in the folder beside the clone).",
    ""
  ].join("\n")
  return header + Yaml.stringify(document, { lineWidth: 0, aliasDuplicateObjects: false })
}

const main = () => {
  const check = process.argv.includes("--check")
  if (!Fs.existsSync(fullSpecPath)) {
    process.stderr.write(
      `openapi-subset: the full spec is not at ${fullSpecPath}; it is the public openai/openai-openapi openapi.yaml (commit ${source.commit}) placed beside the clone\n`
    )
    process.exit(2)
  }
  const text = subset(Fs.readFileSync(fullSpecPath, "utf8"))
  if (check) {
    const committed = Fs.existsSync(subsetPath) ? Fs.readFileSync(subsetPath, "utf8") : ""
    if (committed !== text) {
      process.stderr.write(
        `openapi-subset: ${subsetPath} is not what the full spec gives: run \`npm run spec:subset\`\n`
      )
      process.exit(1)
    }
    process.stdout.write(`openapi-subset: ${subsetPath} is up to date (${text.length} bytes)\n`)
  } else {
    Fs.writeFileSync(subsetPath, text)
    process.stdout.write(`openapi-subset: wrote ${subsetPath} (${text.length} bytes)\n`)
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === Fs.realpathSync(process.argv[1])) main()
