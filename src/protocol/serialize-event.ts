import type { FieldIssue } from './errors.js'
import type { KindredEvent } from './event-schema.js'
import { scanJson, scanPathString } from './json-scan.js'
import { MAX_JSON_DEPTH } from './limits.js'

/**
 * The one serialisation of a canonical event, shared by every way in (tracking API, imports).
 * Postgres text and jsonb cannot hold U+0000 or a lone surrogate: an event carrying one would be
 * acknowledged and then fail in the store on every retry, so it is refused here with a clear
 * error instead. It never throws on content: an event too deep to serialise is refused too.
 */
export function serializeEvent(
  event: KindredEvent,
): { ok: true; json: string } | { ok: false; issues: FieldIssue[] } {
  let json: string
  try {
    json = JSON.stringify(event)
  } catch (err) {
    if (!(err instanceof RangeError)) throw err
    return refuse(
      '',
      'json_too_deep',
      `JSON nesting is deeper than ${MAX_JSON_DEPTH} levels (the limit)`,
    )
  }
  // JSON.stringify escapes NUL as \u0000; a literal backslash-u0000 typed by a user also matches,
  // so confirm with a walk (rare path) before refusing.
  if (json.includes('\\u0000')) {
    const path = nulPath(event)
    if (path !== undefined) {
      return refuse(path, 'invalid_string', 'must not contain the NUL character (\\u0000)')
    }
  }
  // Well-formed JSON.stringify writes a lone surrogate as a \udXXX escape (pairs stay raw): the
  // scanner tells an escape from a user's literal backslash.
  if (json.includes('\\ud') || json.includes('\\uD')) {
    const issue = scanJson(Buffer.from(json, 'utf8'))
    if (issue) return refuse(scanPathString(issue.path), issue.code, issue.message)
  }
  return { ok: true, json }
}

function refuse(path: string, code: string, message: string): { ok: false; issues: FieldIssue[] } {
  return { ok: false, issues: [{ path, code, message }] }
}

/** The path of the first string or key holding NUL; iterative, so any depth is safe. */
function nulPath(root: unknown): string | undefined {
  const stack: Array<[unknown, string]> = [[root, '']]
  while (stack.length > 0) {
    const [value, path] = stack.pop() as [unknown, string]
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return path
      continue
    }
    if (typeof value !== 'object' || value === null) continue
    // Children pushed last-first, so the walk visits them in order (the first path is reported).
    const entries = Object.entries(value)
    for (const [key] of entries) if (key.includes('\u0000')) return path ? `${path}.${key}` : key
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i] as [string, unknown]
      stack.push([child, path ? `${path}.${key}` : key])
    }
  }
  return undefined
}
