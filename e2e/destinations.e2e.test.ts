/**
 * Destinations end to end, through the whole runtime (tracking API → processor → segments →
 * outbox → dispatcher → a local webhook receiver that verifies the HMAC signature):
 * an event reaches the webhook with its profile; a profile entering a segment reaches it as an
 * audience add; a 429 with `Retry-After: 1` is retried exactly once, about a second later; a
 * receiver failing forever ends in dead letters, and replay delivers once it recovers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../src/testing/test-server.js'
import { createSegmentsModule } from '../src/understand/segments-module.js'
import { createDestinationsModule } from '../src/activate/destinations-module.js'
import { startReceiver, until, type Receiver } from '../src/testing/test-receiver.js'

const SECRET = 'whsec-e2e-0123456789abcdef'
let k: TestKindred
let writeKey: string
const receivers: Receiver[] = []

beforeAll(async () => {
  k = await startTestKindred({
    modules: [
      createSegmentsModule({ schedulerIntervalMs: 3_600_000 }),
      createDestinationsModule({ baseDelayMs: 50, maxDelayMs: 200, maxAttempts: 4 }),
    ],
  })
  ;({ writeKey } = await k.createSource('destinations e2e'))
})
afterAll(async () => {
  await k.close()
  for (const r of receivers) await r.close()
})

async function receiver(): Promise<Receiver> {
  const r = await startReceiver(SECRET)
  receivers.push(r)
  return r
}

async function webhook(url: string, actions: Record<string, unknown>): Promise<string> {
  const res = await k.admin('/api/v1/destinations', {
    body: {
      type: 'builtin.webhook',
      name: 'e2e hook',
      settings: { url, signingSecret: SECRET },
      actions,
    },
  })
  expect(res.status).toBe(201)
  return ((await res.json()) as { id: string }).id
}

async function send(path: string, body: Record<string, unknown>): Promise<void> {
  const res = await k.track(writeKey, path, body)
  expect(res.status).toBe(200)
  await k.kindred.processor?.drain()
}

describe('destinations end to end', () => {
  it('an event brings its profile to a signed webhook', async () => {
    const r = await receiver()
    await webhook(r.url, { forwardEvents: { events: ['Order Completed'] } })
    await send('/v1/identify', { userId: 'e2e-ada', traits: { email: 'ada@example.com' } })
    await send('/v1/track', {
      userId: 'e2e-ada',
      event: 'Order Completed',
      properties: { total: 42 },
    })
    await until(() => r.received.length >= 1)
    const got = r.received[0]
    expect(got?.signatureValid).toBe(true)
    expect(got?.json).toMatchObject({
      kind: 'event',
      event: { event: 'Order Completed', userId: 'e2e-ada', properties: { total: 42 } },
      profile: { traits: { email: 'ada@example.com' } },
    })
  })

  it('a profile entering a segment reaches the webhook as an audience add', async () => {
    const seg = await k.admin('/api/v1/segments', {
      body: {
        id: 'e2e_pro',
        name: 'Pro plan',
        definition: { kind: 'trait', trait: 'plan', condition: { op: 'eq', value: 'pro' } },
      },
    })
    expect(seg.status).toBe(201)
    const r = await receiver()
    await webhook(r.url, { syncAudience: { segmentIds: ['e2e_pro'] } })
    await send('/v1/identify', { userId: 'e2e-grace', traits: { plan: 'pro' } })
    await until(() => r.received.length >= 1)
    expect(r.received[0]?.signatureValid).toBe(true)
    expect(r.received[0]?.json).toMatchObject({
      kind: 'audience',
      action: 'add',
      audience: { id: 'e2e_pro', name: 'Pro plan' },
      profile: { traits: { plan: 'pro' } },
    })
    // Leaving the segment (mirror mode is the default) removes the profile.
    await send('/v1/identify', { userId: 'e2e-grace', traits: { plan: 'free' } })
    await until(() => r.received.length >= 2)
    expect(r.received[1]?.json).toMatchObject({ kind: 'audience', action: 'remove' })
  })

  it('a 429 with Retry-After: 1 is retried exactly once more, after about a second', async () => {
    const r = await receiver()
    r.handler = (_req, n) => (n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : {})
    await webhook(r.url, { forwardEvents: { events: ['Throttled'] } })
    await send('/v1/track', { userId: 'e2e-ada', event: 'Throttled' })
    await until(() => r.received.length >= 2, 5_000)
    const [first, second] = r.received
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950)
    expect(second?.signatureValid).toBe(true)
    await new Promise((res) => setTimeout(res, 400))
    expect(r.received).toHaveLength(2)
  })

  it('a receiver failing forever ends in dead letters; replay delivers once it recovers', async () => {
    const r = await receiver()
    let up = false
    r.handler = () => (up ? {} : { status: 500, body: 'down' })
    const id = await webhook(r.url, { forwardEvents: { events: ['Important'] } })
    await send('/v1/track', { userId: 'e2e-ada', event: 'Important' })
    const dead = await until(async () => {
      const res = await k.admin(`/api/v1/destinations/${id}/dead-letters`)
      const list = ((await res.json()) as { data: { id: string; lastError: string }[] }).data
      return list.length > 0 ? list : undefined
    })
    expect(dead[0]?.lastError).toContain('HTTP 500')
    expect(r.received).toHaveLength(4)
    up = true
    const replay = await k.admin(`/api/v1/destinations/${id}/replay`, {
      body: { ids: [dead[0]?.id] },
    })
    expect(await replay.json()).toEqual({ replayed: 1 })
    await until(() => r.received.length >= 5)
    const deliveries = (await (await k.admin(`/api/v1/destinations/${id}/deliveries`)).json()) as {
      data: { status: string; responseStatus: number }[]
    }
    expect(deliveries.data[0]).toMatchObject({ status: 'success', responseStatus: 200 })
    expect(deliveries.data.slice(1).every((d) => d.status === 'retry')).toBe(true)
  })
})
