/**
 * The one path walker over JSON values (events, traits, import rows): `getPath` reads, `setPath`
 * writes. Used by segment conditions, destination filters and mappings, and file imports.
 *
 * - Reads follow own keys only (an inherited `constructor` or `toString` is not data) and step
 *   into arrays by integer index, negative from the end, as Postgres `#>` reads a jsonb path.
 * - Writes refuse the segments that name JavaScript's object machinery: `__proto__` anywhere
 *   (as a key of a plain object it replaces the prototype), `constructor` and `prototype` as a
 *   level to walk through (`constructor.prototype.x` is how a deep merge reaches
 *   `Object.prototype` and changes every object in the process). As the last key they are an
 *   ordinary own property. Schemas that take paths from users refuse all three (`unsafeSegment`).
 *   A level that is missing (or not a plain object) is created with `newLevel`; callers whose
 *   output holds keys from anyone pass a null-prototype bag.
 * @module
 */

export const UNSAFE_PATH_SEGMENTS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
])

/** The first of the three segments in `path`, if any (what a path from a user may not hold). */
export function unsafeSegment(path: readonly string[]): string | undefined {
  return path.find((s) => UNSAFE_PATH_SEGMENTS.has(s))
}

/** Whether `setPath` refuses `path`: `__proto__` anywhere, the others before the last key. */
export function refusesWrite(path: readonly string[]): boolean {
  return path.some(
    (s, i) => s === '__proto__' || (i < path.length - 1 && UNSAFE_PATH_SEGMENTS.has(s)),
  )
}

const INDEX_RE = /^-?[0-9]+$/

/** The value at `path` (JSON null as null), or undefined when a step is missing. */
export function getPath(root: unknown, path: readonly string[]): unknown {
  let cur: unknown = root
  for (const key of path) {
    if (Array.isArray(cur)) {
      if (!INDEX_RE.test(key)) return undefined
      let i = Number(key)
      if (i < 0) i += cur.length
      cur = cur[i]
    } else if (cur !== null && typeof cur === 'object') {
      cur = Object.hasOwn(cur, key) ? (cur as Record<string, unknown>)[key] : undefined
    } else {
      return undefined
    }
    if (cur === undefined) return undefined
  }
  return cur
}

export interface SetPathOptions {
  /**
   * Copy each existing level on the way down instead of writing into it, so that objects shared
   * with the source (a mapping's input event) stay untouched.
   */
  copy?: boolean
  /** Makes a missing level (default `{}`). */
  newLevel?: () => Record<string, unknown>
}

/**
 * Writes `value` at `path` in `target`, creating the levels on the way. Returns false, writing
 * nothing, when the path is empty or `refusesWrite` it.
 */
export function setPath(
  target: Record<string, unknown>,
  path: readonly string[],
  value: unknown,
  options: SetPathOptions = {},
): boolean {
  if (path.length === 0 || refusesWrite(path)) return false
  const newLevel = options.newLevel ?? (() => ({}))
  let obj = target
  for (const key of path.slice(0, -1)) {
    const next = Object.hasOwn(obj, key) ? obj[key] : undefined
    let level: Record<string, unknown>
    if (typeof next === 'object' && next !== null && !Array.isArray(next)) {
      level = options.copy === true ? { ...(next as Record<string, unknown>) } : (next as never)
      if (options.copy === true) obj[key] = level
    } else {
      level = newLevel()
      obj[key] = level
    }
    obj = level
  }
  obj[path[path.length - 1] as string] = value
  return true
}
