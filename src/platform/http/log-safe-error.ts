/**
 * Errors as they may be logged. Postgres errors carry `detail` and `where` fields that quote the
 * offending input (for an event: its JSON, e-mail addresses and all), and the `query`/`parameters`
 * of a failed statement hold the same data; logs are kept longer and read more widely than the
 * store, so those fields stay out of them. Name, message, code, stack and the cause chain remain.
 * @module
 */

const PERSONAL_FIELDS = new Set([
  'detail',
  'where',
  'hint',
  'internalQuery',
  'query',
  'parameters',
  'params',
])

/** A copy of `err` for the logger, without the fields that quote input data. */
export function logSafeError(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error) || depth > 5) return err
  const out: Record<string, unknown> = {
    type: err.name,
    message: err.message,
    ...(err.stack === undefined ? {} : { stack: err.stack }),
  }
  for (const [key, value] of Object.entries(err)) {
    if (PERSONAL_FIELDS.has(key)) out[key] = '[redacted]'
    else if (key !== 'cause' && (value === null || typeof value !== 'object')) out[key] = value
  }
  if (err.cause !== undefined) out.cause = logSafeError(err.cause, depth + 1)
  return out
}
