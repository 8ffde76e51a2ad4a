/** Normalises validation error paths ("properties.revenue", "/properties/revenue", ['a', 0]). */
export function normalizePath(path: string | Array<string | number> | undefined): string[] {
  if (path === undefined) return []
  if (Array.isArray(path)) return path.map(String)
  return path
    .replace(/\[(\d+)\]/g, '.$1')
    .split(/[./]/)
    .filter((part) => part !== '' && part !== '$')
}

export function pathKey(parts: Array<string | number>): string {
  return parts.map(String).join('\u0000')
}
