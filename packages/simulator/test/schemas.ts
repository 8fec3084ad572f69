import { Ajv } from "ajv"

/** A real JSON Schema validator for the answers (draft 2020-12 subset Ajv supports by default is enough here). */
export const ajv = new Ajv({ strict: false, allErrors: true })

/** A strict-mode-style schema with every feature the generator claims: nested objects, enums, arrays, nullable, $defs. */
export const orderSchema = {
  type: "object",
  additionalProperties: false,
  required: ["id", "status", "total", "items", "note", "customer", "tags", "rush"],
  properties: {
    id: { type: "string", format: "uuid" },
    status: { type: "string", enum: ["new", "paid", "shipped"] },
    total: { type: "number", minimum: 0, maximum: 10_000 },
    items: {
      type: "array",
      minItems: 1,
      maxItems: 4,
      items: { $ref: "#/$defs/item" }
    },
    note: { anyOf: [{ type: "string", maxLength: 40 }, { type: "null" }] },
    customer: {
      type: "object",
      additionalProperties: false,
      required: ["email", "since"],
      properties: { email: { type: "string", format: "email" }, since: { type: "string", format: "date" } }
    },
    tags: { type: "array", items: { type: "string", minLength: 3 }, maxItems: 2 },
    rush: { type: ["boolean", "null"] }
  },
  $defs: {
    item: {
      type: "object",
      additionalProperties: false,
      required: ["sku", "qty", "kind"],
      properties: {
        sku: { type: "string" },
        qty: { type: "integer", minimum: 1, maximum: 9 },
        kind: { const: "line" }
      }
    }
  }
}

/** A recursive schema (a tree), which the generator must end. */
export const treeSchema = {
  $ref: "#/$defs/node",
  $defs: {
    node: {
      type: "object",
      required: ["name", "children"],
      properties: {
        name: { type: "string" },
        children: { anyOf: [{ type: "array", items: { $ref: "#/$defs/node" } }, { type: "null" }] }
      }
    }
  }
}

export const weatherTool = {
  name: "get_weather",
  parameters: {
    type: "object",
    required: ["city", "unit", "days"],
    additionalProperties: false,
    properties: {
      city: { type: "string" },
      unit: { type: "string", enum: ["c", "f"] },
      days: { type: "integer", minimum: 1, maximum: 7 }
    }
  }
}

export const searchTool = {
  name: "search",
  parameters: {
    type: "object",
    required: ["query", "limit"],
    additionalProperties: false,
    properties: { query: { type: "string", minLength: 1 }, limit: { type: ["integer", "null"], minimum: 1 } }
  }
}
