import pg from 'pg'
import type { Db, QueryResult, Queryable } from './db.js'

// Return timestamps and bigints as strings (like PGlite's text results would lose nothing):
// int8 as JS number would silently round above 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => {
  const n = Number(v)
  return Number.isSafeInteger(n) ? n : v
})

/** A Postgres server reached by `DATABASE_URL`, through a pool. */
export async function openPostgresDb(url: string, options: { max?: number } = {}): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10 })
  // An idle connection the server ends (restart, failover, pg_terminate_backend) is emitted as an
  // 'error' on the pool; unhandled, it would crash the process. The pool drops that client and
  // the next query opens a new one, so there is nothing else to do here.
  pool.on('error', () => undefined)
  // The same for a connection the server ends while it is checked out between two queries (a
  // transaction awaiting its next statement): its next query fails and the caller retries, but
  // the 'error' event itself must not go unheard.
  pool.on('connect', (c) => c.on('error', () => undefined))
  // Fail fast on a wrong URL instead of at the first request.
  const client = await pool.connect()
  client.release()
  const wrap = (q: pg.Pool | pg.PoolClient): Queryable => ({
    async exec(text: string) {
      await q.query(text)
    },
    async query<R>(text: string, params?: unknown[]): Promise<QueryResult<R>> {
      const res = await q.query(text, params as unknown[])
      return { rows: res.rows as R[], rowCount: res.rowCount ?? res.rows.length }
    },
  })
  const base = wrap(pool)
  return {
    dialect: 'postgres',
    query: base.query,
    exec: base.exec,
    async transaction(fn) {
      const c = await pool.connect()
      try {
        await c.query('BEGIN')
        const result = await fn(wrap(c))
        await c.query('COMMIT')
        return result
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined)
        throw err
      } finally {
        c.release()
      }
    },
    close: () => pool.end(),
  }
}
