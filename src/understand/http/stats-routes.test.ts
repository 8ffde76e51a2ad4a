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

it('zero-fills the events chart, buckets by event time on request, and counts only E.164 phones', async () => {
  const { writeKey, id: sourceId } = await k.createSource('Late SDK')
  const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000).toISOString()
  await k.track(writeKey, '/v1/track', { anonymousId: 'late-1', event: 'Viewed' })
  await k.track(writeKey, '/v1/track', {
    anonymousId: 'late-1',
    event: 'Viewed',
    timestamp: twoHoursAgo,
  })
  // A phone trait the identity rules cannot read as a number: no phone identifier.
  await k.track(writeKey, '/v1/identify', {
    userId: 'bad-phone',
    traits: { phone: 'call me maybe' },
  })
  await k.kindred.processor?.drain()
  type Overview = {
    eventsClock: string
    eventsPerMinute: { at: string; sourceId: string; count: number }[]
    dataQuality: { withPhone: number; total: number }
  }
  const received = (await (await k.admin('/api/v1/stats/overview')).json()) as Overview
  const series = (o: Overview) => o.eventsPerMinute.filter((e) => e.sourceId === sourceId)
  expect(received.eventsClock).toBe('received')
  // 61 minutes (both ends of the hour), one point each, consecutive, mostly zero.
  const points = series(received)
  expect(points.length).toBeGreaterThanOrEqual(61)
  expect(points.length).toBeLessThanOrEqual(62)
  expect(Date.parse(points[1]!.at) - Date.parse(points[0]!.at)).toBe(60_000)
  expect(points.filter((p) => p.count === 0).length).toBeGreaterThanOrEqual(58)
  expect(points.reduce((s, p) => s + p.count, 0)).toBe(3)
  const byEvent = (await (await k.admin('/api/v1/stats/overview?time=event')).json()) as Overview
  expect(byEvent.eventsClock).toBe('event')
  // The event dated two hours back is outside the last hour of event time.
  expect(series(byEvent).reduce((s, p) => s + p.count, 0)).toBe(2)
  expect((await k.admin('/api/v1/stats/overview?time=sideways')).status).toBe(400)
  // The first test's +14155552671 counts; "call me maybe" does not.
  expect(byEvent.dataQuality.withPhone).toBe(1)
})

it('counts a delivery whose job succeeded after retries as one success', async () => {
  const dest = await k.admin('/api/v1/destinations', {
    body: {
      type: 'builtin.webhook',
      name: 'Stats hook',
      settings: { url: 'https://hooks.example.com/in', signingSecret: 'a-long-enough-secret-123' },
    },
  })
  expect(dest.status).toBe(201)
  const destinationId = ((await dest.json()) as { id: string }).id
  const now = new Date().toISOString()
  // Three jobs: one succeeded on its third attempt, one dead-lettered, one still retrying.
  for (const [key, state, attempts] of [
    ['a', 'succeeded', 3],
    ['b', 'dead', 9],
    ['c', 'pending', 2],
  ] as const)
    await k.kindred.store.db.query(
      `INSERT INTO delivery_jobs (workspace_id, destination_id, kind, input, idempotency_key, state,
         attempts, next_attempt_at, created_at, updated_at)
       VALUES ('default', $1, 'event', '{}', $2, $3, $4, $5, $5, $5)`,
      [destinationId, `stats-${key}`, state, attempts, now],
    )
  const o = (await (await k.admin('/api/v1/stats/overview')).json()) as {
    deliverySuccess: { destinationId: string; success: number; failed: number; retrying: number }[]
  }
  expect(o.deliverySuccess.find((d) => d.destinationId === destinationId)).toMatchObject({
    success: 1,
    failed: 1,
    retrying: 1,
  })
})
