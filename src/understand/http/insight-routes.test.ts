import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, testStores, type TestKindred } from '../../testing/test-server.js'
import { createInsightsModule } from '../insights-module.js'

const funnel = {
  kind: 'funnel',
  steps: [{ event: 'Viewed' }, { event: 'Added' }, { event: 'Bought' }],
  range: { kind: 'between', from: '2025-01-06', to: '2025-01-07' },
}

describe.each(testStores())('insights API on %s', (store) => {
  let k: TestKindred
  let writeKey: string
  const ids: Record<string, string> = {}

  beforeAll(async () => {
    k = await startTestKindred({ store })
    writeKey = (await k.createSource()).writeKey
    const t = (userId: string, event: string, timestamp: string, properties = {}) => ({
      type: 'track',
      userId,
      event,
      timestamp,
      properties,
    })
    const res = await k.track(writeKey, '/v1/batch', {
      batch: [
        t('u1', 'Viewed', '2025-01-06T10:00:00Z', { plan: 'pro' }),
        t('u1', 'Added', '2025-01-06T10:05:00Z'),
        t('u1', 'Bought', '2025-01-06T10:10:00Z', { revenue: 30 }),
        // 00:30 on 7 January in Berlin, the workspace's zone.
        t('u2', 'Viewed', '2025-01-06T23:30:00Z', { plan: 'free' }),
        t('u2', 'Added', '2025-01-07T08:00:00Z'),
        t('u3', 'Viewed', '2025-01-06T12:00:00Z', { plan: '=HYPERLINK("x")' }),
      ],
    })
    expect(res.status).toBe(200)
    await k.kindred.processor?.drain()
    await k.kindred.store.db.query(
      `UPDATE workspaces SET settings = jsonb_set(settings, '{timeZone}', '"Europe/Berlin"')`,
    )
    for (const u of ['u1', 'u2', 'u3']) {
      const p = await k.admin(`/api/v1/profiles/lookup?type=user_id&value=${u}`)
      ids[u] = ((await p.json()) as { id: string }).id
    }
  })
  afterAll(() => k.close())

  it('runs a funnel and a daily trend in the workspace time zone', async () => {
    const res = await k.admin('/api/v1/insights/query', { body: { definition: funnel } })
    expect(res.status).toBe(200)
    const { result, meta } = (await res.json()) as {
      result: { steps: Array<{ count: number; medianSecondsToConvert: number | null }> }
      meta: { backend: string; timeZone: string }
    }
    expect(meta).toMatchObject({ backend: 'postgres', timeZone: 'Europe/Berlin' })
    expect(result.steps.map((s) => s.count)).toEqual([3, 2, 1])
    // u1 took 300 s, u2 8.5 h: the median of two is their mean.
    expect(result.steps[1]?.medianSecondsToConvert).toBe((300 + 8.5 * 3600) / 2)

    const trend = await k.admin('/api/v1/insights/query', {
      body: {
        definition: {
          kind: 'trends',
          series: [{ event: 'Viewed' }],
          interval: 'day',
          range: { kind: 'between', from: '2025-01-06', to: '2025-01-07' },
        },
      },
    })
    const t = (await trend.json()) as {
      result: { lines: Array<{ buckets: Array<{ start: string; value: number }> }> }
    }
    expect(t.result.lines[0]?.buckets).toEqual([
      { start: '2025-01-06', value: 2 },
      { start: '2025-01-07', value: 1 },
    ])
  })

  it('lists who dropped at a step, so a segment can be made of them', async () => {
    const res = await k.admin('/api/v1/insights/query/profiles', {
      body: { definition: funnel, step: 2, outcome: 'dropped' },
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      step: 2,
      outcome: 'dropped',
      profileIds: [ids.u3],
      nextCursor: null,
    })
    const conv = await k.admin('/api/v1/insights/query/profiles', {
      body: { definition: funnel, step: 2, outcome: 'converted', limit: 1 },
    })
    const page = (await conv.json()) as { profileIds: string[]; nextCursor: string | null }
    expect(page.profileIds).toHaveLength(1)
    expect([ids.u1, ids.u2]).toContain(page.profileIds[0])
    expect(page.nextCursor).toBe(page.profileIds[0])
  })

  it('answers 400 naming the offending field; unknown events are just empty', async () => {
    const bad = await k.admin('/api/v1/insights/query', {
      body: {
        definition: { ...funnel, steps: [{ event: 'Viewed', where: [{ property: 'x' }] }, {}] },
      },
    })
    expect(bad.status).toBe(400)
    const body = (await bad.json()) as {
      error: { code: string; message: string; details: { issues: Array<{ path: string }> } }
    }
    expect(body.error.code).toBe('VALIDATION_FAILED')
    expect(body.error.details.issues.map((i) => i.path)).toContain('steps.0.where.0.condition')
    expect(body.error.message).toContain('steps.0.where.0.condition')
    const zone = await k.admin('/api/v1/insights/query', {
      body: { definition: { ...funnel, timeZone: '+01:00' } },
    })
    expect(zone.status).toBe(400)
    expect(await zone.text()).toContain('timeZone')
    const unknown = await k.admin('/api/v1/insights/query', {
      body: { definition: { ...funnel, steps: [{ event: 'Nope' }, { event: 'Never' }] } },
    })
    expect(unknown.status).toBe(200)
    const u = (await unknown.json()) as { result: { steps: Array<{ count: number }> } }
    expect(u.result.steps.map((s) => s.count)).toEqual([0, 0])
    const lake = await k.admin('/api/v1/insights/query', {
      body: { definition: funnel, backend: 'duckdb' },
    })
    expect(lake.status).toBe(400)
  })

  it('exports a result as CSV, formulas neutralised', async () => {
    const trends = {
      kind: 'trends',
      series: [{ event: 'Viewed' }],
      interval: 'week',
      breakdown: { property: 'plan' },
      range: { kind: 'between', from: '2025-01-06', to: '2025-01-07' },
    }
    const res = await k.admin('/api/v1/insights/query?format=csv', { body: { definition: trends } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/csv')
    const lines = (await res.text()).trim().split('\n')
    expect(lines[0]).toBe('period,series,name,measure,breakdown,bucket,value')
    expect(lines).toContain(`current,0,Viewed,count,"'=HYPERLINK(""x"")",2025-01-06,1`)
    const accept = await k.admin('/api/v1/insights/query', {
      body: { definition: funnel },
      headers: { accept: 'text/csv' },
    })
    expect((await accept.text()).split('\n')[1]).toBe(',1,Viewed,Viewed,3,1,')
  })

  it('saves, lists, updates, runs and deletes insights, each change audited', async () => {
    const created = await k.admin('/api/v1/insights', {
      body: { name: 'Checkout funnel', definition: funnel },
    })
    expect(created.status).toBe(201)
    const saved = (await created.json()) as { id: string; kind: string; version: number }
    expect(saved).toMatchObject({ kind: 'funnel', version: 1 })
    const list = (await (await k.admin('/api/v1/insights')).json()) as {
      data: Array<{ id: string }>
    }
    expect(list.data.map((i) => i.id)).toContain(saved.id)
    const put = await k.admin(`/api/v1/insights/${saved.id}`, {
      method: 'PUT',
      body: { name: 'Checkout', definition: { ...funnel, order: 'any' } },
    })
    expect(put.status).toBe(200)
    expect(await put.json()).toMatchObject({ name: 'Checkout', version: 2 })
    const run = await k.admin(`/api/v1/insights/${saved.id}/query`, { body: {} })
    const r = (await run.json()) as { result: { order: string; steps: Array<{ count: number }> } }
    expect(r.result.order).toBe('any')
    expect(r.result.steps.map((s) => s.count)).toEqual([3, 2, 1])
    expect((await k.admin(`/api/v1/insights/${saved.id}`, { method: 'DELETE' })).status).toBe(204)
    expect((await k.admin(`/api/v1/insights/${saved.id}`)).status).toBe(404)
    const { rows } = await k.kindred.store.db.query<{ action: string; target_id: string | null }>(
      `SELECT action, target_id FROM audit_log WHERE action LIKE 'insight.%' ORDER BY id`,
    )
    const actions = rows.map((x) => x.action)
    expect(actions).toEqual(
      expect.arrayContaining(['insight.create', 'insight.update', 'insight.delete']),
    )
    expect(rows.filter((x) => x.target_id === saved.id).length).toBeGreaterThanOrEqual(3)
    // A query is recorded as a summary: never the result (which may list profile ids).
    const { rows: q } = await k.kindred.store.db.query<{ after: unknown }>(
      `SELECT after FROM audit_log WHERE action = 'insight.query.profile' ORDER BY id LIMIT 1`,
    )
    expect(JSON.stringify(q)).not.toContain(ids.u3)
  })

  it('saves and runs customer value, lifecycle and stickiness insights', async () => {
    const range = { kind: 'between', from: '2025-01-06', to: '2025-01-12' }
    const defs = [
      { kind: 'value', purchase: { event: 'Bought' }, asOf: '2025-01-31' },
      { kind: 'lifecycle', event: { event: 'Viewed' }, interval: 'day', range },
      { kind: 'stickiness', event: { event: 'Viewed' }, range },
    ]
    const results: unknown[] = []
    for (const definition of defs) {
      const created = await k.admin('/api/v1/insights', {
        body: { name: definition.kind, definition },
      })
      expect(created.status).toBe(201)
      const { id } = (await created.json()) as { id: string }
      const run = await k.admin(`/api/v1/insights/${id}/query`, { body: {} })
      expect(run.status).toBe(200)
      results.push(((await run.json()) as { result: unknown }).result)
      const csv = await k.admin(`/api/v1/insights/${id}/query?format=csv`, { body: {} })
      expect(csv.status).toBe(200)
    }
    // u1 bought once for 30; in Berlin u2's first view is on the 7th, u1's and u3's on the 6th.
    expect(results[0]).toMatchObject({
      total: { customers: 1, orders: 1, revenue: 30, averageOrderValue: 30, ltv: 30 },
      cohorts: [{ start: '2025-01-01', customers: 1 }],
    })
    const days = (results[1] as { periods: unknown[] }).periods
    expect(days).toHaveLength(7)
    expect(days.slice(0, 3)).toMatchObject([
      { start: '2025-01-06', new: 2, returning: 0, dormant: 0 },
      { start: '2025-01-07', new: 1, returning: 0, dormant: 2 },
      { start: '2025-01-08', new: 0, dormant: 1 },
    ])
    expect(results[2]).toMatchObject({ periods: [{ start: '2025-01-06', profiles: 3 }] })
  })

  it('keeps to the scopes: read to query, profiles to list people, write to save', async () => {
    const key = async (scopes: string[]) => {
      const res = await k.admin('/api/v1/api-keys', { body: { name: scopes.join(' '), scopes } })
      return ((await res.json()) as { secret: string }).secret
    }
    const reader = await key(['read:insights'])
    const call = (token: string, path: string, body?: unknown) =>
      fetch(`${k.url}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
    expect((await call(reader, '/api/v1/insights/query', { definition: funnel })).status).toBe(200)
    expect(
      (await call(reader, '/api/v1/insights/query/profiles', { definition: funnel, step: 2 }))
        .status,
    ).toBe(403)
    expect((await call(reader, '/api/v1/insights', { name: 'x', definition: funnel })).status).toBe(
      403,
    )
    const none = await key(['read:segments'])
    expect((await call(none, '/api/v1/insights/query', { definition: funnel })).status).toBe(403)
    expect((await fetch(`${k.url}/api/v1/insights`)).status).toBe(401)
  })
})

describe('insights over the time limit', () => {
  let k: TestKindred
  beforeAll(async () => {
    // One event per second of limit: the embedded store refuses before it starts.
    k = await startTestKindred({
      modules: [createInsightsModule({ timeoutMs: 1_000, embeddedEventsPerSecond: 1 })],
    })
    const { writeKey } = await k.createSource()
    await k.track(writeKey, '/v1/batch', {
      batch: ['a', 'b', 'c'].map((u) => ({
        type: 'track',
        userId: u,
        event: 'Viewed',
        timestamp: '2025-01-06T10:00:00Z',
      })),
    })
    await k.kindred.processor?.drain()
  })
  afterAll(() => k.close())

  it('answers QUERY_TIMEOUT, and the server goes on answering', async () => {
    const res = await k.admin('/api/v1/insights/query', { body: { definition: funnel } })
    expect(res.status).toBe(504)
    const body = (await res.json()) as {
      error: { code: string; message: string; details: unknown }
    }
    expect(body.error.code).toBe('QUERY_TIMEOUT')
    expect(body.error.message).toContain('1000 ms')
    expect(body.error.details).toMatchObject({ reason: 'embedded_budget', budget: 1 })
    expect((await k.admin('/api/v1/insights')).status).toBe(200)
  })
})
