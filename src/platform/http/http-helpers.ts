import type { FastifyRequest } from 'fastify'
import type { z } from 'zod'
import { KindredError, scanJson, scanPathString, zodIssues } from '../../protocol/index.js'

/** Admin bodies arrive as raw buffers (one content parser for the whole app); parse and validate. */
export function jsonBody<S extends z.ZodType>(req: FastifyRequest, schema: S): z.infer<S> {
  const body = req.body
  const encoding = req.headers['content-encoding']
  if (encoding !== undefined && encoding !== 'identity') {
    // Admin bodies are small and sent uncompressed; a body we would not decode is refused whole.
    throw new KindredError(
      'UNSUPPORTED_ENCODING',
      `Content-Encoding "${encoding}" is not accepted here; send plain JSON`,
    )
  }
  let value: unknown = {}
  if (Buffer.isBuffer(body) && body.length > 0) {
    // Before parsing: zod and the store recurse on structure, so depth is refused up front.
    const found = scanJson(body)
    if (found) {
      throw new KindredError(
        found.code === 'invalid_utf8' ? 'INVALID_JSON' : 'VALIDATION_FAILED',
        found.message,
        {
          details: [{ path: scanPathString(found.path), code: found.code, message: found.message }],
        },
      )
    }
    const text = body.toString('utf8')
    // Postgres text and jsonb cannot hold NUL; refuse it here rather than fail at the store.
    if (text.includes('\u0000') || text.includes('\\u0000')) {
      throw new KindredError('VALIDATION_FAILED', 'request body contains a NUL character')
    }
    try {
      value = JSON.parse(text)
    } catch (err) {
      throw new KindredError(
        'INVALID_JSON',
        `request body is not valid JSON: ${(err as Error).message}`,
      )
    }
  }
  const parsed = schema.safeParse(value)
  if (!parsed.success) {
    const details = zodIssues(parsed.error)
    // The first problem in the message itself, so a caller that shows only the message (the
    // console, a script's log) says what to fix; all of them are in `details`.
    const first = details[0]
    const where = first ? `${first.path === '' ? '(body)' : first.path}: ${first.message}` : ''
    const more = details.length > 1 ? ` (and ${details.length - 1} more in details)` : ''
    throw new KindredError('VALIDATION_FAILED', `request body is invalid: ${where}${more}`, {
      details,
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
