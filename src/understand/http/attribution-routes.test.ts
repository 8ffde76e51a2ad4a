import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, testStores, type TestKindred } from '../../testing/test-server.js'

interface Row {
  key: string
  conversions: number
  revenue: number
  conversionsInterval: [number, number] | null
}
interface Report {
  totals: { conversions: number; revenue: number; paths: number }
  models: Record<string, Row[]>
  bootstrap: { requested: number; completed: number }
  markov: { removalEffects: Record<string, number> }
}

const query = {
  conversion: { event: 'Order Completed', revenueProperty: 'revenue' },
  range: { from: '2025-03-01T00:00:00Z', to: '2025-03-31T00:00:00Z' },
  bootstrap: 50,
  seed: 3,
}

describe.each(testStores())('attribution API on %s', (store) => {
  let k: TestKindred

  beforeAll(async () => {
    k = await startTestKindred({ store })
    const { writeKey } = await k.createSource()
    const page = (userId: string, timestamp: string, context: Record<string, unknown>) => ({
      type: 'page',
      userId,
      timestamp,
      context,
    })
    const order = (userId: string, timestamp: string, revenue: unknown) => ({
      type: 'track',
      userId,
      event: 'Order Completed',
      timestamp,
      properties: { revenue },
    })
    const res = await k.track(writeKey, '/v1/batch', {
      batch: [
        // u1: email (campaign context) then organic search, then buys for 100.
        page('u1', '2025-03-02T10:00:00Z', {
          campaign: { source: 'newsletter', medium: 'email', name: 'march' },
          page: { url: 'https://shop.example/' },
        }),
        page('u1', '2025-03-05T10:00:00Z', {
          page: { url: 'https://shop.example/p/1', referrer: 'https://www.google.com/' },
        }),
        // A page of the site itself is no touch.
        page('u1', '2025-03-05T10:02:00Z', {
          page: { url: 'https://shop.example/cart', referrer: 'https://shop.example/p/1' },
        }),
        order('u1', '2025-03-05T10:05:00Z', 100),
        // u2: paid search by UTM in the URL, buys for 40 (revenue as a string is not revenue).
        page('u2', '2025-03-10T09:00:00Z', {
          page: {
            url: 'https://shop.example/?utm_source=google&utm_medium=cpc&utm_campaign=brand',
          },
        }),
        order('u2', '2025-03-10T09:30:00Z', 40),
        order('u2', '2025-03-11T09:30:00Z', '12'),
        // u3: touched by email, never buys.
        page('u3', '2025-03-12T09:00:00Z', {
          campaign: { source: 'newsletter', medium: 'email', name: 'march' },
        }),
        // u4: bought in February, outside the range.
        page('u4', '2025-02-10T09:00:00Z', { campaign: { source: 'x', medium: 'paid-social' } }),
        order('u4', '2025-02-10T10:00:00Z', 70),
      ],
    })
    expect(res.status).toBe(200)
    await k.kindred.processor?.drain()
  })
  afterAll(() => k.close())

  it('answers every model by channel and campaign, summing to conversions and revenue', async () => {
    const res = await k.admin('/api/v1/attribution/query', { body: query })
    expect(res.status).toBe(200)
    const out = (await res.json()) as {
      byChannel: Report
      byCampaign: Report
      meta: { rows: number }
    }
    const ch = out.byChannel
    expect(ch.totals).toEqual({ conversions: 3, revenue: 140, paths: 4 })
    const first = Object.fromEntries(
      ch.models['first-touch']!.map((r) => [r.key, [r.conversions, r.revenue]]),
    )
    expect(first).toEqual({ email: [1, 100], 'paid-search': [1, 40], '(no touch)': [1, 0] })
    const last = Object.fromEntries(
      ch.models['last-touch']!.map((r) => [r.key, [r.conversions, r.revenue]]),
    )
    expect(last).toEqual({
      'organic-search': [1, 100],
      'paid-search': [1, 40],
      '(no touch)': [1, 0],
    })
    for (const rows of Object.values(ch.models)) {
      expect(rows.reduce((s, r) => s + r.conversions, 0)).toBeCloseTo(3, 9)
      expect(rows.reduce((s, r) => s + r.revenue, 0)).toBeCloseTo(140, 9)
      for (const r of rows) expect(r.conversionsInterval).not.toBeNull()
    }
    expect(ch.bootstrap).toMatchObject({ requested: 50, completed: 50 })
    const campaigns = out.byCampaign.models['linear']!.map((r) => r.key).sort()
    expect(campaigns).toEqual(['(no touch)', '(none)', 'brand', 'march'])
    // Seeded: the same query answers the same numbers.
    const again = (await (
      await k.admin('/api/v1/attribution/query', { body: query })
    ).json()) as typeof out
    expect(again.byChannel).toEqual(out.byChannel)
  })

  it('refuses a bad query with the field named', async () => {
    const bad = await k.admin('/api/v1/attribution/query', { body: { ...query, markovOrder: 5 } })
    expect(bad.status).toBe(400)
    const body = (await bad.json()) as { error: { code: string; details: Array<{ path: string }> } }
    expect(body.error.code).toBe('VALIDATION_FAILED')
    expect(body.error.details[0]?.path).toBe('markovOrder')
    const reversed = await k.admin('/api/v1/attribution/query', {
      body: { ...query, range: { from: '2025-03-31', to: '2025-03-01' } },
    })
    expect(reversed.status).toBe(400)
  })
})

describe('attribution time limit on the embedded store', () => {
  let k: TestKindred
  beforeAll(async () => {
    const { createAttributionModule } = await import('../attribution-module.js')
    k = await startTestKindred({
      modules: [createAttributionModule({ timeoutMs: 1000, embeddedRowsPerSecond: 1 })],
    })
    await k.kindred.store.db.query(
      `INSERT INTO events (workspace_id, profile_id, source_id, message_id, seq, type, event, "timestamp", received_at, payload)
       SELECT id, 'p' || g, 's', 'm' || g, g, 'page', NULL, '2025-03-02T00:00:00Z', now(), '{}'::jsonb
         FROM workspaces, generate_series(1, 5) g`,
    )
  })
  afterAll(() => k.close())

  it('refuses up front what it could not finish in time', async () => {
    const res = await k.admin('/api/v1/attribution/query', { body: query })
    expect(res.status).toBe(504)
    const body = (await res.json()) as { error: { code: string; details: { budget: number } } }
    expect(body.error.code).toBe('QUERY_TIMEOUT')
    expect(body.error.details.budget).toBe(1)
  })
})
