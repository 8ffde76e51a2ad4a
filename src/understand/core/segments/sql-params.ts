/**
 * @module sql-params
 * Collects positional parameters while SQL text is built, so that no value is ever
 * interpolated into SQL text. Every placeholder carries an explicit cast so Postgres never has
 * to guess a parameter's type (the same text works with pg and PGlite).
 */

/** A compiled statement, as `pg`'s `client.query(text, values)` and PGlite's `query` take it. */
export interface SqlQuery {
  text: string
  values: unknown[]
}

const CASTS = new Set([
  'text',
  'text[]',
  'float8',
  'float8[]',
  'boolean',
  'boolean[]',
  'int',
  'bigint',
  'timestamptz',
  'jsonb',
])

export class SqlParams {
  readonly values: unknown[]
  constructor(initial: unknown[] = []) {
    this.values = [...initial]
  }
  /** Adds a value and returns its placeholder with a cast, e.g. `$3::text`. */
  add(value: unknown, cast: string): string {
    if (!CASTS.has(cast)) throw new Error(`unsupported parameter cast ${cast}`)
    this.values.push(cast === 'jsonb' ? JSON.stringify(value) : value)
    return `$${this.values.length}::${cast}`
  }
}
