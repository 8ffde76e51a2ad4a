/**
 * Insights over the lake in a Kindred started as `npm start` starts it (default modules, a data
 * dir, the lake on): the lake writer's own files, read with their Hive-style partitions, and
 * events written before two profiles merged counting for the one profile left. Auto picks the
 * lake once it holds the workspace and says how far behind it is.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LakeWriter } from '../../../platform/lake/lake-writer.js'
import { startTestKindred, type TestKindred } from '../../../testing/test-server.js'

const funnel = {
  kind: 'funnel',
  steps: [{ event: 'Product Viewed' }, { event: 'Order Completed' }],
  range: { kind: 'between', from: '2025-03-01', to: '2025-03-31' },
}
const trend = {
  kind: 'trends',
  series: [{ event: 'Order Completed', measure: { kind: 'sum', property: 'revenue' } }],
  interval: 'month',
  range: { kind: 'between', from: '2025-03-01', to: '2025-03-31' },
}

interface Answer {
  result: {
    steps?: Array<{ count: number }>
    lines?: Array<{ total: number | null }>
  }
  meta: { backend: string; lake?: { lagSeconds: number | null; files: number } }
}

describe('insights on the lake (npm start wiring)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kindred-lake-insights-'))
  let k: TestKindred
  let writer!: LakeWriter
  let writeKey: string

  const query = async (definition: unknown, backend?: string): Promise<Answer> => {
    const res = await k.admin('/api/v1/insights/query', {
      body: backend === undefined ? { definition } : { definition, backend },
    })
    expect(res.status, await res.clone().text()).toBe(200)
    return (await res.json()) as Answer
  }
  const send = async (batch: unknown[]) => {
    expect((await k.track(writeKey, '/v1/batch', { batch })).status).toBe(200)
    await k.kindred.processor?.drain()
  }

  beforeAll(async () => {
    k = await startTestKindred({
      dataDir: dir,
      // The test flushes the lake itself: nothing reaches it behind the test's back.
      lake: { flushMs: 3_600_000, onWriter: (w) => (writer = w) },
    })
    writeKey = (await k.createSource()).writeKey
  })
  afterAll(async () => {
    await k.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('answers from the lake with the partition columns from the paths', async () => {
    // No lake file of the workspace yet: auto answers from the store.
    expect((await query(funnel)).meta.backend).toBe('postgres')
    await send([
      // A visitor views as an anonymous id; the same person orders after signing in.
      {
        type: 'track',
        anonymousId: 'anon-1',
        event: 'Product Viewed',
        timestamp: '2025-03-10T09:00:00Z',
      },
      {
        type: 'track',
        userId: 'u1',
        event: 'Order Completed',
        timestamp: '2025-03-10T09:30:00Z',
        properties: { revenue: '19.99' },
      },
      {
        type: 'track',
        userId: 'u2',
        event: 'Product Viewed',
        timestamp: '2025-03-11T10:00:00Z',
      },
      {
        type: 'track',
        userId: 'u2',
        event: 'Order Completed',
        timestamp: '2025-03-12T10:00:00Z',
        properties: { revenue: 0.01 },
      },
    ])
    expect(await writer.flush()).toBeGreaterThan(0)
    const lake = await query(funnel, 'duckdb')
    expect(lake.meta.backend).toBe('duckdb')
    expect(lake.meta.lake?.files).toBeGreaterThan(0)
    // Two people viewed; only u2's order follows a view of the same profile, so far.
    expect(lake.result.steps?.map((s) => s.count)).toEqual([2, 1])
    expect((await query(funnel, 'postgres')).result.steps?.map((s) => s.count)).toEqual([2, 1])
    const sum = await query(trend, 'duckdb')
    expect(sum.result.lines?.[0]?.total).toBe(20)
  })

  it('counts two profiles merged after their events were written as one person', async () => {
    // anon-1 signs in as u1: its profile merges into u1's (or u1's into it). The events in the
    // lake keep the profile ids they were written with.
    await send([{ type: 'identify', anonymousId: 'anon-1', userId: 'u1' }])
    const store = await query(funnel, 'postgres')
    expect(store.result.steps?.map((s) => s.count)).toEqual([2, 2])
    // Before the lake has the merge, it still sees two people at the view (stale by its lag).
    const stale = await query(funnel, 'duckdb')
    expect(stale.result.steps?.map((s) => s.count)).toEqual([2, 1])
    expect(stale.meta.lake?.lagSeconds).toBeGreaterThanOrEqual(0)
    await writer.flush()
    const merged = await query(funnel, 'duckdb')
    expect(merged.result.steps?.map((s) => s.count)).toEqual([2, 2])
    // Auto: a lake holding the workspace and nothing waiting answers.
    const auto = await query(funnel)
    expect(auto.meta).toMatchObject({ backend: 'duckdb', lake: { lagSeconds: 0 } })
    expect(auto.result.steps?.map((s) => s.count)).toEqual([2, 2])
  })

  it('falls back to the store when the lake is too far behind for auto', async () => {
    await send([
      { type: 'track', userId: 'u3', event: 'Product Viewed', timestamp: '2025-03-20T10:00:00Z' },
    ])
    // Pretend the change has waited ten minutes (the default limit is 120 s).
    await k.kindred.store.db.query(
      `UPDATE lake_changes SET created_at = now() - interval '10 minutes'`,
    )
    const auto = await query(funnel)
    expect(auto.meta.backend).toBe('postgres')
    expect(auto.result.steps?.map((s) => s.count)).toEqual([3, 2])
    const lake = await query(funnel, 'duckdb')
    expect(lake.meta.lake?.lagSeconds).toBeGreaterThan(500)
    expect(lake.result.steps?.map((s) => s.count)).toEqual([2, 2])
  })
})
