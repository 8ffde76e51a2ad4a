import { PGlite } from '@electric-sql/pglite'
import type { Db, QueryResult, Queryable } from './db.js'

/**
 * Embedded Postgres (WASM) in the data dir: zero setup. One connection, so PGlite itself
 * serialises queries; `transaction` holds it for the whole transaction.
 */
export async function openPgliteDb(dataDir: string | undefined): Promise<Db> {
  const pg = dataDir === undefined ? new PGlite() : new PGlite(dataDir)
  await pg.waitReady
  const wrap = (q: {
    query: (text: string, params?: unknown[]) => Promise<{ rows: unknown[]; affectedRows?: number }>
    exec: (text: string) => Promise<unknown>
  }): Queryable => ({
    async exec(text: string) {
      await q.exec(text)
    },
    async query<R>(text: string, params?: unknown[]): Promise<QueryResult<R>> {
      const res = await q.query(text, params)
      return { rows: res.rows as R[], rowCount: res.affectedRows ?? res.rows.length }
    },
  })
  const base = wrap(pg)
  return {
    dialect: 'pglite',
    query: base.query,
    exec: base.exec,
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
    close: () => pg.close(),
  }
}
