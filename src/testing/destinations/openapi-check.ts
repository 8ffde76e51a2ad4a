/**
 * A small OpenAPI 3.0 request checker for connector tests: does a request a transform built
 * match an operation of the vendor's published spec? It finds the operation by server, path
 * template and method, then checks path, query and header parameters (declared, required,
 * valid against their schema), the security scheme's header, the content type, and the JSON
 * body against the operation's requestBody schema (Ajv). `strict` also refuses body fields the
 * spec does not define (objects with `properties` and no `additionalProperties` are closed),
 * which catches a misspelt attribute that the vendor would ignore. Tests only.
 */
import { Ajv, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'

interface Parameter {
  name: string
  in: 'path' | 'query' | 'header' | 'cookie'
  required?: boolean
  schema?: Record<string, unknown>
  explode?: boolean
}

interface Operation {
  operationId?: string
  parameters?: Parameter[]
  requestBody?: { required?: boolean; content: Record<string, { schema: unknown }> }
  security?: Record<string, string[]>[]
}

export interface OpenApiDoc {
  servers: { url: string }[]
  paths: Record<string, Record<string, Operation>>
  components?: {
    schemas?: Record<string, unknown>
    securitySchemes?: Record<string, { type: string; in?: string; name?: string }>
  }
  security?: Record<string, string[]>[]
}

export interface CheckedRequest {
  method: string
  url: string
  headers: Record<string, string>
  body: string | null
}

export interface CheckResult {
  operationId: string | undefined
  problems: string[]
}

/** A copy of a schema in which every object with `properties` is closed to other fields. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed)
  if (typeof schema !== 'object' || schema === null) return schema
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(schema)) out[k] = closed(v)
  if ('properties' in out && !('additionalProperties' in out)) out.additionalProperties = false
  return out
}

/**
 * OpenAPI 3.0's `nullable` as JSON Schema (Ajv refuses `nullable` next to a `$ref` or `oneOf`):
 * `type: [t, 'null']`, or `anyOf: [schema, {type: 'null'}]` when there is no type.
 */
function jsonSchemaOf(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(jsonSchemaOf)
  if (typeof schema !== 'object' || schema === null) return schema
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(schema)) out[k] = jsonSchemaOf(v)
  if (out.nullable !== true) return out
  delete out.nullable
  if (typeof out.type === 'string') return { ...out, type: [out.type, 'null'] }
  return { anyOf: [out, { type: 'null' }] }
}

function templateRegex(template: string): RegExp {
  const parts = template
    .split(/(\{[^}]+\})/)
    .map((p) => (p.startsWith('{') ? '([^/]+)' : p.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
  return new RegExp(`^${parts.join('')}$`)
}

/** A checker bound to one spec (schemas compiled once). */
export function openApiChecker(doc: OpenApiDoc, options: { strict?: boolean } = {}) {
  const ajv = new Ajv({ strict: false, allErrors: true })
  addFormats.default(ajv)
  const schemas = jsonSchemaOf(doc.components?.schemas ?? {})
  const components = (options.strict ? closed(schemas) : schemas) as Record<string, unknown>
  const compiled = new Map<unknown, ValidateFunction>()
  const validator = (schema: unknown): ValidateFunction => {
    let v = compiled.get(schema)
    if (!v) {
      v = ajv.compile({
        ...((options.strict ? closed(jsonSchemaOf(schema)) : jsonSchemaOf(schema)) as object),
        components: { schemas: components },
      })
      compiled.set(schema, v)
    }
    return v
  }
  const errorsOf = (v: ValidateFunction) =>
    (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`.trim())

  return function check(req: CheckedRequest): CheckResult {
    const problems: string[] = []
    const url = new URL(req.url)
    const server = doc.servers.find((s) => req.url.startsWith(s.url.replace(/\/+$/, '')))
    if (!server)
      return { operationId: undefined, problems: [`no server of the spec for ${url.origin}`] }
    const base = new URL(server.url).pathname.replace(/\/+$/, '')
    const path = url.pathname.slice(base.length)
    const match = Object.keys(doc.paths).find((t) => templateRegex(t).test(path))
    if (!match) return { operationId: undefined, problems: [`no path of the spec matches ${path}`] }
    const op = doc.paths[match]?.[req.method.toLowerCase()]
    if (!op)
      return { operationId: undefined, problems: [`${req.method} is not an operation of ${match}`] }
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]),
    )

    const params = op.parameters ?? []
    const value = (p: Parameter, raw: string): unknown => {
      const type = p.schema?.type
      if (type === 'array' && p.explode === false) return raw.split(',')
      if (type === 'integer' || type === 'number') return Number(raw)
      return raw
    }
    const checkValue = (p: Parameter, raw: string) => {
      if (!p.schema) return
      const v = validator(p.schema)
      if (!v(value(p, raw))) problems.push(`${p.in} parameter ${p.name}: ${errorsOf(v).join('; ')}`)
    }
    for (const p of params) {
      if (p.in === 'query') {
        const raw = url.searchParams.get(p.name)
        if (raw === null) {
          if (p.required) problems.push(`missing required query parameter ${p.name}`)
        } else checkValue(p, raw)
      } else if (p.in === 'header') {
        const raw = headers[p.name.toLowerCase()]
        if (raw === undefined) {
          if (p.required) problems.push(`missing required header ${p.name}`)
        } else checkValue(p, raw)
      } else if (p.in === 'path') {
        const names = [...match.matchAll(/\{([^}]+)\}/g)].map((m) => m[1])
        const got = templateRegex(match).exec(path)
        const raw = got?.[names.indexOf(p.name) + 1]
        if (raw === undefined || raw === '') problems.push(`missing path parameter ${p.name}`)
        else checkValue(p, decodeURIComponent(raw))
      }
    }
    for (const name of url.searchParams.keys())
      if (!params.some((p) => p.in === 'query' && p.name === name))
        problems.push(`query parameter ${name} is not in the spec`)

    for (const requirement of op.security ?? doc.security ?? []) {
      for (const scheme of Object.keys(requirement)) {
        const s = doc.components?.securitySchemes?.[scheme]
        if (s?.type === 'apiKey' && s.in === 'header' && s.name && !headers[s.name.toLowerCase()])
          problems.push(`missing the ${scheme} header ${s.name}`)
      }
    }

    const rb = op.requestBody
    if (rb) {
      if (req.body === null || req.body === '') {
        if (rb.required) problems.push('missing the required request body')
      } else {
        const type = (headers['content-type'] ?? '').split(';')[0]?.trim() ?? ''
        const media = rb.content[type]
        if (!media)
          problems.push(
            `content type ${type || '(none)'} is not one of ${Object.keys(rb.content).join(', ')}`,
          )
        else {
          const v = validator(media.schema)
          if (!v(JSON.parse(req.body))) problems.push(...errorsOf(v).map((e) => `body ${e}`))
        }
      }
    } else if (req.body !== null && req.body !== '') {
      problems.push('the operation takes no request body')
    }
    return { operationId: op.operationId, problems }
  }
}
