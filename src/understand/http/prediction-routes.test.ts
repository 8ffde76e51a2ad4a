/**
 * Predictions end to end: the CDNOW sample (2,357 customers, 6,919 purchases) sent through the
 * tracking API as `Order Completed` events → a `clv` prediction trained in the background →
 * its report carries the published BG/NBD and Gamma-Gamma parameters (Fader, Hardie & Lee 2005)
 * and a holdout check → the traits are on the profiles (Profile API), equal to what the pure
 * core computes from the raw file → a segment on `predicted.cdnow.p_alive` has exactly the
 * customers whose P(alive) passes the threshold. Also: bad input is a 400 in the error shape,
 * too little data is a report that says why, and a prediction a segment reads is not deleted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cdnowPurchases } from '../../testing/cdnow-data.js'
import { startTestKindred, testStores, type TestKindred } from '../../testing/test-server.js'
import { until } from '../../testing/test-receiver.js'
import { clvSettingsSchema, trainClv } from '../core/predictions/index.js'

const purchases = cdnowPurchases()
const settings = { calibrationEnd: '1997-09-30', horizonPeriods: 52, discountRate: 0.1 }
const expected = trainClv(
  purchases.map((p) => ({ ...p, customerId: `cdnow-${p.customerId}` })),
  clvSettingsSchema.parse(settings),
)
const THRESHOLD = 0.5

interface Prediction {
  id: string
  status: string
  traits: string[]
  report: {
    trained: boolean
    reasons?: string[]
    parameters: Record<string, number>
    standardErrors: Record<string, number>
    spend: { parameters: Record<string, number> }
    window: { calibrationEnd: string; holdout: { periods: number } | null }
    rows: { customers: number; repeatCustomers: number }
    holdout: { predicted: number; actual: number } | null
  }
}

describe.each(testStores())('predictions end to end (%s)', (store) => {
  let k: TestKindred
  const profileOf = new Map<string, string>()

  async function waitFinished(id: string): Promise<Prediction> {
    return until(
      async () => {
        const p = (await (await k.admin(`/api/v1/predictions/${id}`)).json()) as Prediction
        return p.status === 'queued' || p.status === 'training' ? undefined : p
      },
      120_000,
      100,
    )
  }

  beforeAll(async () => {
    k = await startTestKindred({ store })
    const { writeKey } = await k.createSource('Shop', {
      rateLimit: { eventsPerSecond: 1e6, burst: 1e6 },
    })
    const events = purchases.map((p, i) => ({
      type: 'track',
      event: 'Order Completed',
      userId: `cdnow-${p.customerId}`,
      messageId: `cdnow-${i}`,
      timestamp: new Date(p.timeMs).toISOString(),
      properties: { revenue: p.value },
    }))
    for (let i = 0; i < events.length; i += 500) {
      const res = await k.track(writeKey, '/v1/batch', { batch: events.slice(i, i + 500) })
      expect(res.status).toBe(200)
    }
    await k.kindred.processor?.drain()
    const r = await k.kindred.store.db.query<{ id: string; user_id: string }>(
      `SELECT DISTINCT coalesce(p.merged_into, e.profile_id) AS id, e.user_id FROM events e
       JOIN profiles p ON p.workspace_id = e.workspace_id AND p.id = e.profile_id`,
    )
    for (const row of r.rows) profileOf.set(row.user_id, row.id)
  }, 300_000)
  afterAll(async () => {
    await k?.close()
  })

  it('refuses bad input with a 400 in the error shape', async () => {
    for (const body of [
      { name: 'x', kind: 'propensity', horizonPeriods: 52, discountRate: 0.1 },
      { name: 'Bad Name', kind: 'clv', horizonPeriods: 52, discountRate: 0.1 },
      { name: 'ok', kind: 'clv', horizonPeriods: 0, discountRate: 0.1 },
      { name: 'ok', kind: 'clv', horizonPeriods: 52, discountRate: 0.1, calibrationEnd: 'soon' },
      { name: 'ok', kind: 'clv', horizonPeriods: 52, discountRate: 0.1, unknown: true },
    ]) {
      const res = await k.admin('/api/v1/predictions', { body })
      expect(res.status).toBe(400)
      const err = (await res.json()) as { error: { code: string; message: string } }
      expect(err.error.code).toBe('VALIDATION_FAILED')
    }
    expect((await k.admin('/api/v1/predictions/prd_nope')).status).toBe(404)
  })

  it('trains on CDNOW in the background and reports the published parameters', async () => {
    const res = await k.admin('/api/v1/predictions', {
      body: { name: 'cdnow', kind: 'clv', ...settings },
    })
    expect(res.status).toBe(202)
    const created = (await res.json()) as Prediction
    expect(created.status).toBe('queued')
    expect(created.traits).toEqual([
      'predicted.cdnow.expected_purchases',
      'predicted.cdnow.p_alive',
      'predicted.cdnow.value',
    ])
    const dup = await k.admin('/api/v1/predictions', {
      body: { name: 'cdnow', kind: 'clv', ...settings },
    })
    expect(dup.status).toBe(409)

    const p = await waitFinished(created.id)
    expect(p.status).toBe('ready')
    const r = p.report
    expect(r.parameters.r).toBeCloseTo(0.243, 2)
    expect(r.parameters.alpha).toBeCloseTo(4.414, 2)
    expect(r.parameters.a).toBeCloseTo(0.793, 2)
    expect(r.parameters.b).toBeCloseTo(2.426, 2)
    expect(r.standardErrors.r).toBeGreaterThan(0)
    expect(r.spend.parameters.p).toBeCloseTo(6.25, 2)
    expect(r.spend.parameters.q).toBeCloseTo(3.74, 2)
    expect(r.spend.parameters.v).toBeCloseTo(15.44, 2)
    expect(r.window.calibrationEnd).toBe('1997-09-30')
    expect(r.window.holdout?.periods).toBe(39)
    expect(r.rows.customers).toBe(2357)
    expect(r.holdout?.actual).toBeGreaterThan(0)

    const list = (await (await k.admin('/api/v1/predictions')).json()) as { data: Prediction[] }
    expect(list.data.map((x) => x.id)).toContain(created.id)
  })

  it('puts the scores on profiles as computed traits (Profile API)', async () => {
    if (!expected.ok) throw new Error('the reference training found too little data')
    for (const s of expected.scores.slice(0, 25)) {
      const res = await k.admin(`/api/v1/profiles/lookup?type=user_id&value=${s.customerId}`)
      expect(res.status).toBe(200)
      const profile = (await res.json()) as {
        computedTraits: Array<{ id: string; value: unknown }>
      }
      const traits = Object.fromEntries(profile.computedTraits.map((t) => [t.id, t.value]))
      expect(traits['predicted.cdnow.p_alive']).toBeCloseTo(s.pAlive, 5)
      expect(traits['predicted.cdnow.expected_purchases']).toBeCloseTo(s.expectedPurchases, 5)
      expect(traits['predicted.cdnow.value']).toBeCloseTo(s.value, 1)
    }
  })

  it('a segment on predicted.cdnow.p_alive has exactly the expected members', async () => {
    if (!expected.ok) throw new Error('no reference model')
    const res = await k.admin('/api/v1/segments', {
      body: {
        id: 'likely_alive',
        name: 'Likely still buying',
        definition: {
          kind: 'computed_trait',
          id: 'predicted.cdnow.p_alive',
          condition: { op: 'gte', value: THRESHOLD },
        },
      },
    })
    expect(res.status).toBe(201)
    const want = new Set(
      expected.scores
        .filter((s) => Number(s.pAlive.toFixed(6)) >= THRESHOLD)
        .map((s) => profileOf.get(s.customerId)),
    )
    expect(want.size).toBeGreaterThan(100)
    expect(want.size).toBeLessThan(2357)
    const got = await k.kindred.store.db.query<{ profile_id: string }>(
      `SELECT profile_id FROM segment_members WHERE segment_id = 'likely_alive'`,
    )
    expect(new Set(got.rows.map((r) => r.profile_id))).toEqual(want)

    // A segment on a prediction that does not exist is refused.
    const bad = await k.admin('/api/v1/segments', {
      body: {
        name: 'nope',
        definition: {
          kind: 'computed_trait',
          id: 'predicted.other.p_alive',
          condition: { op: 'gte', value: 0.5 },
        },
      },
    })
    expect(bad.status).toBe(400)
  })

  it('retrains, and keeps segment members in step with the new scores', async () => {
    const list = (await (await k.admin('/api/v1/predictions')).json()) as { data: Prediction[] }
    const id = list.data.find((x) => x.traits[0]?.startsWith('predicted.cdnow.'))?.id as string
    const res = await k.admin(`/api/v1/predictions/${id}/retrain`, { method: 'POST', body: {} })
    expect(res.status).toBe(202)
    const p = await waitFinished(id)
    expect(p.status).toBe('ready')
    const n = await k.kindred.store.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM computed_trait_values WHERE computed_trait_id = 'predicted.cdnow.p_alive'`,
    )
    expect(Number(n.rows[0]?.n)).toBe(2357)
  })

  it('explains too little data instead of training', async () => {
    const res = await k.admin('/api/v1/predictions', {
      body: { name: 'nothing', kind: 'clv', purchaseEvent: 'Subscription Renewed', ...settings },
    })
    expect(res.status).toBe(202)
    const p = await waitFinished(((await res.json()) as Prediction).id)
    expect(p.status).toBe('insufficient_data')
    expect(p.report.trained).toBe(false)
    expect(p.report.reasons?.[0]).toContain('no "Subscription Renewed" events')
  })

  it('does not delete a prediction a segment reads; deletes it and its traits after', async () => {
    const list = (await (await k.admin('/api/v1/predictions')).json()) as { data: Prediction[] }
    const id = list.data.find((x) => x.traits[0]?.startsWith('predicted.cdnow.'))?.id as string
    expect((await k.admin(`/api/v1/predictions/${id}`, { method: 'DELETE' })).status).toBe(409)
    expect((await k.admin('/api/v1/segments/likely_alive', { method: 'DELETE' })).status).toBe(204)
    expect((await k.admin(`/api/v1/predictions/${id}`, { method: 'DELETE' })).status).toBe(204)
    const n = await k.kindred.store.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM computed_trait_values WHERE computed_trait_id LIKE 'predicted.cdnow.%'`,
    )
    expect(Number(n.rows[0]?.n)).toBe(0)
    expect((await k.admin(`/api/v1/predictions/${id}`)).status).toBe(404)
  })
})
