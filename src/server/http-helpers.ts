import type { FastifyRequest } from 'fastify'
import type { z } from 'zod'
import { KindredError, zodIssues } from '../protocol/index.js'

/** Admin bodies arrive as raw buffers (one content parser for the whole app); parse and validate. */
export function jsonBody<S extends z.ZodType>(req: FastifyRequest, schema: S): z.infer<S> {
  const body = req.body
  let value: unknown = {}
  if (Buffer.isBuffer(body) && body.length > 0) {
    try {
      value = JSON.parse(body.toString('utf8'))
    } catch (err) {
      throw new KindredError(
        'INVALID_JSON',
        `request body is not valid JSON: ${(err as Error).message}`,
      )
    }
  }
  const parsed = schema.safeParse(value)
  if (!parsed.success) {
    throw new KindredError('VALIDATION_FAILED', 'request body is invalid', {
      details: zodIssues(parsed.error),
    })
  }
  return parsed.data
}

export function notFound(what: string): KindredError {
  return new KindredError('NOT_FOUND', `${what} not found`)
}

/** Query strings, validated like bodies: a bad parameter is a 400 that names it. */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.infer<S> {
  const r = schema.safeParse(query)
  if (!r.success) {
    throw new KindredError('VALIDATION_FAILED', 'invalid query parameters', {
      details: r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    })
  }
  return r.data
}
