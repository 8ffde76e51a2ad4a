/**
 * A Liquid template that blows its render budget on one event's data: that event fails for good
 * (one attempt, a clear template error), the other events of the destination are still delivered,
 * and the process is never held for long.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../../testing/test-server.js'
import { createDestinationsModule } from '../destinations-module.js'
import { startReceiver, until, type Receiver } from '../../testing/test-receiver.js'

// Harmless with the sample data of the save-time check; quadratic in `properties.n`.
const TEMPLATE =
  '{% capture c %}{% for a in (1..properties.n) %}{% for b in (1..properties.n) %}{{ b }}{% endfor %}{% endfor %}{% endcapture %}n={{ c | size }}'

let k: TestKindred
let r: Receiver

beforeAll(async () => {
  k = await startTestKindred({
    modules: [
      createDestinationsModule({
        baseDelayMs: 20,
        maxDelayMs: 100,
        pollIntervalMs: 50,
        maxAttempts: 5,
        random: () => 0.5,
        requestTimeoutMs: 5_000,
      }),
    ],
  })
  r = await startReceiver('unused')
})

afterAll(async () => {
  await r.close()
  await k.close()
})

describe('template errors at delivery', () => {
  it('fail the event they fail for, once, and deliver the others', async () => {
    const { writeKey } = await k.createSource()
    const res = await k.admin('/api/v1/destinations', {
      body: {
        type: 'builtin.slack',
        name: 'liquid',
        settings: { webhookUrl: r.url, eventNames: ['Probe'], eventTemplate: TEMPLATE },
        actions: { forwardEvents: { events: ['Probe'] } },
      },
    })
    expect(res.status).toBe(201)
    const { id } = (await res.json()) as { id: string }

    const started = performance.now()
    for (const [userId, n] of [
      ['small-1', 2],
      ['huge', 2000],
      ['small-2', 3],
    ] as const) {
      const t = await k.track(writeKey, '/v1/track', { userId, event: 'Probe', properties: { n } })
      expect(t.status).toBe(200)
    }
    await k.kindred.processor?.drain()

    const dead = await until(async () => {
      const d = await k.admin(`/api/v1/destinations/${id}/dead-letters`)
      const list = ((await d.json()) as { data: { lastError: string; attempts: number }[] }).data
      return list.length > 0 ? list : undefined
    }, 10_000)
    expect(dead).toHaveLength(1)
    expect(dead[0]?.attempts).toBe(1)
    expect(dead[0]?.lastError).toMatch(/^TEMPLATE_ERROR: template error: /)
    expect(dead[0]?.lastError).toMatch(/took longer than 100 ms|writes more than/)

    await until(() => r.received.length >= 2, 10_000)
    const texts = r.received.map((x) => (x.json as { text: string }).text).sort()
    expect(texts).toEqual(['n=4', 'n=9'])
    expect(performance.now() - started).toBeLessThan(10_000)
  })
})
