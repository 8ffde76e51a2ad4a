/**
 * Segments and computed traits end to end: events through the tracking API move profiles in and
 * out of segments (real time), with history and outbox rows; windowed computed traits and
 * time-dependent segments change on a scheduler tick; batch (segment created after the events)
 * and real time (created before) give the same members; previews count what creation stores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../src/testing/test-server.js'
import { createSegmentsModule } from '../src/understand/segments-module.js'
import type { SegmentScheduler } from '../src/understand/engine/segments/segments-scheduler.js'

let k: TestKindred
let scheduler: SegmentScheduler
let writeKey: string
const DAY = 86_400_000
const ago = (ms: number) => new Date(Date.now() - ms).toISOString()

beforeAll(async () => {
  k = await startTestKindred({
    modules: [
      createSegmentsModule({ schedulerIntervalMs: 3_600_000, onScheduler: (s) => (scheduler = s) }),
    ],
  })
  ;({ writeKey } = await k.createSource('segments e2e'))
})
afterAll(() => k.close())

async function send(events: Array<Record<string, unknown>>): Promise<void> {
  const res = await k.track(writeKey, '/v1/batch', { batch: events })
  expect(res.status).toBe(200)
  await k.kindred.processor?.drain()
}

async function json<T = Record<string, unknown>>(
  path: string,
  init?: Parameters<TestKindred['admin']>[1],
) {
  const res = await k.admin(path, init)
  return { status: res.status, body: (res.status === 204 ? undefined : await res.json()) as T }
}

async function profileId(userId: string): Promise<string> {
  const r = await json<{ id: string }>(`/api/v1/profiles/lookup?type=user_id&value=${userId}`)
  expect(r.status).toBe(200)
  return r.body.id
}

async function members(segmentId: string): Promise<string[]> {
  const out: string[] = []
  let cursor: string | null = ''
  while (cursor !== null) {
    const r: { body: { data: Array<{ profileId: string }>; nextCursor: string | null } } =
      await json(
        `/api/v1/segments/${segmentId}/members?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      )
    out.push(...r.body.data.map((m) => m.profileId))
    cursor = r.body.nextCursor
  }
  return out.sort()
}

async function outbox(segmentId: string) {
  const res = await k.kindred.store.db.query<{
    kind: string
    profile_id: string
    payload: { segmentId: string; segmentName: string; at: string }
  }>(`SELECT kind, profile_id, payload FROM outbox WHERE payload->>'segmentId' = $1 ORDER BY id`, [
    segmentId,
  ])
  return res.rows
}

const order = (userId: string, at: string, total = 10) => ({
  type: 'track',
  userId,
  event: 'Order Completed',
  properties: { total },
  timestamp: at,
})

describe('segments end to end', () => {
  it('moves a profile in and out in real time, with history, outbox rows and computed traits', async () => {
    const ct = await json('/api/v1/computed-traits', {
      body: {
        id: 'orders_30d',
        name: 'Orders in 30 days',
        definition: {
          aggregate: 'count',
          event: { event: 'Order Completed' },
          window: { amount: 30, unit: 'days' },
        },
      },
    })
    expect(ct.status).toBe(201)
    const seg = await json<{ id: string; size: number }>('/api/v1/segments', {
      body: {
        id: 'pro_buyers',
        name: 'Pro buyers',
        definition: {
          kind: 'and',
          children: [
            { kind: 'trait', trait: 'plan', condition: { op: 'eq', value: 'pro' } },
            {
              kind: 'event',
              event: 'Order Completed',
              count: { op: 'gte', value: 2 },
              window: { kind: 'last', amount: 30, unit: 'days' },
            },
            { kind: 'computed_trait', id: 'orders_30d', condition: { op: 'gte', value: 2 } },
          ],
        },
      },
    })
    expect(seg.status).toBe(201)
    expect(seg.body.size).toBe(0)

    await send([
      { type: 'identify', userId: 'rt-1', traits: { plan: 'pro' } },
      order('rt-1', ago(DAY)),
    ])
    const pid = await profileId('rt-1')
    expect(await members('pro_buyers')).toEqual([])
    await send([order('rt-1', ago(2 * DAY))])
    expect(await members('pro_buyers')).toEqual([pid])
    const ctv = await k.kindred.store.db.query<{ value: unknown }>(
      `SELECT value FROM computed_trait_values WHERE profile_id = $1 AND computed_trait_id = 'orders_30d'`,
      [pid],
    )
    expect(ctv.rows[0]?.value).toBe(2)
    const entered = await outbox('pro_buyers')
    expect(entered).toHaveLength(1)
    expect(entered[0]).toMatchObject({
      kind: 'segment.entered',
      profile_id: pid,
      payload: { segmentId: 'pro_buyers', segmentName: 'Pro buyers' },
    })
    expect(Date.parse(entered[0]?.payload.at ?? '')).toBeGreaterThan(0)
    const profileSegments = await json<{ data: Array<{ id: string }> }>(
      `/api/v1/profiles/${pid}/segments`,
    )
    expect(profileSegments.body.data.map((s) => s.id)).toEqual(['pro_buyers'])

    await send([{ type: 'identify', userId: 'rt-1', traits: { plan: 'free' } }])
    expect(await members('pro_buyers')).toEqual([])
    expect((await outbox('pro_buyers')).map((r) => r.kind)).toEqual([
      'segment.entered',
      'segment.exited',
    ])
    const history = await json<{ data: Array<{ enteredAt: string; exitedAt: string | null }> }>(
      `/api/v1/segments/pro_buyers/members/${pid}/history`,
    )
    expect(history.body.data).toHaveLength(1)
    expect(history.body.data[0]?.exitedAt).not.toBeNull()

    // Back in: a second stay in the history.
    await send([{ type: 'identify', userId: 'rt-1', traits: { plan: 'pro' } }])
    expect(await members('pro_buyers')).toEqual([pid])
    const again = await json<{ data: Array<{ exitedAt: string | null }> }>(
      `/api/v1/segments/pro_buyers/members/${pid}/history`,
    )
    expect(again.body.data.map((h) => h.exitedAt === null)).toEqual([true, false])
  })

  it('expires windowed computed traits and time-dependent segments on a scheduler tick', async () => {
    await json('/api/v1/computed-traits', {
      body: {
        id: 'visits_3d',
        name: 'Visits in 3 days',
        definition: {
          aggregate: 'count',
          event: { event: 'Visited' },
          window: { amount: 3, unit: 'days' },
        },
      },
    })
    await json('/api/v1/segments', {
      body: {
        id: 'recent_visitors',
        name: 'Visited in the last 7 days',
        definition: {
          kind: 'event',
          event: 'Visited',
          window: { kind: 'last', amount: 7, unit: 'days' },
        },
      },
    })
    await json('/api/v1/segments', {
      body: {
        id: 'busy_visitors',
        name: 'Two visits in 3 days',
        definition: { kind: 'computed_trait', id: 'visits_3d', condition: { op: 'gte', value: 2 } },
      },
    })
    await send([
      { type: 'track', userId: 'tm-1', event: 'Visited', timestamp: ago(DAY) },
      { type: 'track', userId: 'tm-1', event: 'Visited', timestamp: ago(DAY + 60_000) },
    ])
    const pid = await profileId('tm-1')
    expect(await members('recent_visitors')).toEqual([pid])
    expect(await members('busy_visitors')).toEqual([pid])

    // Five days later: the 3-day window is over, the 7-day one is not.
    const r1 = await scheduler.tick(new Date(Date.now() + 5 * DAY))
    expect(r1.computedTraitsExpired).toBeGreaterThanOrEqual(1)
    expect(await members('busy_visitors')).toEqual([])
    expect(await members('recent_visitors')).toEqual([pid])
    const v = await k.kindred.store.db.query(
      `SELECT value FROM computed_trait_values WHERE profile_id = $1 AND computed_trait_id = 'visits_3d'`,
      [pid],
    )
    expect(v.rows).toEqual([]) // an empty window has no row, exactly as a backfill would store

    // Seven days later the visitor leaves the segment too.
    await scheduler.tick(new Date(Date.now() + 7 * DAY))
    expect(await members('recent_visitors')).toEqual([])
    expect((await outbox('recent_visitors')).map((r) => r.kind)).toEqual([
      'segment.entered',
      'segment.exited',
    ])
    expect((await outbox('busy_visitors')).map((r) => r.kind)).toEqual([
      'segment.entered',
      'segment.exited',
    ])
    const sizes = await json<{ data: Array<{ size: number }> }>(
      '/api/v1/segments/recent_visitors/sizes',
    )
    expect(sizes.body.data.length).toBeGreaterThanOrEqual(2)
    expect(sizes.body.data.at(-1)?.size).toBe(0)
  })

  it('gives the same members in real time and in batch, and previews count them', async () => {
    await json('/api/v1/computed-traits', {
      body: {
        id: 'spend',
        name: 'Total spend',
        definition: { aggregate: 'sum', property: 'total', event: { event: 'Order Completed' } },
      },
    })
    const definition = {
      kind: 'or',
      children: [
        { kind: 'computed_trait', id: 'spend', condition: { op: 'gte', value: 100 } },
        {
          kind: 'and',
          children: [
            { kind: 'trait', trait: 'country', condition: { op: 'eq', value: 'FR' } },
            {
              kind: 'event',
              event: 'Order Completed',
              where: [{ property: 'total', condition: { op: 'gt', value: 20 } }],
            },
          ],
        },
      ],
    }
    await json('/api/v1/segments', {
      body: { id: 'valuable_rt', name: 'Valuable (real time)', definition },
    })
    const events: Array<Record<string, unknown>> = []
    for (let i = 0; i < 12; i++) {
      const u = `ag-${i}`
      events.push({ type: 'identify', userId: u, traits: { country: i % 3 === 0 ? 'FR' : 'DE' } })
      for (let j = 0; j <= i % 4; j++)
        events.push(order(u, ago((j + 1) * 3_600_000), 15 + 10 * ((i + j) % 5)))
    }
    await send(events.slice(0, 20))
    await send(events.slice(20))
    const realTime = await members('valuable_rt')
    expect(realTime.length).toBeGreaterThan(0)
    expect(realTime.length).toBeLessThan(12)

    const preview = await json<{
      count: number
      sample: Array<{ id: string; traits: Record<string, unknown> }>
      tookMs: number
    }>('/api/v1/segments/preview', { body: { definition } })
    expect(preview.status).toBe(200)
    expect(preview.body.count).toBe(realTime.length)
    expect(preview.body.sample.map((s) => s.id)).toEqual(realTime.slice(0, 20))
    expect(preview.body.sample[0]?.traits).toHaveProperty('country')

    const batch = await json<{ size: number }>('/api/v1/segments', {
      body: { id: 'valuable_batch', name: 'Valuable (batch)', definition },
    })
    expect(batch.body.size).toBe(realTime.length)
    expect(await members('valuable_batch')).toEqual(realTime)
    expect(
      (await outbox('valuable_batch')).filter((r) => r.kind === 'segment.entered'),
    ).toHaveLength(realTime.length)

    // A computed trait backfilled after the events equals the incrementally kept one.
    await json('/api/v1/computed-traits', {
      body: {
        id: 'spend_batch',
        name: 'Total spend (batch)',
        definition: { aggregate: 'sum', property: 'total', event: { event: 'Order Completed' } },
      },
    })
    const cmp = await k.kindred.store.db.query<{ a: number; b: number }>(
      `SELECT a.value AS a, b.value AS b FROM computed_trait_values a
       FULL JOIN computed_trait_values b ON b.profile_id = a.profile_id AND b.computed_trait_id = 'spend_batch'
       WHERE a.computed_trait_id = 'spend'`,
    )
    expect(cmp.rows.length).toBeGreaterThan(10)
    for (const r of cmp.rows) expect(r.a).toBe(r.b)

    const ctPreview = await json<{ sample: Array<{ profileId: string; value: unknown }> }>(
      '/api/v1/computed-traits/preview',
      { body: { definition: { aggregate: 'count', event: { event: 'Order Completed' } } } },
    )
    expect(ctPreview.body.sample.length).toBeGreaterThan(0)
    for (const s of ctPreview.body.sample) expect(s.value).toBeGreaterThanOrEqual(1)

    // Updating the definition re-evaluates (and reports) the new membership.
    const upd = await json<{ size: number; version: number }>('/api/v1/segments/valuable_batch', {
      method: 'PUT',
      body: {
        definition: { kind: 'trait', trait: 'country', condition: { op: 'eq', value: 'FR' } },
      },
    })
    expect(upd.body.version).toBe(2)
    expect(upd.body.size).toBe(4)
  })

  it('exits merged-away profiles and folds their computed trait states into the survivor', async () => {
    await json('/api/v1/computed-traits', {
      body: {
        id: 'views',
        name: 'Views',
        definition: { aggregate: 'count', event: { event: 'Viewed' } },
      },
    })
    await json('/api/v1/segments', {
      body: { id: 'viewers', name: 'Viewers', definition: { kind: 'event', event: 'Viewed' } },
    })
    await send([
      { type: 'track', anonymousId: 'anon-m1', event: 'Viewed' },
      { type: 'track', userId: 'mg-1', event: 'Viewed' },
    ])
    expect(await members('viewers')).toHaveLength(2)
    await send([{ type: 'identify', userId: 'mg-1', anonymousId: 'anon-m1', traits: {} }])
    const pid = await profileId('mg-1')
    expect(await members('viewers')).toEqual([pid])
    const kinds = (await outbox('viewers')).map((r) => r.kind)
    expect(kinds).toEqual(['segment.entered', 'segment.entered', 'segment.exited'])
    const v = await k.kindred.store.db.query<{ profile_id: string; value: unknown }>(
      `SELECT profile_id, value FROM computed_trait_values WHERE computed_trait_id = 'views'
       AND profile_id IN (SELECT id FROM profiles WHERE id = $1 OR merged_into = $1)`,
      [pid],
    )
    expect(v.rows).toEqual([{ profile_id: pid, value: 2 }])
  })

  it('re-evaluates a survivor that absorbed a profile without any segment state', async () => {
    await json('/api/v1/segments', {
      body: {
        id: 'double_clickers',
        name: 'Clicked twice',
        definition: { kind: 'event', event: 'Clicked', count: { op: 'gte', value: 2 } },
      },
    })
    await send([
      { type: 'track', anonymousId: 'anon-c1', event: 'Clicked' },
      { type: 'track', userId: 'clk-1', event: 'Clicked' },
    ])
    expect(await members('double_clickers')).toEqual([])
    await send([{ type: 'identify', userId: 'clk-1', anonymousId: 'anon-c1', traits: {} }])
    expect(await members('double_clickers')).toEqual([await profileId('clk-1')])
  })

  it('validates definitions, rejects cycles and dangling references, isolates workspaces', async () => {
    const bad = await json<{ error: { code: string } }>('/api/v1/segments', {
      body: {
        name: 'Bad',
        definition: { kind: 'trait', trait: 'plan', condition: { op: 'nope' } },
      },
    })
    expect(bad.status).toBe(400)
    expect(bad.body.error.code).toBe('VALIDATION_FAILED')
    await json('/api/v1/segments', {
      body: {
        id: 'a',
        name: 'A',
        definition: { kind: 'trait', trait: 'x', condition: { op: 'exists' } },
      },
    })
    await json('/api/v1/segments', {
      body: { id: 'b', name: 'B', definition: { kind: 'segment', id: 'a' } },
    })
    const cycle = await json<{ error: { details: { code: string } } }>('/api/v1/segments/a', {
      method: 'PUT',
      body: { definition: { kind: 'segment', id: 'b' } },
    })
    expect(cycle.status).toBe(400)
    expect(cycle.body.error.details.code).toBe('SEGMENT_CYCLE')
    const unknownCt = await json('/api/v1/segments', {
      body: {
        name: 'C',
        definition: { kind: 'computed_trait', id: 'missing', condition: { op: 'exists' } },
      },
    })
    expect(unknownCt.status).toBe(400)
    expect((await json('/api/v1/segments/a', { method: 'DELETE' })).status).toBe(409)
    expect((await json('/api/v1/computed-traits/spend', { method: 'DELETE' })).status).toBe(409)
    expect((await json('/api/v1/segments/b', { method: 'DELETE' })).status).toBe(204)
    expect((await json('/api/v1/segments/b')).status).toBe(404)

    const other = { headers: { 'x-kindred-workspace': 'other-ws' } }
    expect((await json<{ data: unknown[] }>('/api/v1/segments', other)).body.data).toEqual([])
    expect((await json('/api/v1/segments/a', other)).status).toBe(404)
    const list = await json<{ data: Array<{ id: string; size: number }> }>('/api/v1/segments')
    expect(list.body.data.find((s) => s.id === 'viewers')?.size).toBe(1)
    const schema = await json<{ schema: { $schema?: string } }>('/api/v1/segments/schema')
    expect(schema.status).toBe(200)
    expect(JSON.stringify(schema.body.schema)).toContain('funnel')
  })
})
