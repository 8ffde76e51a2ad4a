import type { FieldIssue } from './errors.js'
import type { KindredEvent } from './event-schema.js'

/**
 * The one serialisation of a canonical event, shared by every way in (tracking API, imports).
 * Postgres text and jsonb cannot hold U+0000: an event carrying it would be acknowledged and then
 * fail in the store on every retry, so it is refused here with a clear error instead.
 */
export function serializeEvent(
  event: KindredEvent,
): { ok: true; json: string } | { ok: false; issues: FieldIssue[] } {
  const json = JSON.stringify(event)
  // JSON.stringify escapes NUL as \u0000; a literal backslash-u0000 typed by a user also matches,
  // so confirm with a walk (rare path) before refusing.
  if (json.includes('\\u0000')) {
    const path = nulPath(event, '')
    if (path !== undefined) {
      return {
        ok: false,
        issues: [
          { path, code: 'invalid_string', message: 'must not contain the NUL character (\\u0000)' },
        ],
      }
    }
  }
  return { ok: true, json }
}

function nulPath(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined
  if (typeof value !== 'object' || value === null) return undefined
  for (const [key, child] of Object.entries(value)) {
    const here = path ? `${path}.${key}` : key
    if (key.includes('\u0000')) return here
    const found = nulPath(child, here)
    if (found !== undefined) return found
  }
  return undefined
}
