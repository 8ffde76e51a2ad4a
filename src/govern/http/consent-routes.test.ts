/**
 * Consent per purpose through the real server: capture from events (Segment's
 * categoryPreferences, identify traits), history and current state, late events, the API
 * (decisions with the caller as proof, settings), merges, splits and consent segments.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, testStores, type TestKindred } from '../../testing/test-server.js'

interface ConsentView {
  profileId: string
  purposes: {
    purpose: string
    status: string
    allowed: boolean
    updatedAt: string | null
    source: string | null
    sourceId: string | null
    proof: string | null
  }[]
  history: {
    purpose: string
    status: string
    source: string
    sourceId: string | null
    proof: string
    details: Record<string, unknown>
    occurredAt: string
  }[]
}

let k: TestKindred
let writeKey: string
let sourceId: string

async function send(path: string, body: Record<string, unknown>) {
  const res = await k.track(writeKey, path, body)
  expect(res.status).toBe(200)
  await k.kindred.processor?.drain()
}
async function profileOf(
  userId: string,
): Promise<{ id: string; consent: Record<string, unknown> }> {
  const res = await k.admin(`/api/v1/profiles/lookup?type=user_id&value=${userId}`)
  expect(res.status).toBe(200)
  return (await res.json()) as { id: string; consent: Record<string, unknown> }
}
async function consentOf(profileId: string): Promise<ConsentView> {
  const res = await k.admin(`/api/v1/profiles/${profileId}/consent`)
  expect(res.status).toBe(200)
  return (await res.json()) as ConsentView
}
const states = (v: ConsentView) => Object.fromEntries(v.purposes.map((p) => [p.purpose, p.status]))

describe.each(testStores())('consent through the API on %s', (store) => {
  beforeAll(async () => {
    k = await startTestKindred({ store })
    ;({ writeKey, id: sourceId } = await k.createSource('consent', {
      rateLimit: { eventsPerSecond: 1e6, burst: 1e6 },
    }))
  })
  afterAll(() => k.close())

  it("captures Segment's categoryPreferences with history and proof", async () => {
    await send('/v1/track', {
      userId: 'c-ada',
      event: 'Segment Consent Preference Updated',
      messageId: 'c-ada-1',
      context: { consent: { categoryPreferences: { Advertising: true, Analytics: false } } },
    })
    const p = await profileOf('c-ada')
    const v = await consentOf(p.id)
    expect(states(v)).toEqual({
      analytics: 'denied',
      marketing: 'denied',
      advertising: 'granted',
      personalization: 'denied',
    })
    const ads = v.purposes.find((x) => x.purpose === 'advertising')
    expect(ads).toMatchObject({ source: 'event', sourceId, proof: 'c-ada-1', allowed: true })
    expect(v.history).toHaveLength(4)
    expect(v.history.every((h) => h.proof === 'c-ada-1' && h.source === 'event')).toBe(true)
    // The profile API keeps its shape: purpose → { status, updatedAt }.
    expect(p.consent.advertising).toEqual({ status: 'granted', updatedAt: expect.any(String) })

    // Stamped again on a normal event with the same preferences: no new history.
    await send('/v1/track', {
      userId: 'c-ada',
      event: 'Page Scrolled',
      context: { consent: { categoryPreferences: { Advertising: true, Analytics: false } } },
    })
    expect((await consentOf(p.id)).history).toHaveLength(4)
  })

  it('an older event arriving late does not override a newer decision', async () => {
    const identify = (messageId: string, timestamp: string, marketing: boolean) => ({
      batch: [
        {
          type: 'identify',
          userId: 'c-bob',
          messageId,
          timestamp,
          traits: { consent: { marketing } },
        },
      ],
    })
    await send('/v1/import', identify('c-bob-new', '2026-01-10T00:00:00.000Z', false))
    await send('/v1/import', identify('c-bob-old', '2026-01-01T00:00:00.000Z', true))
    const v = await consentOf((await profileOf('c-bob')).id)
    expect(states(v).marketing).toBe('denied')
    expect(v.purposes.find((x) => x.purpose === 'marketing')).toMatchObject({
      proof: 'c-bob-new',
      updatedAt: '2026-01-10T00:00:00.000Z',
    })
    // Both decisions are in the history, newest first.
    expect(v.history.map((h) => `${h.proof}:${h.status}`)).toEqual([
      'c-bob-new:denied',
      'c-bob-old:granted',
    ])
  })

  it('PUT records API decisions with the caller as proof, in the profile API too', async () => {
    await send('/v1/identify', { userId: 'c-cy', traits: { name: 'Cy' } })
    const p = await profileOf('c-cy')
    const res = await k.admin(`/api/v1/profiles/${p.id}/consent`, {
      method: 'PUT',
      body: { purposes: { marketing: 'granted', advertising: 'denied' }, proof: 'form-123' },
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as ConsentView & {
      requestId: string
      changed: { purpose: string; from: string; to: string }[]
    }
    expect(body.changed).toEqual(
      expect.arrayContaining([
        { purpose: 'marketing', from: 'unknown', to: 'granted' },
        { purpose: 'advertising', from: 'unknown', to: 'denied' },
      ]),
    )
    expect(states(body)).toMatchObject({
      marketing: 'granted',
      advertising: 'denied',
      analytics: 'unknown',
    })
    expect(body.history).toHaveLength(2)
    for (const h of body.history) {
      expect(h).toMatchObject({ source: 'api', proof: body.requestId })
      expect(h.sourceId).toEqual(expect.any(String))
      expect(h.details).toMatchObject({ proof: 'form-123' })
    }
    expect((await profileOf('c-cy')).consent).toMatchObject({
      marketing: { status: 'granted' },
      advertising: { status: 'denied' },
    })
    // An API decision repeated is recorded again (a deliberate act with its own proof).
    await k.admin(`/api/v1/profiles/${p.id}/consent`, {
      method: 'PUT',
      body: { purposes: { marketing: 'granted' } },
    })
    expect((await consentOf(p.id)).history).toHaveLength(3)
  })

  it('PUT refuses bad input and changes nothing', async () => {
    await send('/v1/identify', { userId: 'c-dee', traits: { name: 'Dee' } })
    const p = await profileOf('c-dee')
    const put = (body: unknown, id = p.id) =>
      k.admin(`/api/v1/profiles/${id}/consent`, { method: 'PUT', body })
    for (const [body, code] of [
      [{ purposes: { marketing: 'yes' } }, 'VALIDATION_FAILED'],
      [{ purposes: {} }, 'VALIDATION_FAILED'],
      [{}, 'VALIDATION_FAILED'],
      [{ purposes: { sms: 'granted', marketing: 'granted' } }, 'VALIDATION_FAILED'],
    ] as const) {
      const res = await put(body)
      expect(res.status).toBe(400)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code)
    }
    expect((await put({ purposes: { marketing: 'granted' } }, 'p_missing')).status).toBe(404)
    expect((await consentOf(p.id)).history).toHaveLength(0)
    const noAuth = await fetch(`${k.url}/api/v1/profiles/${p.id}/consent`)
    expect(noAuth.status).toBe(401)
  })

  it('settings: custom purposes, a category mapping and the default for unknown', async () => {
    const bad = await k.admin('/api/v1/consent/settings', {
      method: 'PUT',
      body: { purposes: ['analytics'], categories: { C0004: 'advertising' } },
    })
    expect(bad.status).toBe(400)
    const settings = {
      purposes: ['analytics', 'marketing', 'advertising', 'personalization', 'sms'],
      categories: { C0002: 'analytics', C0004: 'advertising' },
      unknown: 'deny',
      unknownByPurpose: { analytics: 'allow' },
      missingCategories: 'ignore',
    }
    const put = await k.admin('/api/v1/consent/settings', { method: 'PUT', body: settings })
    expect(put.status).toBe(200)
    expect(await (await k.admin('/api/v1/consent/settings')).json()).toEqual(settings)

    await send('/v1/track', {
      userId: 'c-eve',
      event: 'Consent',
      context: { consent: { categoryPreferences: { C0004: true, Functional: true } } },
    })
    const v = await consentOf((await profileOf('c-eve')).id)
    expect(v.purposes.map((p) => [p.purpose, p.status, p.allowed])).toEqual([
      ['analytics', 'unknown', true],
      ['marketing', 'unknown', false],
      ['advertising', 'granted', true],
      ['personalization', 'unknown', false],
      ['sms', 'unknown', false],
    ])
    await k.admin('/api/v1/consent/settings', {
      method: 'PUT',
      body: { purposes: ['analytics', 'marketing', 'advertising', 'personalization'] },
    })
  })

  it('a merge brings the merged profile’s history to the survivor', async () => {
    await send('/v1/identify', {
      anonymousId: 'c-anon-fay',
      traits: { consent: { personalization: true } },
      messageId: 'c-fay-1',
    })
    await send('/v1/identify', { userId: 'c-fay', traits: { consent: { marketing: true } } })
    await send('/v1/identify', { userId: 'c-fay', anonymousId: 'c-anon-fay' })
    const p = await profileOf('c-fay')
    const v = await consentOf(p.id)
    expect(states(v)).toMatchObject({ personalization: 'granted', marketing: 'granted' })
    expect(v.history.map((h) => h.purpose).sort()).toEqual(['marketing', 'personalization'])
  })

  it('a split recomputes both profiles from their own events', async () => {
    await send('/v1/identify', {
      userId: 'c-gus',
      traits: { email: 'gus@example.com', consent: { marketing: true } },
      messageId: 'c-gus-1',
    })
    await send('/v1/identify', {
      anonymousId: 'c-anon-gus',
      traits: { consent: { advertising: true } },
      messageId: 'c-gus-2',
    })
    await send('/v1/identify', { userId: 'c-gus', anonymousId: 'c-anon-gus' })
    const p = await profileOf('c-gus')
    expect(states(await consentOf(p.id))).toMatchObject({
      marketing: 'granted',
      advertising: 'granted',
    })
    const res = await k.admin(`/api/v1/profiles/${p.id}/split`, {
      body: { identifiers: [{ type: 'anonymous_id', value: 'c-anon-gus' }] },
    })
    expect(res.status).toBe(200)
    const { newProfileId, movedEvents } = (await res.json()) as {
      newProfileId: string
      movedEvents: number
    }
    expect(movedEvents).toBeGreaterThan(0)
    const kept = await consentOf(p.id)
    const split = await consentOf(newProfileId)
    expect(states(kept)).toMatchObject({ marketing: 'granted', advertising: 'unknown' })
    expect(states(split)).toMatchObject({ advertising: 'granted', marketing: 'unknown' })
    expect(split.history.map((h) => h.proof)).toEqual(['c-gus-2'])
  })

  it('consent segments follow decisions from traits and from the API', async () => {
    const seg = await k.admin('/api/v1/segments', {
      body: {
        id: 'c_marketable',
        name: 'Marketable',
        definition: { kind: 'consent', purpose: 'marketing', status: 'granted' },
      },
    })
    expect(seg.status).toBe(201)
    const members = async () =>
      (
        (await (await k.admin('/api/v1/segments/c_marketable/members')).json()) as {
          data: { profileId: string }[]
        }
      ).data.map((m) => m.profileId)
    await send('/v1/identify', { userId: 'c-hal', traits: { consent: { marketing: true } } })
    const p = await profileOf('c-hal')
    expect(await members()).toContain(p.id)
    const res = await k.admin(`/api/v1/profiles/${p.id}/consent`, {
      method: 'PUT',
      body: { purposes: { marketing: 'denied' } },
    })
    expect(res.status).toBe(200)
    expect(await members()).not.toContain(p.id)
  })
})
