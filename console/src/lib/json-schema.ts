/**
 * Helpers for forms generated from a destination's settings JSON Schema. Pure: defaults,
 * required-field checks and `$ref` resolution for the subset of JSON Schema the form renders.
 */
import type { JsonSchema } from '../api/types.js'

export function resolve(schema: JsonSchema, root: JsonSchema): JsonSchema {
  if (!schema.$ref) return schema
  const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(schema.$ref)
  if (!match) return schema
  const defs = match[1] === '$defs' ? root.$defs : root.definitions
  return defs?.[match[2]!] ?? schema
}

export function schemaType(schema: JsonSchema): string {
  if (schema.enum) return 'enum'
  if (Array.isArray(schema.type)) return schema.type.find((t) => t !== 'null') ?? 'string'
  if (schema.type) return schema.type
  if (schema.properties) return 'object'
  const options = schema.anyOf ?? schema.oneOf
  if (options) {
    const nonNull = options.find((o) => o.type !== 'null')
    if (nonNull) return schemaType(nonNull)
  }
  return 'unknown'
}

/** Initial form values: schema defaults, empty objects for nested objects. */
export function defaultsFor(schema: JsonSchema, root: JsonSchema = schema): unknown {
  const s = resolve(schema, root)
  if (s.default !== undefined) return structuredClone(s.default)
  if (s.const !== undefined) return s.const
  if (schemaType(s) === 'object' && s.properties) {
    const out: Record<string, unknown> = {}
    for (const [key, child] of Object.entries(s.properties)) {
      const value = defaultsFor(child, root)
      if (value !== undefined) out[key] = value
    }
    return out
  }
  return undefined
}

/** Paths ("a.b") of required fields left empty, so the form can say what is missing. */
export function missingRequired(
  schema: JsonSchema,
  value: unknown,
  root: JsonSchema = schema,
  prefix = '',
): string[] {
  const s = resolve(schema, root)
  if (schemaType(s) !== 'object' || !s.properties) return []
  const obj = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>
  const missing: string[] = []
  for (const [key, child] of Object.entries(s.properties)) {
    const path = prefix ? `${prefix}.${key}` : key
    const v = obj[key]
    const empty = v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)
    if (s.required?.includes(key) && empty) missing.push(path)
    else if (!empty) missing.push(...missingRequired(child, v, root, path))
  }
  return missing
}

export function labelFor(key: string, schema: JsonSchema): string {
  if (schema.title) return schema.title
  const spaced = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ')
  return spaced.charAt(0).toUpperCase() + spaced.slice(1)
}
