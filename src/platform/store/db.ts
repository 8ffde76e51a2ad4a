/**
 * The store port: the subset of a Postgres connection Kindred needs. Two adapters implement it
 * (embedded PGlite, Postgres server via `pg`); everything above talks only to this interface.
 * @module
 */

export interface QueryResult<R> {
  rows: R[]
  rowCount: number
}

export interface Queryable {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<QueryResult<R>>
  /** Runs several statements without parameters (migrations, DDL). */
  exec(text: string): Promise<void>
}

export interface Db extends Queryable {
  readonly dialect: 'pglite' | 'postgres'
  /** Runs `fn` in one transaction: COMMIT when it resolves, ROLLBACK when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>
  close(): Promise<void>
}
