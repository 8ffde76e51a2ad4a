import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { isKindredError } from '../../../protocol/errors.js'
import {
  duckdbInsightDialect,
  parseInsightDefinition,
  planInsight,
} from '../../core/insights/index.js'
import { duckdbInsightsBackend } from './duckdb-insights-backend.js'

const dir = mkdtempSync(join(tmpdir(), 'kindred-duck-'))
const file = join(dir, 'events.parquet')
const duck = duckdbInsightsBackend()

beforeAll(async () => {
  // Three million events of 100,000 profiles over 30 days, written by DuckDB itself.
  const inst = await DuckDBInstance.create(':memory:', { threads: '1' })
  const c = await inst.connect()
  await c.run(`SET TimeZone = 'UTC'`)
  await c.run(
    `COPY (SELECT 'ws' AS workspace_id, 'p' || (i % 100000) AS profile_id, 'src' AS source_id,
       'm' || i AS message_id, i AS seq, 'track' AS type,
       (['A', 'B', 'C'])[1 + (i % 3)::INTEGER] AS event, NULL::VARCHAR AS user_id,
       NULL::VARCHAR AS anonymous_id,
       TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_seconds((i * 7919) % (30 * 86400)) AS "timestamp",
       TIMESTAMPTZ '2025-01-01 00:00:00+00' AS received_at,
       '{"v":' || (i % 50) || '}' AS properties, '{}' AS traits, '{}' AS context, '{}' AS payload
     FROM range(3000000) t(i)) TO '${file}' (FORMAT parquet)`,
  )
  c.closeSync()
  inst.closeSync()
}, 120_000)
afterAll(() => {
  duck.close()
  rmSync(dir, { recursive: true, force: true })
})

const ctx = { nowMs: Date.UTC(2025, 1, 1), timeZone: 'UTC' }
const funnel = parseInsightDefinition({
  kind: 'funnel',
  steps: [{ event: 'A' }, { event: 'B' }, { event: 'C' }, { event: 'A' }],
  breakdown: { property: 'v' },
  range: { kind: 'between', from: '2025-01-01', to: '2025-01-31' },
})

it('interrupts a query over its time limit with QUERY_TIMEOUT, and answers the next one', async () => {
  const plan = planInsight(funnel, ctx, {
    dialect: duckdbInsightDialect([file]),
    workspaceId: 'ws',
  })
  const started = performance.now()
  const err = await duck.run(plan, { timeoutMs: 100 }).catch((e: unknown) => e)
  const took = performance.now() - started
  expect(isKindredError(err) && err.code).toBe('QUERY_TIMEOUT')
  expect(isKindredError(err) && err.status).toBe(504)
  // Stopped soon after the limit, not at the end of the query.
  expect(took).toBeLessThan(5_000)
  const small = planInsight(
    parseInsightDefinition({
      kind: 'trends',
      series: [{ event: 'A' }],
      range: { kind: 'between', from: '2025-01-01', to: '2025-01-01' },
    }),
    ctx,
    { dialect: duckdbInsightDialect([file]), workspaceId: 'ws' },
  )
  const r = await duck.run(small, { timeoutMs: 60_000 })
  expect(r.kind === 'trends' && r.lines[0]?.total).toBeGreaterThan(0)
}, 120_000)

it('reads no files as no events', async () => {
  const r = await duck.run(
    planInsight(funnel, ctx, { dialect: duckdbInsightDialect([]), workspaceId: 'ws' }),
    {
      timeoutMs: 10_000,
    },
  )
  expect(r.kind === 'funnel' && r.steps.map((s) => s.count)).toEqual([0, 0, 0, 0])
})
