/**
 * End to end: an experiment assigned through `/v1/assign`, exposure and conversion events through
 * the tracking API, and the readout shows the planted lift; bad input is explained, never read as
 * a significant result.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { basic, startTestKindred, testStores, type TestKindred } from '../../testing/test-server.js'

interface Comparison {
  arm: string
  n: number
  relative: { estimate: number; ci: [number, number] } | null
  significant: boolean
  cupedTheta: number | null
  summary: string
}
interface Results {
  arms: Array<{ key: string; exposed: number }>
  readout: {
    srm: { mismatch: boolean } | null
    notes: string[]
    metrics: Array<{ key: string; status: string; summary: string; comparisons: Comparison[] }>
  }
}

describe.each(testStores())('experiments on %s', (store) => {
  let k: TestKindred
  let writeKey: string
  let experimentId: string
  const planted = { control: 0, b: 0, controlConv: 0, bConv: 0 }

  beforeAll(async () => {
    k = await startTestKindred({ store })
    writeKey = (await k.createSource()).writeKey
    const created = await k.admin('/api/v1/experiments', {
      body: {
        key: 'checkout',
        name: 'One-page checkout',
        arms: [
          { key: 'control', name: 'Control', weight: 1 },
          { key: 'b', name: 'Variant B', weight: 1 },
        ],
        metrics: [
          {
            key: 'orders',
            name: 'orders per visitor',
            kind: 'conversion',
            event: 'Order Completed',
          },
          {
            key: 'revenue',
            kind: 'sum',
            event: 'Order Completed',
            property: 'revenue',
            role: 'guardrail',
          },
          { key: 'ghost', kind: 'count', event: 'Never Sent' },
        ],
      },
    })
    expect(created.status).toBe(201)
    experimentId = ((await created.json()) as { id: string }).id

    const events: unknown[] = []
    for (let i = 0; i < 1200; i++) {
      const userId = `user-${i}`
      const res = await fetch(`${k.url}/v1/assign?experiment=checkout&userId=${userId}`, {
        headers: { authorization: basic(writeKey) },
      })
      expect(res.status).toBe(200)
      const { variation } = (await res.json()) as { variation: 'control' | 'b' }
      planted[variation]++
      const t0 = Date.UTC(2025, 4, 1, 10, 0, i % 60)
      events.push({
        type: 'track',
        userId,
        event: 'Experiment Viewed',
        timestamp: new Date(t0).toISOString(),
        properties: { experiment_id: 'checkout', variation_id: variation },
      })
      // Planted: 20% of control converts, 28% of B (+40%, inside the suspicious-uplift guard).
      const seen = planted[variation] - 1
      if (variation === 'b' ? seen % 25 < 7 : seen % 5 === 0) {
        planted[variation === 'b' ? 'bConv' : 'controlConv']++
        events.push({
          type: 'track',
          userId,
          event: 'Order Completed',
          timestamp: new Date(t0 + 60_000).toISOString(),
          properties: { revenue: 20 },
        })
      }
      // An order before the exposure does not count.
      if (i % 10 === 0) {
        events.push({
          type: 'track',
          userId,
          event: 'Order Completed',
          timestamp: new Date(t0 - 3_600_000).toISOString(),
          properties: { revenue: 5 },
        })
      }
    }
    for (let i = 0; i < events.length; i += 300) {
      const res = await k.track(writeKey, '/v1/batch', { batch: events.slice(i, i + 300) })
      expect(res.status).toBe(200)
    }
    await k.kindred.processor?.drain()
  }, 120_000)
  afterAll(() => k.close())

  it('assigns deterministically, with CORS, and answers 404 for an unknown experiment', async () => {
    const ask = (q: string, headers: Record<string, string> = {}) =>
      fetch(`${k.url}/v1/assign?${q}`, { headers: { authorization: basic(writeKey), ...headers } })
    const a = (await (await ask('experiment=checkout&userId=user-7')).json()) as {
      variation: string
    }
    const again = await ask('experiment=checkout&userId=user-7', { origin: 'https://shop.example' })
    expect(((await again.json()) as { variation: string }).variation).toBe(a.variation)
    expect(again.headers.get('access-control-allow-origin')).toBe('https://shop.example')
    const viaQuery = await fetch(
      `${k.url}/v1/assign?experiment=checkout&anonymousId=anon-1&writeKey=${writeKey}`,
    )
    expect(viaQuery.status).toBe(200)
    const unknown = await ask('experiment=nope&userId=u')
    expect(unknown.status).toBe(404)
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND')
    expect((await ask('experiment=checkout')).status).toBe(400)
    const badKey = await fetch(`${k.url}/v1/assign?experiment=checkout&userId=u`, {
      headers: { authorization: basic('wk_not-a-key') },
    })
    expect(badKey.status).toBe(401)
  })

  it('reads out the planted lift, in numbers and words', async () => {
    const res = await k.admin(`/api/v1/experiments/${experimentId}/results`)
    expect(res.status).toBe(200)
    const r = (await res.json()) as Results
    expect(r.arms).toEqual([
      expect.objectContaining({ key: 'control', exposed: planted.control }),
      expect.objectContaining({ key: 'b', exposed: planted.b }),
    ])
    expect(r.readout.srm?.mismatch).toBe(false)
    const orders = r.readout.metrics.find((m) => m.key === 'orders')!
    const c = orders.comparisons[0]!
    const expected = planted.bConv / planted.b / (planted.controlConv / planted.control) - 1
    // CUPED on the pre-exposure orders (every tenth user) moves the estimate a little, not far.
    expect(c.cupedTheta).not.toBeNull()
    expect(Math.abs(c.relative!.estimate - expected)).toBeLessThan(0.03)
    expect(c.relative!.estimate).toBeGreaterThan(0.3)
    expect(c.relative!.ci[0]).toBeGreaterThan(0)
    expect(c.significant).toBe(true)
    expect(c.summary).toMatch(
      /^Variant B raised orders per visitor by \d+\.\d% \(95% CI .*\)\. Sample ratio is fine\.$/,
    )
    const ghost = r.readout.metrics.find((m) => m.key === 'ghost')!
    expect(ghost.status).toBe('unknown-event')
    expect(ghost.comparisons).toEqual([])
  })

  it('explains a one-arm experiment and answers 404 for an unknown one', async () => {
    const one = await k.admin('/api/v1/experiments', {
      body: {
        key: 'solo',
        name: 'Solo',
        arms: [{ key: 'only', weight: 1 }],
        metrics: [{ key: 'orders', kind: 'conversion', event: 'Order Completed' }],
      },
    })
    expect(one.status).toBe(201)
    const id = ((await one.json()) as { id: string }).id
    const r = (await (await k.admin(`/api/v1/experiments/${id}/results`)).json()) as Results
    expect(r.readout.notes[0]).toMatch(/one arm/)
    expect(r.readout.metrics[0]!.comparisons).toEqual([])
    expect((await k.admin('/api/v1/experiments/exp_missing/results')).status).toBe(404)
    const dup = await k.admin('/api/v1/experiments', {
      body: { key: 'solo', name: 'x', arms: [{ key: 'a', weight: 1 }] },
    })
    expect(dup.status).toBe(409)
    const list = (await (await k.admin('/api/v1/experiments')).json()) as { data: unknown[] }
    expect(list.data).toHaveLength(2)
  })
})
