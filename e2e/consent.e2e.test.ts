/**
 * Consent enforcement end to end (tracking API → processor → consent → segments → outbox →
 * dispatcher → a local webhook receiver that verifies the HMAC signature). The webhook's purpose
 * is `analytics`: audience adds and forwarded events reach it only for profiles that granted it,
 * a revocation sends a removal, a new grant re-adds, and nothing is ever sent for a denied
 * profile (or, under a `deny` default, for one that never answered).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../src/testing/test-server.js'
import { createConsentModule } from '../src/govern/consent-module.js'
import { createSegmentsModule } from '../src/understand/segments-module.js'
import { createDestinationsModule } from '../src/activate/destinations-module.js'
import { createGovernDeliveries } from '../src/activate/index.js'
import { startReceiver, until, type Receiver } from '../src/testing/test-receiver.js'

const SECRET = 'whsec-consent-0123456789abcdef'
let k: TestKindred
let writeKey: string
let r: Receiver

interface Delivery {
  kind: string
  action?: string
  event?: { event?: string; userId?: string }
  profile?: { traits?: Record<string, unknown> }
}

beforeAll(async () => {
  k = await startTestKindred({
    modules: [
      createConsentModule({ deliveries: createGovernDeliveries() }),
      createSegmentsModule({ schedulerIntervalMs: 3_600_000 }),
      createDestinationsModule({ baseDelayMs: 50, maxDelayMs: 200, maxAttempts: 4 }),
    ],
  })
  ;({ writeKey } = await k.createSource('consent e2e'))
  r = await startReceiver(SECRET)
  const seg = await k.admin('/api/v1/segments', {
    body: {
      id: 'c_vip',
      name: 'VIP',
      definition: { kind: 'trait', trait: 'tier', condition: { op: 'eq', value: 'vip' } },
    },
  })
  expect(seg.status).toBe(201)
  const dest = await k.admin('/api/v1/destinations', {
    body: {
      type: 'builtin.webhook',
      name: 'consent hook',
      settings: { url: r.url, signingSecret: SECRET },
      actions: {
        forwardEvents: { events: ['Order Completed'] },
        syncAudience: { segmentIds: ['c_vip'] },
      },
    },
  })
  expect(dest.status).toBe(201)
})
afterAll(async () => {
  await k.close()
  await r.close()
})

async function send(path: string, body: Record<string, unknown>): Promise<void> {
  const res = await k.track(writeKey, path, body)
  expect(res.status).toBe(200)
  await k.kindred.processor?.drain()
}

const analytics = (granted: boolean) => ({
  consent: { categoryPreferences: { Analytics: granted, Marketing: true } },
})
const deliveries = () => r.received.map((x) => x.json as Delivery)
const about = (name: string) =>
  deliveries().filter((d) => d.profile?.traits?.name === name || d.event?.userId === name)
const summary = (name: string) =>
  about(name).map((d) =>
    d.kind === 'audience' ? `audience:${d.action}` : `event:${d.event?.event}`,
  )

describe('consent enforcement end to end', () => {
  it('sends adds and events only when granted; a revocation removes; a new grant re-adds', async () => {
    // Granted: the audience add and the forwarded event arrive, signed.
    await send('/v1/identify', {
      userId: 'ana',
      traits: { name: 'ana', tier: 'vip' },
      context: analytics(true),
    })
    await until(() => about('ana').length >= 1)
    await send('/v1/track', { userId: 'ana', event: 'Order Completed', context: analytics(true) })
    await until(() => about('ana').length >= 2)
    expect(r.received.every((x) => x.signatureValid)).toBe(true)
    expect(summary('ana')).toEqual(['audience:add', 'event:Order Completed'])

    // Denied from the start: in the segment, events forwarded by config, yet nothing is sent.
    await send('/v1/identify', {
      userId: 'ben',
      traits: { name: 'ben', tier: 'vip' },
      context: analytics(false),
    })
    await send('/v1/track', { userId: 'ben', event: 'Order Completed', context: analytics(false) })

    // Revocation (a Segment Consent Preference Updated event): a removal for ana.
    await send('/v1/track', {
      userId: 'ana',
      event: 'Segment Consent Preference Updated',
      context: analytics(false),
    })
    await until(() => about('ana').length >= 3)
    expect(summary('ana')[2]).toBe('audience:remove')
    // While revoked her orders are not forwarded.
    await send('/v1/track', { userId: 'ana', event: 'Order Completed', context: analytics(false) })

    // Granted again through the API: re-added to the audience she is still a member of.
    const ana = (await (
      await k.admin('/api/v1/profiles/lookup?type=user_id&value=ana')
    ).json()) as { id: string }
    const put = await k.admin(`/api/v1/profiles/${ana.id}/consent`, {
      method: 'PUT',
      body: { purposes: { analytics: 'granted' }, proof: 'support ticket 42' },
    })
    expect(put.status).toBe(200)
    expect(((await put.json()) as { audienceJobs: number }).audienceJobs).toBe(1)
    await until(() => about('ana').length >= 4)

    // A sentinel sent last: once it arrived, everything queued before it has been served.
    await send('/v1/identify', {
      userId: 'sentinel',
      traits: { name: 'sentinel', tier: 'vip' },
      context: analytics(true),
    })
    await until(() => about('sentinel').length >= 1)
    await k.kindred.processor?.drain()
    expect(summary('ana')).toEqual([
      'audience:add',
      'event:Order Completed',
      'audience:remove',
      'audience:add',
    ])
    expect(about('ben')).toEqual([])

    // The skipped jobs are visible in the delivery log with their reason.
    const jobs = await k.kindred.store.db.query<{ state: string; last_error: string | null }>(
      `SELECT state, last_error FROM delivery_jobs WHERE profile_id IN
         (SELECT profile_id FROM identities WHERE type = 'user_id' AND value = 'ben')`,
    )
    expect(jobs.rows.length).toBeGreaterThanOrEqual(2)
    for (const j of jobs.rows) {
      expect(j.state).toBe('skipped')
      expect(j.last_error).toMatch(/^CONSENT_DENIED/)
    }
  })

  it('under a deny default, a profile that never answered receives nothing', async () => {
    const res = await k.admin('/api/v1/consent/settings', {
      method: 'PUT',
      body: {
        purposes: ['analytics', 'marketing', 'advertising', 'personalization'],
        unknown: 'deny',
      },
    })
    expect(res.status).toBe(200)
    const before = r.received.length
    await send('/v1/identify', { userId: 'cal', traits: { name: 'cal', tier: 'vip' } })
    await send('/v1/track', { userId: 'cal', event: 'Order Completed' })
    await send('/v1/identify', {
      userId: 'sentinel2',
      traits: { name: 'sentinel2', tier: 'vip' },
      context: analytics(true),
    })
    await until(() => about('sentinel2').length >= 1)
    expect(about('cal')).toEqual([])
    expect(r.received.length).toBe(before + 1)
  })
})

describe('a destination instance’s own consent purpose', () => {
  it('delivers only for profiles that granted the purpose the instance chose', async () => {
    const r2 = await startReceiver(SECRET)
    try {
      const refused = await k.admin('/api/v1/destinations', {
        body: {
          type: 'builtin.webhook',
          name: 'unknown purpose',
          settings: { url: r2.url, signingSecret: SECRET },
          actions: { forwardEvents: { events: ['Coupon Claimed'] } },
          purpose: 'telepathy',
        },
      })
      expect(refused.status).toBe(400)
      expect(((await refused.json()) as { error: { message: string } }).error.message).toContain(
        'not one of the workspace',
      )
      const created = await k.admin('/api/v1/destinations', {
        body: {
          type: 'builtin.webhook',
          name: 'marketing hook',
          settings: { url: r2.url, signingSecret: SECRET },
          actions: { forwardEvents: { events: ['Coupon Claimed'] } },
          purpose: 'marketing',
        },
      })
      expect(created.status).toBe(201)
      const view = (await created.json()) as { purpose: string; purposeOverride: string | null }
      expect(view).toMatchObject({ purpose: 'marketing', purposeOverride: 'marketing' })
      const prefs = (marketing: boolean) => ({
        consent: { categoryPreferences: { Analytics: true, Marketing: marketing } },
      })
      await send('/v1/track', { userId: 'cara', event: 'Coupon Claimed', context: prefs(false) })
      await send('/v1/track', { userId: 'dan', event: 'Coupon Claimed', context: prefs(true) })
      await until(() => r2.received.length >= 1)
      await new Promise((res) => setTimeout(res, 500))
      // The webhook type is for analytics, which both granted: only dan granted marketing.
      const users = r2.received.map((x) => (x.json as Delivery).event?.userId)
      expect(users).toEqual(['dan'])
    } finally {
      await r2.close()
    }
  })
})
