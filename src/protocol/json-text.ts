/**
 * JSON text of any parsed JSON value, whatever its depth. `JSON.stringify` recurses on the native
 * stack and throws a RangeError past a few thousand levels; the paths that must never throw on
 * content (setting an event aside) use this instead. The output is well-formed: lone surrogates
 * come out as `\udXXX` escapes and NUL as `\u0000`, so it is plain UTF-8 without NUL bytes and
 * fits a Postgres `text` column.
 * @module
 */

/** `JSON.stringify(value)` for plain JSON data, iterative when the native one runs out of stack. */
export function stringifyTotal(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null'
  } catch (err) {
    if (!(err instanceof RangeError)) throw err
  }
  return stringifyIteratively(value)
}

type Frame =
  | { kind: 'array'; items: unknown[]; next: number }
  | { kind: 'object'; entries: Array<[string, unknown]>; next: number }

function stringifyIteratively(root: unknown): string {
  const out: string[] = []
  const stack: Frame[] = []
  /** Writes a value, or opens a frame for a container. */
  const write = (v: unknown): void => {
    if (v !== null && typeof v === 'object') {
      const json = (v as { toJSON?: () => unknown }).toJSON
      if (typeof json === 'function') return write(json.call(v))
      if (Array.isArray(v)) {
        out.push('[')
        stack.push({ kind: 'array', items: v, next: 0 })
      } else {
        out.push('{')
        const entries = Object.entries(v).filter(
          ([, x]) => x !== undefined && typeof x !== 'function' && typeof x !== 'symbol',
        )
        stack.push({ kind: 'object', entries, next: 0 })
      }
      return
    }
    const text = JSON.stringify(v)
    out.push(text === undefined ? 'null' : text)
  }
  write(root)
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as Frame
    if (top.kind === 'array') {
      if (top.next >= top.items.length) {
        out.push(']')
        stack.pop()
        continue
      }
      if (top.next > 0) out.push(',')
      write(top.items[top.next++])
    } else {
      if (top.next >= top.entries.length) {
        out.push('}')
        stack.pop()
        continue
      }
      const [key, v] = top.entries[top.next++] as [string, unknown]
      out.push(`${top.next > 1 ? ',' : ''}${JSON.stringify(key)}:`)
      write(v)
    }
  }
  return out.join('')
}
