/**
 * Route matching for the console's tiny history router. Pure so it can be unit-tested:
 * `matchPath('/profiles/:id', '/profiles/p_1')` → `{ id: 'p_1' }`.
 */

export type Params = Record<string, string>

export function matchPath(pattern: string, path: string): Params | null {
  const want = split(pattern)
  const have = split(path)
  if (want.length !== have.length) return null
  const params: Params = {}
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string
    const h = have[i] as string
    if (w.startsWith(':')) {
      try {
        params[w.slice(1)] = decodeURIComponent(h)
      } catch {
        return null
      }
    } else if (w !== h) {
      return null
    }
  }
  return params
}

function split(path: string): string[] {
  return path
    .split('?')[0]!
    .split('/')
    .filter((part) => part !== '')
}

/** Builds a path from a pattern, encoding each parameter. */
export function buildPath(pattern: string, params: Params = {}): string {
  return pattern.replace(/:([A-Za-z_]+)/g, (_, name: string) =>
    encodeURIComponent(params[name] ?? ''),
  )
}
