import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import {
  DomainError,
  KindredError,
  isKindredError,
  type ErrorCode,
  type ErrorKind,
} from '../../protocol/errors.js'
import { logSafeError } from './log-safe-error.js'

/**
 * The answer for each kind of domain error: the one place a domain failure becomes an HTTP status
 * (through the code's row in `errorCodes`).
 */
export const codeOfKind = {
  invalid_input: 'VALIDATION_FAILED',
  not_found: 'NOT_FOUND',
  conflict: 'CONFLICT',
  forbidden: 'FORBIDDEN',
  unauthorized: 'UNAUTHORIZED',
  rate_limited: 'RATE_LIMITED',
  retry: 'UNAVAILABLE',
  config: 'CONFIG_INVALID',
  internal: 'INTERNAL',
} as const satisfies Record<ErrorKind, ErrorCode>

const INTERNAL_MESSAGE = 'internal error; retry, and report it if it persists'

/** Normalises anything thrown into a KindredError, once, at the edge. */
export function toKindredError(err: unknown): KindredError {
  if (isKindredError(err)) return err
  if (err instanceof DomainError) {
    // A bug's own words (an internal failure) stay in the log, never in the answer.
    if (err.kind === 'internal')
      return new KindredError('INTERNAL', INTERNAL_MESSAGE, { cause: err })
    return new KindredError(codeOfKind[err.kind], err.message, {
      cause: err,
      details: err.publicDetails(),
    })
  }
  if (err instanceof z.ZodError) {
    return new KindredError('VALIDATION_FAILED', err.message, { cause: err, details: err.issues })
  }
  const fe = err as Partial<FastifyError> & { code?: string }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new KindredError('PAYLOAD_TOO_LARGE', 'request body is too large', { cause: err })
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new KindredError('UNSUPPORTED_ENCODING', 'unsupported content type', { cause: err })
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new KindredError('INVALID_JSON', 'request body is not valid JSON', { cause: err })
  }
  if (isStoreIoError(err)) {
    return new KindredError(
      'STORE_UNAVAILABLE',
      'the store cannot read or write its data files (disk full, read-only or I/O error); retry later',
      { cause: err, headers: { 'Retry-After': '5' } },
    )
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new KindredError(
      fe.statusCode === 404 ? 'NOT_FOUND' : 'VALIDATION_FAILED',
      fe.message ?? 'bad request',
      {
        cause: err,
      },
    )
  }
  return new KindredError('INTERNAL', INTERNAL_MESSAGE, { cause: err })
}

export function sendError(reply: FastifyReply, err: unknown, req?: FastifyRequest): FastifyReply {
  const ke = toKindredError(err)
  if (ke.status >= 500 && req) req.log.error({ err: logSafeError(ke.cause ?? ke) }, ke.message)
  for (const [k, v] of Object.entries(ke.headers)) void reply.header(k, v)
  return reply.code(ke.status).type('application/json').send(ke.toBody())
}

/** Errno codes of a data dir that cannot be written or read. */
const IO_ERRNOS = new Set([
  'EACCES',
  'EPERM',
  'EROFS',
  'ENOSPC',
  'EDQUOT',
  'EIO',
  'EMFILE',
  'ENFILE',
])

/**
 * A store failure from its files, not from the request: Postgres (and PGlite) disk full (53100),
 * out of resources (class 53), I/O error (58030) or file missing (58P01), a file it may not open
 * (42501 on a file: `errcode_for_file_access` reports EACCES/EROFS so), a connection that failed
 * (class 08), or such an errno from Node.
 */
export function isStoreIoError(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown; message?: unknown } | null
  if (e === null || typeof e !== 'object') return false
  const code = typeof e.code === 'string' ? e.code : ''
  const message = typeof e.message === 'string' ? e.message : ''
  if (IO_ERRNOS.has(code)) return true
  if (code.startsWith('53') || code.startsWith('58') || code.startsWith('08')) return true
  if (code === '42501' && /\bfile\b|directory/i.test(message)) return true
  return /\b(EACCES|EROFS|ENOSPC|EIO)\b|read-only file system|No space left on device/i.test(
    message,
  )
}
