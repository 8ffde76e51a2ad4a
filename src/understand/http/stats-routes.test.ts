import { afterAll, beforeAll, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../../testing/test-server.js'

let k: TestKindred
beforeAll(async () => {
  k = await startTestKindred()
})
afterAll(() => k.close())

it('summarises events, profiles, merges and data quality for the dashboard', async () => {
  const { writeKey, id: sourceId } = await k.createSource()
  await k.track(writeKey, '/v1/identify', { userId: 'u1', traits: { email: 'a@b.co', name: 'A' } })
  await k.track(writeKey, '/v1/track', { anonymousId: 'anon-only', event: 'Viewed' })
  await k.track(writeKey, '/v1/track', { anonymousId: 'x1', event: 'Viewed' })
  await k.kindred.processor?.drain()
  await k.track(writeKey, '/v1/identify', {
    anonymousId: 'x1',
    traits: { email: 'a@b.co', phone: '+14155552671' },
  })
  await k.kindred.processor?.drain()
  const res = await k.admin('/api/v1/stats/overview')
  expect(res.status).toBe(200)
  const o = (await res.json()) as {
    eventsPerMinute: { sourceId: string; count: number }[]
    profiles: { total: number; identified: number }
    mergesPerDay: { count: number }[]
    dataQuality: { withEmail: number; withPhone: number; withName: number; total: number }
  }
  expect(
    o.eventsPerMinute.filter((e) => e.sourceId === sourceId).reduce((s, e) => s + e.count, 0),
  ).toBe(4)
  expect(o.profiles).toEqual({ total: 2, identified: 1 })
  expect(o.mergesPerDay.reduce((s, m) => s + m.count, 0)).toBe(1)
  expect(o.dataQuality).toEqual({ withEmail: 1, withPhone: 1, withName: 1, total: 2 })
  expect((await fetch(`${k.url}/api/v1/stats/overview`)).status).toBe(401)
})
