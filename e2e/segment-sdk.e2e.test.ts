import { afterAll, beforeAll, expect, it } from 'vitest'
import { Analytics } from '@segment/analytics-node'
import { startTestKindred, type TestKindred } from '../src/testing/test-server.js'

let k: TestKindred
beforeAll(async () => {
  k = await startTestKindred()
})
afterAll(() => k.close())

it('accepts events from the official @segment/analytics-node SDK, unchanged', async () => {
  const { writeKey } = await k.createSource('Node backend')
  const errors: unknown[] = []
  const analytics = new Analytics({ writeKey, host: k.url, flushAt: 3, maxRetries: 1 })
  analytics.on('error', (err) => errors.push(err))
  analytics.identify({ userId: 'sdk-user-1', traits: { email: 'Ada@Example.com', name: 'Ada' } })
  analytics.track({
    userId: 'sdk-user-1',
    event: 'Order Completed',
    properties: { total: 42.5, currency: 'EUR' },
  })
  analytics.page({
    anonymousId: 'anon-sdk-1',
    name: 'Pricing',
    properties: { url: 'https://x.test/pricing' },
  })
  analytics.group({ userId: 'sdk-user-1', groupId: 'acme', traits: { plan: 'enterprise' } })
  analytics.alias({ userId: 'sdk-user-1', previousId: 'anon-sdk-1' })
  analytics.screen({ userId: 'sdk-user-1', name: 'Home' })
  await analytics.closeAndFlush({ timeout: 20_000 })
  expect(errors).toEqual([])

  await k.kindred.processor?.drain()
  const res = await k.kindred.store.db.query<{
    type: string
    event: string | null
    user_id: string | null
    payload: Record<string, unknown>
    context: Record<string, unknown>
  }>(
    `SELECT e.type, e.event, e.user_id, e.payload, e.context FROM events e
     JOIN sources s ON s.id = e.source_id WHERE s.name = 'Node backend' ORDER BY e.type`,
  )
  expect(res.rows.map((r) => r.type)).toEqual([
    'alias',
    'group',
    'identify',
    'page',
    'screen',
    'track',
  ])
  const track = res.rows.find((r) => r.type === 'track')
  expect(track?.event).toBe('Order Completed')
  expect(track?.user_id).toBe('sdk-user-1')
  expect((track?.context.library as { name: string }).name).toBe('@segment/analytics-node')
  expect(typeof track?.payload.messageId).toBe('string')
  expect(typeof track?.payload.sentAt).toBe('string')
})
