import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, testStores, type TestKindred } from '../../testing/test-server.js'

const sha = (s: string) => createHash('sha256').update(s).digest('hex')

const orderPlan = {
  mode: 'quarantine',
  unplannedEvents: 'flag',
  events: {
    'Order Completed': {
      type: 'object',
      required: ['total'],
      properties: { total: { type: 'number' }, currency: { type: 'string', minLength: 3 } },
    },
  },
  identify: { type: 'object', properties: { age: { type: 'integer' } } },
}

interface Quarantine {
  data: Array<{
    messageId: string
    reason: string
    event: string | null
    violations: Array<{ path: string; keyword: string }>
    replayedAt: string | null
  }>
  total: number
  nextCursor: string | null
}

describe.each(testStores())('data quality on %s', (store) => {
  let k: TestKindred
  beforeAll(async () => {
    k = await startTestKindred({ store })
  })
  afterAll(() => k.close())

  const db = () => k.kindred.store.db
  const drain = () => k.kindred.processor?.drain()
  const count = async (sql: string, params: unknown[]) =>
    Number((await db().query<{ n: string }>(sql, params)).rows[0]?.n)

  it('saves plans as versions and refuses invalid ones with the failing schema named', async () => {
    const { id } = await k.createSource('plans')
    const empty = await k.admin(`/api/v1/sources/${id}/tracking-plan`)
    expect(await empty.json()).toMatchObject({ version: 0, plan: { mode: 'allow', events: {} } })
    const bad = await k.admin(`/api/v1/sources/${id}/tracking-plan`, {
      method: 'PUT',
      body: { mode: 'flag', events: { X: { type: 'no-such-type' } } },
    })
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({
      error: { code: 'VALIDATION_FAILED', details: [{ path: 'events.X' }] },
    })
    const wrongMode = await k.admin(`/api/v1/sources/${id}/tracking-plan`, {
      method: 'PUT',
      body: { mode: 'block' },
    })
    expect(wrongMode.status).toBe(400)
    for (const v of [1, 2]) {
      const put = await k.admin(`/api/v1/sources/${id}/tracking-plan`, {
        method: 'PUT',
        body: orderPlan,
      })
      expect(put.status).toBe(200)
      expect(await put.json()).toMatchObject({ version: v, plan: { mode: 'quarantine' } })
    }
    expect((await k.admin('/api/v1/sources/src_nope/tracking-plan')).status).toBe(404)
    expect(
      (await k.admin(`/api/v1/sources/${id}/tracking-plan`, { method: 'DELETE' })).status,
    ).toBe(204)
  })

  it('flags: stores the event and records its violations, counted per event and property', async () => {
    const { id, writeKey } = await k.createSource('flag')
    await k.admin(`/api/v1/sources/${id}/tracking-plan`, {
      method: 'PUT',
      body: { ...orderPlan, mode: 'flag' },
    })
    await k.track(writeKey, '/v1/batch', {
      batch: [
        { type: 'track', userId: 'f1', event: 'Order Completed', properties: { total: 'x' } },
        { type: 'track', userId: 'f1', event: 'Order Completed', properties: { currency: 'E' } },
        { type: 'track', userId: 'f1', event: 'Order Completed', properties: { total: 3 } },
        { type: 'track', userId: 'f1', event: 'Signed Up', messageId: 'unplanned-1' },
      ],
    })
    await drain()
    expect(await count('SELECT count(*) AS n FROM events WHERE source_id = $1', [id])).toBe(4)
    const res = await k.admin(`/api/v1/sources/${id}/violations`)
    expect(res.status).toBe(200)
    const v = (await res.json()) as {
      total: number
      byEvent: Array<{ event: string; action: string; count: number }>
      byProperty: Array<{ event: string; path: string; keyword: string; count: number }>
      recent: Array<{ messageId: string }>
    }
    expect(v.total).toBe(3)
    expect(v.byEvent).toEqual([
      { event: 'Order Completed', type: 'track', action: 'flag', count: 2 },
      { event: 'Signed Up', type: 'track', action: 'flag', count: 1 },
    ])
    expect(v.byProperty).toEqual(
      expect.arrayContaining([
        { event: 'Order Completed', path: 'properties.total', keyword: 'type', count: 1 },
        { event: 'Order Completed', path: 'properties.total', keyword: 'required', count: 1 },
        { event: 'Order Completed', path: 'properties.currency', keyword: 'minLength', count: 1 },
        { event: 'Signed Up', path: 'event', keyword: 'unplanned', count: 1 },
      ]),
    )
    expect(v.recent).toHaveLength(3)
    const none = await k.admin(
      `/api/v1/sources/${id}/violations?from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z`,
    )
    expect(((await none.json()) as { total: number }).total).toBe(0)
    expect((await k.admin(`/api/v1/sources/${id}/violations?from=yesterday`)).status).toBe(400)
    const metrics = await (await fetch(`${k.url}/metrics`)).text()
    expect(metrics).toContain(
      `kindred_tracking_plan_violations_total{source="${id}",mode="flag"} 3`,
    )
  })

  it('quarantines: not applied, kept whole, replayed once after the plan is fixed', async () => {
    const { id, writeKey } = await k.createSource('quarantine')
    await k.admin(`/api/v1/sources/${id}/tracking-plan`, { method: 'PUT', body: orderPlan })
    const bad = {
      type: 'track',
      userId: 'q-user',
      event: 'Order Completed',
      messageId: 'bad-order-1',
      properties: { total: '12.50' },
    }
    await k.track(writeKey, '/v1/batch', {
      batch: [bad, { ...bad, messageId: 'good-1', properties: { total: 1 } }],
    })
    await drain()
    const stored = () =>
      count('SELECT count(*) AS n FROM events WHERE source_id = $1 AND message_id = $2', [
        id,
        'bad-order-1',
      ])
    expect(await stored()).toBe(0)
    expect(await count('SELECT count(*) AS n FROM events WHERE source_id = $1', [id])).toBe(1)
    let q = (await (await k.admin(`/api/v1/sources/${id}/quarantine`)).json()) as Quarantine
    expect(q.total).toBe(1)
    expect(q.data[0]).toMatchObject({
      messageId: 'bad-order-1',
      reason: 'plan',
      event: 'Order Completed',
      violations: [{ path: 'properties.total', keyword: 'type' }],
      payload: { properties: { total: '12.50' }, userId: 'q-user' },
    })

    const row = await db().query<{ payload: unknown }>(
      'SELECT payload FROM quarantined_events WHERE message_id = $1',
      ['bad-order-1'],
    )
    // Kept for a duplicate append below (a replay whose acknowledgement was lost).
    const payload = row.rows[0]?.payload as never
    // An SDK retry of the same messageId lands in quarantine again, not in the store.
    await k.track(writeKey, '/v1/track', bad)
    await drain()
    expect(await stored()).toBe(0)
    expect(
      await count('SELECT attempts AS n FROM quarantined_events WHERE message_id = $1', [
        'bad-order-1',
      ]),
    ).toBe(2)

    // Replaying against the unchanged plan changes nothing.
    let r = await k.admin(`/api/v1/sources/${id}/quarantine/replay`, { body: {} })
    expect(await r.json()).toMatchObject({ replayed: 0, stillFailing: 1 })

    // Fix the plan (totals may be strings), replay twice: applied once.
    const fixed = structuredClone(orderPlan)
    fixed.events['Order Completed'].properties.total = { type: ['number', 'string'] } as never
    await k.admin(`/api/v1/sources/${id}/tracking-plan`, { method: 'PUT', body: fixed })
    r = await k.admin(`/api/v1/sources/${id}/quarantine/replay`, { body: {} })
    expect(await r.json()).toMatchObject({ replayed: 1, stillFailing: 0, planVersion: 2 })
    q = (await (await k.admin(`/api/v1/sources/${id}/quarantine`)).json()) as Quarantine
    expect(q.data[0]?.replayedAt).not.toBeNull()
    // A second request while the first is in flight picks nothing (no double append)…
    r = await k.admin(`/api/v1/sources/${id}/quarantine/replay`, { body: {} })
    expect(await r.json()).toMatchObject({ replayed: 0 })
    // …and a duplicate append (a lost-ack retry) is absorbed by messageId dedup.
    await k.kindred.eventLog.append({
      workspaceId: 'default',
      sourceId: id,
      receivedAt: new Date().toISOString(),
      events: [payload],
    })
    await drain()
    expect(await stored()).toBe(1)
    q = (await (await k.admin(`/api/v1/sources/${id}/quarantine`)).json()) as Quarantine
    expect(q.total).toBe(0)
    const profile = await k.admin('/api/v1/profiles/lookup?type=user_id&value=q-user')
    expect(profile.status).toBe(200)
    const metrics = await (await fetch(`${k.url}/metrics`)).text()
    expect(metrics).toContain(
      `kindred_tracking_plan_violations_total{source="${id}",mode="quarantine"} 2`,
    )
  })

  it('pages the quarantine with a cursor and keeps identify events aside too', async () => {
    const { id, writeKey } = await k.createSource('paging')
    await k.admin(`/api/v1/sources/${id}/tracking-plan`, { method: 'PUT', body: orderPlan })
    await k.track(writeKey, '/v1/batch', {
      batch: Array.from({ length: 5 }, (_, i) => ({
        type: 'identify',
        userId: `pg-${i}`,
        messageId: `pg-${i}`,
        traits: { age: 'old' },
      })),
    })
    await drain()
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const res = await k.admin(
        `/api/v1/sources/${id}/quarantine?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      )
      const page = (await res.json()) as Quarantine
      expect(page.total).toBe(5)
      seen.push(...page.data.map((d) => d.messageId))
      cursor = page.nextCursor
    } while (cursor)
    expect(seen.sort()).toEqual(['pg-0', 'pg-1', 'pg-2', 'pg-3', 'pg-4'])
    expect((await k.admin(`/api/v1/sources/${id}/quarantine?cursor=zzz`)).status).toBe(400)
    expect((await k.admin('/api/v1/profiles/lookup?type=user_id&value=pg-1')).status).toBe(404)
    // Replay a chosen one after dropping the identify schema.
    await k.admin(`/api/v1/sources/${id}/tracking-plan`, {
      method: 'PUT',
      body: { ...orderPlan, identify: undefined },
    })
    const r = await k.admin(`/api/v1/sources/${id}/quarantine/replay`, {
      body: { messageIds: ['pg-3'] },
    })
    expect(await r.json()).toMatchObject({ replayed: 1 })
    await drain()
    expect((await k.admin('/api/v1/profiles/lookup?type=user_id&value=pg-3')).status).toBe(200)
    expect((await k.admin('/api/v1/profiles/lookup?type=user_id&value=pg-1')).status).toBe(404)
    const bad = await k.admin(`/api/v1/sources/${id}/quarantine/replay`, {
      body: { messageIds: [] },
    })
    expect(bad.status).toBe(400)
  })

  it('hashes chosen fields and anonymises IPs before the event log', async () => {
    const put = await k.admin('/api/v1/privacy/pii', {
      method: 'PUT',
      body: { hashFields: ['email'], hashSalt: 'pepper-salt', anonymizeIp: false },
    })
    expect(put.status).toBe(200)
    expect(await put.json()).toMatchObject({ hashFields: ['email'], hasHashSalt: true })
    const got = (await (await k.admin('/api/v1/privacy/pii')).json()) as Record<string, unknown>
    expect(got).not.toHaveProperty('hashSalt')
    expect(got.piiFields).toContain('email')
    const { id, writeKey } = await k.createSource('pii', { pii: { anonymizeIp: true } })
    const plain = await k.createSource('pii-plain')
    const event = {
      userId: 'pii-1',
      traits: { email: 'Ada@Example.com', name: 'Ada' },
      context: { ip: '198.51.100.23' },
    }
    // The processor must not run before we look at the log: stop it for the moment.
    await k.kindred.processor?.stop()
    expect((await k.track(writeKey, '/v1/identify', event)).status).toBe(200)
    expect((await k.track(plain.writeKey, '/v1/identify', event)).status).toBe(200)
    const log = await db().query<{ source_id: string; events: string }>(
      'SELECT source_id, events FROM event_log WHERE source_id = ANY($1)',
      [[id, plain.id]],
    )
    const text = (s: string) => log.rows.find((r) => r.source_id === s)?.events ?? ''
    expect(text(id)).not.toContain('Ada@Example.com')
    expect(text(id)).not.toContain('198.51.100.23')
    expect(text(id)).toContain('198.51.100.0')
    expect(text(plain.id)).toContain('198.51.100.23')
    expect(text(plain.id)).not.toContain('Ada@Example.com')
    k.kindred.processor?.start()
    await drain()
    const row = await db().query<{ traits: { email: string; name: string }; context: unknown }>(
      'SELECT traits, context FROM events WHERE source_id = $1',
      [id],
    )
    expect(row.rows[0]?.traits).toEqual({ email: sha('pepper-saltada@example.com'), name: 'Ada' })
    expect(row.rows[0]?.context).toMatchObject({ ip: '198.51.100.0' })
    const invalid = await k.admin('/api/v1/privacy/pii', {
      method: 'PUT',
      body: { retentionDays: 0 },
    })
    expect(invalid.status).toBe(400)
    const badSource = await k.admin(`/api/v1/sources/${id}`, {
      method: 'PATCH',
      body: { settings: { pii: { anonymizeIp: 'yes' } } },
    })
    expect(badSource.status).toBe(400)
    await k.admin('/api/v1/privacy/pii', { method: 'PUT', body: { hashSalt: null } })
    expect(await (await k.admin('/api/v1/privacy/pii')).json()).toMatchObject({
      hasHashSalt: false,
      hashFields: [],
    })
  })

  it("never shows or changes another workspace's plan, violations or quarantine", async () => {
    const { id } = await k.createSource('mine')
    await k.admin(`/api/v1/sources/${id}/tracking-plan`, { method: 'PUT', body: orderPlan })
    const other = { 'x-kindred-workspace': 'ws_elsewhere' }
    for (const [path, method, body] of [
      [`/api/v1/sources/${id}/tracking-plan`, 'GET', undefined],
      [`/api/v1/sources/${id}/tracking-plan`, 'PUT', orderPlan],
      [`/api/v1/sources/${id}/tracking-plan`, 'DELETE', undefined],
      [`/api/v1/sources/${id}/violations`, 'GET', undefined],
      [`/api/v1/sources/${id}/quarantine`, 'GET', undefined],
      [`/api/v1/sources/${id}/quarantine/replay`, 'POST', {}],
      ['/api/v1/privacy/pii', 'PUT', { retentionDays: 1 }],
    ] as const) {
      const res = await k.admin(path, { method, body, headers: other })
      expect(res.status, `${method} ${path}`).toBe(404)
    }
    const plan = (await (await k.admin(`/api/v1/sources/${id}/tracking-plan`)).json()) as {
      version: number
    }
    expect(plan.version).toBe(1)
  })

  it('refuses requests without the admin token', async () => {
    for (const path of [
      '/api/v1/sources/x/tracking-plan',
      '/api/v1/sources/x/violations',
      '/api/v1/sources/x/quarantine',
      '/api/v1/privacy/pii',
    ]) {
      expect((await fetch(`${k.url}${path}`)).status).toBe(401)
    }
  })
})
