/**
 * Runs insight plans on the store (`events` table), PGlite or a Postgres server, in one
 * read-only transaction.
 *
 * The time limit: on a Postgres server `statement_timeout` (set for the transaction only) stops
 * a statement over the limit and the caller gets QUERY_TIMEOUT. PGlite runs in WASM on the
 * caller's thread with no timer signal, and ignores `statement_timeout` (measured: a 25 s query
 * ran to the end under a 500 ms limit); a statement cannot be stopped once it runs. So on PGlite
 * the plan's event scans are counted first, each count itself bounded (`LIMIT budget + 1` over
 * the index), and a plan that would read more than the embedded budget is refused up front with
 * the same QUERY_TIMEOUT. The budget is the time limit times a measured rate
 * (`embeddedEventsPerSecond`, see docs/benchmarks.md).
 */
import type { Db, Queryable } from '../../../platform/store/db.js'
import type { EventsScope, InsightPlan, Row } from '../../core/insights/index.js'
import { postgresInsightDialect } from '../../core/insights/index.js'
import { queryTimeout } from './insight-timeout.js'

/**
 * Events per second of time limit the embedded store may read: below the slowest kind measured
 * by bench/insights.bench.ts (a 4-step funnel over 1M events reads 363,523 events: 62,000 to
 * 90,000 per second in two runs on the shared 2-core machine; retention and trends read faster).
 */
export const DEFAULT_EMBEDDED_EVENTS_PER_SECOND = 50_000

export interface PostgresInsightsOptions {
  /** Embedded (PGlite) only: events read per second of time limit before a plan is refused. */
  embeddedEventsPerSecond?: number
}

export interface InsightsBackend {
  readonly name: 'postgres' | 'duckdb'
  run<R>(plan: InsightPlan<R>, options: { timeoutMs: number }): Promise<R>
}

const isCancel = (err: unknown) => (err as { code?: unknown } | null)?.code === '57014'

/**
 * Events the scans of a plan read, counting at most `budget + 1` (each count is a bounded index
 * scan, so the check itself stays cheap next to the query).
 */
export async function countScannedEvents(
  tx: Queryable,
  scans: readonly EventsScope[],
  budget: number,
): Promise<number> {
  let total = 0
  for (const s of scans) {
    const where = ['workspace_id = $1']
    const values: unknown[] = [s.workspaceId]
    if (s.lo !== undefined) {
      values.push(new Date(s.lo).toISOString())
      where.push(`"timestamp" >= $${values.length}::timestamptz`)
    }
    if (s.hi !== undefined) {
      values.push(new Date(s.hi).toISOString())
      where.push(`"timestamp" < $${values.length}::timestamptz`)
    }
    if (s.names !== undefined) {
      values.push([...s.names])
      where.push(`event = ANY($${values.length}::text[])`)
    }
    values.push(budget + 1 - total)
    const { rows } = await tx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT 1 FROM events WHERE ${where.join(' AND ')} LIMIT $${values.length}::bigint) x`,
      values,
    )
    total += Number(rows[0]?.n ?? 0)
    if (total > budget) return total
  }
  return total
}

export function postgresInsightsBackend(
  db: Db,
  options: PostgresInsightsOptions = {},
): InsightsBackend {
  const rate = options.embeddedEventsPerSecond ?? DEFAULT_EMBEDDED_EVENTS_PER_SECOND
  return {
    name: 'postgres',
    async run<R>(plan: InsightPlan<R>, { timeoutMs }: { timeoutMs: number }): Promise<R> {
      try {
        return await db.transaction(async (tx) => {
          await tx.query('SET TRANSACTION READ ONLY')
          await tx.query(`SELECT set_config('statement_timeout', $1, true)`, [String(timeoutMs)])
          // Every join of a plan is an equi-join of whole sets (profile, instant) between CTEs,
          // whose row counts the planner cannot estimate: with a low guess it picks nested
          // loops, quadratic in the events (measured: 55 s instead of 0.3 s for RFM over 2,357
          // profiles). Hash and merge joins are the right shape for every statement here.
          await tx.query(`SELECT set_config('enable_nestloop', 'off', true)`)
          if (db.dialect === 'pglite') {
            const budget = Math.max(1, Math.floor((rate * timeoutMs) / 1000))
            const n = await countScannedEvents(tx, plan.scans, budget)
            if (n > budget)
              throw queryTimeout(timeoutMs, 'postgres', {
                reason: 'embedded_budget',
                eventsToRead: `more than ${budget}`,
                budget,
              })
          }
          const rows = new Map<string, Row[]>()
          for (const s of plan.statements) {
            const res = await tx.query<Row>(s.query.text, s.query.values)
            rows.set(s.name, res.rows)
          }
          return plan.assemble(rows)
        })
      } catch (err) {
        if (isCancel(err)) throw queryTimeout(timeoutMs, 'postgres')
        throw err
      }
    },
  }
}

export { postgresInsightDialect }
