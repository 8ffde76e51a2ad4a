/**
 * Runs insight plans in an embedded DuckDB over Parquet files of events (the lake's live files).
 * One in-memory instance per backend, created on first use with the coercion macros of
 * `DUCKDB_INSIGHT_MACROS`; one connection per query, so that the time limit can interrupt
 * exactly that query (`connection.interrupt()`), which answers QUERY_TIMEOUT. DuckDB runs on
 * its own threads: a long query does not block the event loop. `threads` defaults to 1, as the
 * file exporter does (on two cores the other one serves ingest); the benchmark sets 2.
 */
import {
  BIGINT,
  BOOLEAN,
  DOUBLE,
  DuckDBInstance,
  INTEGER,
  LIST,
  VARCHAR,
  listValue,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api'
import { DUCKDB_INSIGHT_MACROS, type InsightPlan, type Row } from '../../core/insights/index.js'
import type { InsightsBackend } from './postgres-insights-backend.js'
import { queryTimeout } from './insight-timeout.js'

export interface DuckdbInsightsOptions {
  threads?: number
  /** DuckDB's `memory_limit`, e.g. `'1GB'` (default: DuckDB's, 80% of RAM). */
  memoryLimit?: string
}

export interface DuckdbInsightsBackend extends InsightsBackend {
  close(): void
}

function toDuckValue(v: unknown): DuckDBValue {
  if (Array.isArray(v)) return listValue(v.map(toDuckValue))
  return v as DuckDBValue
}

const TYPES: Record<string, DuckDBType> = {
  text: VARCHAR,
  'text[]': LIST(VARCHAR),
  float8: DOUBLE,
  'float8[]': LIST(DOUBLE),
  boolean: BOOLEAN,
  'boolean[]': LIST(BOOLEAN),
  int: INTEGER,
  bigint: BIGINT,
}

/**
 * Parameter types, read from the placeholders' casts (SqlParams writes every one as `$n::cast`):
 * left to itself the client infers a list's type from its first element, so `[12, 1e-7]` would
 * be a list of integers.
 */
function paramTypes(text: string, count: number): DuckDBType[] {
  const types: DuckDBType[] = Array.from({ length: count }, () => VARCHAR)
  for (const m of text.matchAll(/\$([0-9]+)::([a-z0-9]+(?:\[\])?)/g)) {
    const t = TYPES[m[2] as string]
    if (t !== undefined) types[Number(m[1]) - 1] = t
  }
  return types
}

function bindValue(v: unknown, type: DuckDBType | undefined): DuckDBValue {
  if (type === BIGINT && typeof v === 'number') return BigInt(v)
  return toDuckValue(v)
}

function toJs(row: Record<string, unknown>): Row {
  const out: Row = {}
  for (const [k, v] of Object.entries(row)) out[k] = typeof v === 'bigint' ? Number(v) : v
  return out
}

const isInterrupt = (err: unknown) => /interrupt/i.test((err as Error | null)?.message ?? '')

export function duckdbInsightsBackend(options: DuckdbInsightsOptions = {}): DuckdbInsightsBackend {
  let instance: Promise<DuckDBInstance> | undefined
  const open = () => {
    instance ??= (async () => {
      const settings: Record<string, string> = { threads: String(options.threads ?? 1) }
      if (options.memoryLimit !== undefined) settings.memory_limit = options.memoryLimit
      const inst = await DuckDBInstance.create(':memory:', settings)
      const c = await inst.connect()
      try {
        for (const m of DUCKDB_INSIGHT_MACROS) await c.run(m)
      } finally {
        c.closeSync()
      }
      return inst
    })()
    return instance
  }
  return {
    name: 'duckdb',
    async run<R>(plan: InsightPlan<R>, { timeoutMs }: { timeoutMs: number }): Promise<R> {
      const conn = await (await open()).connect()
      let timedOut = false
      const timer = setTimeout(() => {
        timedOut = true
        conn.interrupt()
      }, timeoutMs)
      try {
        await conn.run(`SET TimeZone = 'UTC'`)
        // DuckDB 1.5.6 fails an internal assertion ("Failed to cast expression to type") when its
        // top-N window elimination rewrites `row_number() … = 1` partitioned by nullable columns
        // (a funnel's best path per breakdown value); the rewrite is an optimisation only.
        await conn.run(`SET disabled_optimizers = 'top_n_window_elimination'`)
        const rows = new Map<string, Row[]>()
        for (const s of plan.statements) {
          const types = paramTypes(s.query.text, s.query.values.length)
          const reader = await conn.runAndReadAll(
            s.query.text,
            s.query.values.map((v, i) => bindValue(v, types[i])),
            types,
          )
          rows.set(s.name, reader.getRowObjectsJS().map(toJs))
        }
        return plan.assemble(rows)
      } catch (err) {
        if (timedOut || isInterrupt(err)) throw queryTimeout(timeoutMs, 'duckdb')
        throw err
      } finally {
        clearTimeout(timer)
        conn.closeSync()
      }
    },
    close() {
      void instance?.then((i) => i.closeSync()).catch(() => undefined)
      instance = undefined
    },
  }
}
