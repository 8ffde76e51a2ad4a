import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, testStores, type TestKindred } from '../../testing/test-server.js'

let k: TestKindred
let writeKey: string
let crmKey: string
let crmSource: string

interface Profile {
  id: string
  traits: Record<string, unknown>
  identities: { type: string; value: string }[]
  mergeCount: number
}

async function send(path: string, body: Record<string, unknown>, key = writeKey) {
  const res = await k.track(key, path, body)
  expect(res.status).toBe(200)
}
async function settle() {
  await k.kindred.processor?.drain()
}
async function lookup(type: string, value: string): Promise<Profile | undefined> {
  const res = await k.admin(
    `/api/v1/profiles/lookup?type=${type}&value=${encodeURIComponent(value)}`,
  )
  if (res.status === 404) return undefined
  expect(res.status).toBe(200)
  return (await res.json()) as Profile
}
const ids = (p: Profile | undefined) =>
  (p?.identities ?? []).map((i) => `${i.type}:${i.value}`).sort()

describe.each(testStores())('identity resolution through the API on %s', (store) => {
  beforeAll(async () => {
    k = await startTestKindred({ store })
    writeKey = (await k.createSource('Web', { rateLimit: { eventsPerSecond: 1e6, burst: 1e6 } }))
      .writeKey
    const crm = await k.createSource('CRM', { rateLimit: { eventsPerSecond: 1e6, burst: 1e6 } })
    crmKey = crm.writeKey
    crmSource = crm.id
  })
  afterAll(() => k.close())

  it('joins anonymous browsing, login and a second device with the same email into one profile', async () => {
    await send('/v1/page', { anonymousId: 'anon-laptop', name: 'Home', messageId: 'j1' })
    await send('/v1/track', {
      anonymousId: 'anon-laptop',
      event: 'Product Viewed',
      messageId: 'j2',
    })
    await send('/v1/identify', {
      anonymousId: 'anon-laptop',
      userId: 'ann',
      traits: { email: ' Ann@Example.COM ', name: 'Ann' },
      messageId: 'j3',
    })
    await settle()
    // The phone, first anonymous, later identified by the same email.
    await send('/v1/track', {
      anonymousId: 'anon-phone',
      event: 'App Opened',
      messageId: 'j4',
      context: { device: { id: 'phone-1' } },
    })
    await settle()
    const phoneBefore = await lookup('anonymous_id', 'anon-phone')
    const laptop = await lookup('user_id', 'ann')
    expect(phoneBefore?.id).not.toBe(laptop?.id)
    await send('/v1/identify', {
      anonymousId: 'anon-phone',
      traits: { email: 'ann@example.com', plan: 'pro' },
      messageId: 'j5',
    })
    await settle()

    const profile = await lookup('email', 'ANN@example.com')
    expect(profile?.id).toBe(laptop?.id)
    expect(ids(profile)).toEqual([
      'anonymous_id:anon-laptop',
      'anonymous_id:anon-phone',
      'device_id:phone-1',
      'email:ann@example.com',
      'user_id:ann',
    ])
    expect(profile?.traits).toMatchObject({ name: 'Ann', plan: 'pro', email: 'ann@example.com' })
    expect(profile?.mergeCount).toBe(1)

    // All five events followed onto the survivor, newest first, with their messageIds.
    const events = (await (
      await k.admin(`/api/v1/profiles/${profile?.id}/events?limit=3`)
    ).json()) as { data: { messageId: string }[]; nextCursor: string }
    expect(events.data).toHaveLength(3)
    const rest = (await (
      await k.admin(`/api/v1/profiles/${profile?.id}/events?cursor=${events.nextCursor}`)
    ).json()) as { data: { messageId: string }[]; nextCursor: string | null }
    expect([...events.data, ...rest.data].map((e) => e.messageId).sort()).toEqual([
      'j1',
      'j2',
      'j3',
      'j4',
      'j5',
    ])
    expect(rest.nextCursor).toBeNull()

    // The merge is explained, and the merged-away id redirects to the survivor.
    const merges = (await (await k.admin(`/api/v1/profiles/${profile?.id}/merges`)).json()) as {
      data: {
        fromProfileId: string
        intoProfileId: string
        messageId: string
        identifiers: { type: string }[]
        rule: string
      }[]
    }
    expect(merges.data).toEqual([
      expect.objectContaining({
        fromProfileId: phoneBefore?.id,
        intoProfileId: profile?.id,
        messageId: 'j5',
        rule: 'identifier',
      }),
    ])
    const old = await k.admin(`/api/v1/profiles/${phoneBefore?.id}`, { headers: {} })
    expect(old.status).toBe(200)
    expect(((await old.json()) as Profile).id).toBe(profile?.id)
    const raw = await fetch(`${k.url}/api/v1/profiles/${phoneBefore?.id}`, {
      redirect: 'manual',
      headers: { authorization: 'Bearer test-admin-token-0123456789' },
    })
    expect(raw.status).toBe(308)
    expect(raw.headers.get('location')).toBe(`/api/v1/profiles/${profile?.id}`)
  })

  it('keeps two people on a shared device apart (merge protection)', async () => {
    await send('/v1/identify', {
      userId: 'bob',
      anonymousId: 'kiosk',
      traits: { name: 'Bob' },
      messageId: 's1',
    })
    await settle()
    await send('/v1/identify', {
      userId: 'carol',
      anonymousId: 'kiosk',
      traits: { name: 'Carol' },
      messageId: 's2',
    })
    await settle()
    const bob = await lookup('user_id', 'bob')
    const carol = await lookup('user_id', 'carol')
    expect(bob?.id).toBeDefined()
    expect(carol?.id).toBeDefined()
    expect(bob?.id).not.toBe(carol?.id)
    expect(bob?.traits.name).toBe('Bob')
    expect(carol?.traits.name).toBe('Carol')
    const dropped = await k.kindred.store.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM identity_events WHERE kind = 'identifier_dropped' AND message_id = 's2'",
    )
    expect(dropped.rows[0]?.n).toBe(1)
  })

  it('links with alias', async () => {
    await send('/v1/track', { anonymousId: 'pre-signup', event: 'Pricing Viewed', messageId: 'a1' })
    await send('/v1/track', { userId: 'dave', event: 'Signed Up', messageId: 'a2' })
    await settle()
    expect((await lookup('anonymous_id', 'pre-signup'))?.id).not.toBe(
      (await lookup('user_id', 'dave'))?.id,
    )
    await send('/v1/alias', { userId: 'dave', previousId: 'pre-signup', messageId: 'a3' })
    await settle()
    const dave = await lookup('user_id', 'dave')
    expect((await lookup('anonymous_id', 'pre-signup'))?.id).toBe(dave?.id)
    const merges = (await (await k.admin(`/api/v1/profiles/${dave?.id}/merges`)).json()) as {
      data: { rule: string }[]
    }
    expect(merges.data.map((m) => m.rule)).toContain('alias')
  })

  it('folds traits from several sources with provenance and keeps conflicts', async () => {
    await send('/v1/identify', {
      userId: 'erin',
      traits: { city: 'Oslo', name: 'Erin' },
      messageId: 't1',
      timestamp: '2026-01-01T00:00:00Z',
    })
    await send(
      '/v1/identify',
      {
        userId: 'erin',
        traits: { city: 'Bergen' },
        messageId: 't2',
        timestamp: '2026-02-01T00:00:00Z',
      },
      crmKey,
    )
    await settle()
    const erin = await lookup('user_id', 'erin')
    expect(erin?.traits.city).toBe('Bergen')
    const traits = (await (await k.admin(`/api/v1/profiles/${erin?.id}/traits`)).json()) as {
      data: {
        key: string
        value: unknown
        provenance: { sourceId: string; messageId: string }
        conflicts: { value: unknown }[]
      }[]
    }
    const city = traits.data.find((t) => t.key === 'city')
    expect(city?.provenance).toMatchObject({ sourceId: crmSource, messageId: 't2' })
    expect(city?.conflicts.map((c) => c.value)).toEqual(['Oslo'])
  })

  it('splits a wrongly merged profile back into two, with the right traits and events', async () => {
    // Two people who share a household email get merged; a support agent splits them.
    await send('/v1/identify', {
      userId: 'frank',
      traits: { email: 'home@example.com', name: 'Frank' },
      messageId: 'x1',
    })
    await send('/v1/track', { userId: 'frank', event: 'Order Completed', messageId: 'x2' })
    await send('/v1/identify', {
      anonymousId: 'grace-phone',
      traits: { name: 'Grace', phone: '+47 912 34 567' },
      messageId: 'x3',
    })
    await send('/v1/track', { anonymousId: 'grace-phone', event: 'App Opened', messageId: 'x4' })
    // Signing in with the shared household email merges the two.
    await send('/v1/track', {
      anonymousId: 'grace-phone',
      event: 'Signed In',
      context: { traits: { email: 'home@example.com' } },
      messageId: 'x4b',
    })
    await settle()
    const merged = await lookup('user_id', 'frank')
    expect((await lookup('anonymous_id', 'grace-phone'))?.id).toBe(merged?.id)

    const res = await k.admin(`/api/v1/profiles/${merged?.id}/split`, {
      body: {
        identifiers: [
          { type: 'anonymous_id', value: 'grace-phone' },
          { type: 'phone', value: '+4791234567' },
        ],
      },
    })
    expect(res.status).toBe(200)
    const split = (await res.json()) as {
      profileId: string
      newProfileId: string
      movedEvents: number
    }
    expect(split.movedEvents).toBe(2)
    const frank = await lookup('user_id', 'frank')
    const grace = await lookup('anonymous_id', 'grace-phone')
    expect(frank?.id).toBe(split.profileId)
    expect(grace?.id).toBe(split.newProfileId)
    expect(frank?.traits.name).toBe('Frank')
    expect(grace?.traits.name).toBe('Grace')
    expect(grace?.traits.phone).toBe('+47 912 34 567')
    expect(ids(frank)).toEqual(['email:home@example.com', 'user_id:frank'])
    expect(ids(grace)).toEqual(['anonymous_id:grace-phone', 'phone:+4791234567'])
    const graceEvents = (await (await k.admin(`/api/v1/profiles/${grace?.id}/events`)).json()) as {
      data: { messageId: string }[]
    }
    expect(graceEvents.data.map((e) => e.messageId).sort()).toEqual(['x3', 'x4'])
    // Later events follow the identifiers to the right side.
    await send('/v1/track', { anonymousId: 'grace-phone', event: 'Later', messageId: 'x5' })
    await settle()
    expect((await lookup('anonymous_id', 'grace-phone'))?.id).toBe(split.newProfileId)
    // The split sticks: Frank signing in on Grace's phone does not merge them again; the event
    // goes to the side of its highest-priority identifier (user_id) and the other is set aside.
    await send('/v1/track', {
      userId: 'frank',
      anonymousId: 'grace-phone',
      event: 'Shared Phone',
      messageId: 'x6',
    })
    await settle()
    expect((await lookup('user_id', 'frank'))?.id).toBe(split.profileId)
    expect((await lookup('anonymous_id', 'grace-phone'))?.id).toBe(split.newProfileId)
    const frankEvents = (await (await k.admin(`/api/v1/profiles/${frank?.id}/events`)).json()) as {
      data: { messageId: string }[]
    }
    expect(frankEvents.data.map((e) => e.messageId)).toContain('x6')
    const history = (await (await k.admin(`/api/v1/profiles/${frank?.id}/merges`)).json()) as {
      data: { kind: string }[]
    }
    expect(history.data.map((m) => m.kind)).toContain('split')
    // Splitting off an identifier the profile does not hold is a clear 400.
    const bad = await k.admin(`/api/v1/profiles/${frank?.id}/split`, {
      body: { identifiers: [{ type: 'user_id', value: 'nobody' }] },
    })
    expect(bad.status).toBe(400)
  })

  it('searches by identifier and name, and validates lookups', async () => {
    const byName = (await (await k.admin('/api/v1/profiles?q=carol')).json()) as { data: Profile[] }
    expect(byName.data.map((p) => p.traits.name)).toContain('Carol')
    const byEmail = (await (await k.admin('/api/v1/profiles?q=ann@exa')).json()) as {
      data: Profile[]
    }
    expect(byEmail.data).toHaveLength(1)
    expect((await k.admin('/api/v1/profiles/lookup?type=email&value=null')).status).toBe(400)
    expect(
      (await k.admin('/api/v1/profiles/lookup?type=email&value=nobody@example.com')).status,
    ).toBe(404)
    expect((await k.admin('/api/v1/profiles/p_missing')).status).toBe(404)
    expect((await k.admin('/api/v1/profiles?cursor=garbage!')).status).toBe(400)
    // A well-formed cursor with the wrong contents is a 400 too, never a failed SQL cast.
    const forged = Buffer.from(JSON.stringify(['not a date', 1])).toString('base64url')
    expect((await k.admin(`/api/v1/profiles?cursor=${forged}`)).status).toBe(400)
    expect(
      (await k.admin(`/api/v1/profiles/${byEmail.data[0]?.id}/events?cursor=${forged}`)).status,
    ).toBe(400)
    // LIKE wildcards in a search are literal characters.
    expect(
      ((await (await k.admin('/api/v1/profiles?q=%25')).json()) as { data: unknown[] }).data,
    ).toEqual([])
  })

  it('merges two profiles that both hold a consent for the same purpose, keeping the newer one', async () => {
    await send('/v1/identify', { userId: 'hank', messageId: 'c1' })
    await send('/v1/track', { anonymousId: 'hank-phone', event: 'Opened', messageId: 'c2' })
    await settle()
    const hank = await lookup('user_id', 'hank')
    const phone = await lookup('anonymous_id', 'hank-phone')
    const db = k.kindred.store.db
    await db.query(
      `INSERT INTO profile_consents (workspace_id, profile_id, purpose, status, updated_at) VALUES
       ('default', $1, 'marketing', 'granted', '2026-01-01'), ('default', $2, 'marketing', 'denied', '2026-06-01'),
       ('default', $2, 'analytics', 'granted', '2026-06-01')`,
      [hank?.id, phone?.id],
    )
    await send('/v1/identify', { userId: 'hank', anonymousId: 'hank-phone', messageId: 'c3' })
    await settle()
    const merged = await lookup('user_id', 'hank')
    expect(merged?.id).toBe(hank?.id)
    const consents = await db.query<{ purpose: string; status: string }>(
      'SELECT purpose, status FROM profile_consents WHERE profile_id = $1 ORDER BY purpose',
      [hank?.id],
    )
    expect(consents.rows).toEqual([
      { purpose: 'analytics', status: 'granted' },
      { purpose: 'marketing', status: 'denied' },
    ])
  })

  it('sums orders and revenue, and counts devices and anonymous ids, for the 360 tiles', async () => {
    const order = (messageId: string, properties: Record<string, unknown>, anonymousId: string) =>
      send('/v1/track', {
        userId: 'olga',
        anonymousId,
        event: 'Order Completed',
        properties,
        messageId,
        timestamp: '2026-03-0' + messageId.slice(-1) + 'T10:00:00.000Z',
        context: { device: { id: `dev-${anonymousId}` } },
      })
    await order('o1', { revenue: 19.9, total: 25 }, 'olga-laptop')
    // Text amounts count (CSV imports send text); total stands in when revenue is missing.
    await order('o2', { total: '30.10' }, 'olga-phone')
    // An unreadable amount is an order without revenue, not an error.
    await order('o3', { revenue: 'lots' }, 'olga-phone')
    await send('/v1/track', {
      userId: 'olga',
      event: 'Product Viewed',
      properties: { revenue: 99 },
      messageId: 'o4',
    })
    await settle()
    const olga = await lookup('user_id', 'olga')
    const res = await k.admin(`/api/v1/profiles/${olga?.id}/summary`)
    expect(res.status).toBe(200)
    const summary = (await res.json()) as Record<string, unknown>
    expect(summary).toMatchObject({ orders: 3, devices: 2, anonymousIds: 2 })
    expect(summary.revenue).toBeCloseTo(50, 9)
    expect(summary.firstSeenAt).toBe('2026-03-01T10:00:00.000Z')
    expect(typeof summary.lastSeenAt).toBe('string')
    expect((await k.admin('/api/v1/profiles/p_missing/summary')).status).toBe(404)
  })

  it('reads and changes identity rules per workspace', async () => {
    const rules = (await (await k.admin('/api/v1/identity/rules')).json()) as {
      rules: { limits: Record<string, number>; priority: string[] }
    }
    expect(rules.rules.limits.user_id).toBe(1)
    expect(rules.rules.priority[0]).toBe('user_id')
    const put = await k.admin('/api/v1/identity/rules', {
      method: 'PUT',
      body: { rules: { limits: { email: 2 }, blockedValues: ['test@example.com'] } },
    })
    expect(put.status).toBe(200)
    const after = (await (await k.admin('/api/v1/identity/rules')).json()) as {
      rules: { limits: Record<string, number | null> }
    }
    expect(after.rules.limits.email).toBe(2)
    const bad = await k.admin('/api/v1/identity/rules', {
      method: 'PUT',
      body: { rules: { limits: { email: -3 } } },
    })
    expect(bad.status).toBe(400)
    await send('/v1/identify', {
      userId: 'tester',
      traits: { email: 'test@example.com' },
      messageId: 'r1',
    })
    await settle()
    expect(ids(await lookup('user_id', 'tester'))).toEqual(['user_id:tester'])
  })
})
