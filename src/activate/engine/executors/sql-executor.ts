/**
 * @module engine/effects/sql-executor
 * Runs `sql` effects (postgres-table destination) against the customer's database.
 * Like Kysely, it needs only a minimal pool interface, so tests can pass PGlite or a fake.
 * Pools connect through an outbound guard: the database host is resolved and checked on every new
 * connection, like an HTTP destination's (a connection string is an editor's choice too).
 */
import pg from 'pg'
import type { SqlEffect } from '../../core/contract.js'
import { createOutboundGuard, type OutboundGuard } from './outbound-guard.js'

/** The subset of `pg.Pool` the executor uses. */
export interface SqlPoolLike {
  query(
    text: string,
    params: unknown[],
  ): Promise<{ rowCount?: number | null; affectedRows?: number }>
}

export type SqlExecution =
  | { ok: true; rowCount: number; latencyMs: number }
  | { ok: false; error: { code: string; message: string; retryable: boolean }; latencyMs: number }

/**
 * Retryable: connection problems (class 08, and node socket errors), serialization failures and
 * deadlocks (40), insufficient resources (53), operator intervention (57, e.g. shutdown).
 * Everything else (undefined table 42P01, constraint violations 23…) needs a human: fail.
 */
export function isRetryableSqlError(code: string): boolean {
  if (code.startsWith('OUTBOUND_')) return false // the outbound policy refused the host
  if (/^E[A-Z]+$/.test(code)) return true // ECONNREFUSED, ECONNRESET, ETIMEDOUT…
  return ['08', '40', '53', '57'].includes(code.slice(0, 2))
}

export async function executeSql(effect: SqlEffect, pool: SqlPoolLike): Promise<SqlExecution> {
  const started = performance.now()
  try {
    const res = await pool.query(effect.statement, effect.params)
    return {
      ok: true,
      rowCount: res.rowCount ?? res.affectedRows ?? 0,
      latencyMs: performance.now() - started,
    }
  } catch (err) {
    const e = err as { code?: string; message?: string }
    const code = e.code ?? 'UNKNOWN'
    return {
      ok: false,
      error: {
        code,
        message: `${code}: ${e.message ?? String(err)}`,
        retryable: isRetryableSqlError(code),
      },
      latencyMs: performance.now() - started,
    }
  }
}

/**
 * A small pool for one destination instance (cache it per destination id and settings). Without
 * a guard, only public database hosts are reachable.
 */
export function createPgPool(
  connectionString: string,
  options: { max?: number; guard?: OutboundGuard } = {},
): pg.Pool {
  const guard = options.guard ?? createOutboundGuard()
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 2,
    stream: () => guard.pgStream(),
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  })
  // A customer database closing an idle connection must not crash Kindred: the pool drops it.
  pool.on('error', () => undefined)
  return pool
}
