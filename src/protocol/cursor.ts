/**
 * The pagination cursor codec of every list endpoint: a cursor is the sort key of the last row
 * of a page (`[updatedAt, id]`, `[probability, id]`…) as base64url JSON, opaque to clients. The
 * fields are declared once per endpoint and checked on the way back in, so whatever a client
 * sends is refused with one 400 before it reaches a SQL cast or comparison.
 * @example
 * const cursor = cursorCodec(cursorField.timestamp(), cursorField.text(1024))
 * const after = cursor.decode(q.cursor) // [string, string] | undefined
 * const nextCursor = cursor.encode([last.updatedAt, last.id])
 * @module
 */
import { KindredError } from './errors.js'
import { isStorableTimestamp } from './timestamps.js'

export interface CursorField<T> {
  accepts(v: unknown): v is T
}

export const cursorField = {
  /** An ISO timestamp the store can hold (so the SQL cast cannot fail). */
  timestamp: (): CursorField<string> => ({
    accepts: (v): v is string => typeof v === 'string' && isStorableTimestamp(v),
  }),
  /** A string of at most `maxLength` characters (an id, a message id). */
  text: (maxLength: number): CursorField<string> => ({
    accepts: (v): v is string => typeof v === 'string' && v.length <= maxLength,
  }),
  /** A safe integer (a sequence number the store casts to bigint). */
  integer: (): CursorField<number> => ({
    accepts: (v): v is number => typeof v === 'number' && Number.isSafeInteger(v),
  }),
  /** A finite number (a score, a probability). */
  number: (): CursorField<number> => ({
    accepts: (v): v is number => typeof v === 'number' && Number.isFinite(v),
  }),
}

type Values<F extends readonly CursorField<unknown>[]> = {
  -readonly [K in keyof F]: F[K] extends CursorField<infer T> ? T : never
}

export interface CursorCodec<V extends readonly unknown[]> {
  encode(values: V | Readonly<V>): string
  /** undefined for no cursor (the first page); VALIDATION_FAILED for anything not made here. */
  decode(cursor: string | undefined): V | undefined
}

export function cursorCodec<const F extends readonly CursorField<unknown>[]>(
  ...fields: F
): CursorCodec<Values<F>> {
  return {
    encode: (values) => Buffer.from(JSON.stringify(values)).toString('base64url'),
    decode(cursor) {
      if (cursor === undefined) return undefined
      let parts: unknown
      try {
        parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
      } catch {
        parts = undefined
      }
      if (
        Array.isArray(parts) &&
        parts.length === fields.length &&
        fields.every((f, i) => f.accepts(parts[i]))
      ) {
        return parts as unknown as Values<F>
      }
      throw new KindredError('VALIDATION_FAILED', 'invalid cursor: pass back nextCursor unchanged')
    },
  }
}
