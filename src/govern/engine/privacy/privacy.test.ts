import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, testStores, type TestKindred } from '../../../testing/test-server.js'
import { segmentsModule } from '../../../understand/segments-module.js'
import { createDestinationsModule } from '../../../activate/destinations-module.js'
import { createPrivacyModule } from '../../privacy-module.js'
import { createGovernDeliveries } from '../../../activate/index.js'
import { startReceiver, until, type Receiver } from '../../../testing/test-receiver.js'
import { legacyIdentifierHash } from '../../core/privacy/suppression.js'

const SECRET = 'whsec-test-0123456789abcdef'

interface RequestView {
  id: string
  type: string
  status: string
  identifier: { type: string; masked: string }
  steps: { step: string; status: string; details: Record<string, unknown> }[]
  destinations: { destinationId: string; status: string; jobId: string | null }[]
  exportAvailable: boolean
  error: string | null
}

/** Ada: two devices merged into one profile; Bob: someone else whose data must stay. */
const ADA = {
  userId: 'ada-7731',
  email: 'ada.lovelace@example.com',
  phone: '+14155550123',
  anon: ['anon-ada-5521', 'anon-ada-9902'],
}
const BOB = { userId: 'bob-4410', email: 'bob@example.org', anon: 'anon-bob-1187' }

describe.each(testStores())('privacy requests (%s)', (store) => {
  let k: TestKindred
  let writeKey: string
  let receiver: Receiver
  let destinationId: string

  async function send(path: string, body: unknown): Promise<void> {
    const res = await k.track(writeKey, path, body)
    expect(res.status).toBe(200)
  }

  async function drain(): Promise<void> {
    await k.kindred.processor?.drain()
  }

  async function create(body: unknown): Promise<RequestView> {
    const res = await k.admin('/api/v1/privacy/requests', { body })
    expect(res.status).toBe(202)
    return (await res.json()) as RequestView
  }

  async function finished(id: string, timeoutMs = 20_000): Promise<RequestView> {
    return until(async () => {
      const r = (await (await k.admin(`/api/v1/privacy/requests/${id}`)).json()) as RequestView
      return r.status === 'completed' || r.status === 'failed' ? r : undefined
    }, timeoutMs)
  }

  async function profileIdOf(type: string, value: string): Promise<string | undefined> {
    const r = await k.kindred.store.db.query<{ profile_id: string }>(
      `SELECT profile_id FROM identities WHERE type = $1 AND value = $2`,
      [type, value],
    )
    return r.rows[0]?.profile_id
  }

  beforeAll(async () => {
    k = await startTestKindred({
      store,
      modules: [
        segmentsModule,
        createDestinationsModule({
          baseDelayMs: 20,
          maxDelayMs: 100,
          pollIntervalMs: 50,
          maxAttempts: 3,
          random: () => 0.5,
        }),
        createPrivacyModule({ pollIntervalMs: 50, deliveries: createGovernDeliveries() }),
      ],
    })
    writeKey = (await k.createSource()).writeKey
    receiver = await startReceiver(SECRET)
    const res = await k.admin('/api/v1/destinations', {
      body: {
        type: 'builtin.webhook',
        name: 'hook',
        settings: { url: receiver.url, signingSecret: SECRET },
        actions: { forwardEvents: {}, upsertProfiles: true },
      },
    })
    expect(res.status).toBe(201)
    destinationId = ((await res.json()) as { id: string }).id

    // Ada on two devices, then she logs in on both: the anonymous profiles merge into hers.
    for (const anon of ADA.anon) {
      await send('/v1/page', { anonymousId: anon, name: 'Home', properties: { path: '/' } })
      await drain()
    }
    await send('/v1/identify', {
      userId: ADA.userId,
      anonymousId: ADA.anon[0],
      traits: { email: 'Ada.Lovelace@Example.com', phone: ADA.phone, name: 'Ada Lovelace' },
    })
    await drain()
    await send('/v1/identify', { userId: ADA.userId, anonymousId: ADA.anon[1] })
    await send('/v1/track', {
      userId: ADA.userId,
      event: 'Order Completed',
      properties: { total: 42, note: `gift for ${ADA.email}` },
    })
    await send('/v1/identify', {
      userId: BOB.userId,
      anonymousId: BOB.anon,
      traits: { email: BOB.email, name: 'Bob' },
    })
    await send('/v1/track', {
      userId: BOB.userId,
      event: 'Order Completed',
      properties: { total: 7 },
    })
    await drain()
    // Derived data the other modules would write (consent and computed traits by API later).
    const db = k.kindred.store.db
    for (const [who, id] of [
      ['ada', await profileIdOf('user_id', ADA.userId)],
      ['bob', await profileIdOf('user_id', BOB.userId)],
    ] as const) {
      expect(id).toBeDefined()
      await db.query(
        `INSERT INTO profile_consents VALUES ('default', $1, 'marketing', 'granted', now())`,
        [id],
      )
      await db.query(
        `INSERT INTO computed_trait_values (workspace_id, profile_id, computed_trait_id, value, updated_at)
         VALUES ('default', $1, 'ct_orders', $2, now())`,
        [id, JSON.stringify({ who })],
      )
      await db.query(`INSERT INTO segment_members VALUES ('default', 'seg_buyers', $1, now())`, [
        id,
      ])
      await db.query(
        `INSERT INTO segment_membership_history VALUES ('default', 'seg_buyers', $1, now(), NULL)`,
        [id],
      )
    }
    // Deliveries of both people reached the webhook (what was sent where, for the export).
    await until(async () => {
      const r = await db.query<{ n: string }>(
        `SELECT count(*) AS n FROM delivery_jobs WHERE state IN ('pending', 'in_flight')`,
      )
      return Number(r.rows[0]?.n) === 0
    })
  }, 60_000)

  afterAll(async () => {
    await k?.close()
    await receiver?.close()
  })

  it('rejects bad input with clear errors', async () => {
    const cases: [unknown, string][] = [
      [{ type: 'erase', identifier: { type: 'email', value: 'a@b.co' } }, 'VALIDATION_FAILED'],
      [{ type: 'access' }, 'VALIDATION_FAILED'],
      [
        { type: 'access', identifier: { type: 'email', value: 'not-an-email' } },
        'VALIDATION_FAILED',
      ],
      [{ type: 'suppression', profileId: 'prf_0123456789' }, 'VALIDATION_FAILED'],
    ]
    for (const [body, code] of cases) {
      const res = await k.admin('/api/v1/privacy/requests', { body })
      expect(res.status).toBe(400)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code)
    }
    expect((await k.admin('/api/v1/privacy/requests/prq_doesnotexist')).status).toBe(404)
    expect((await k.admin('/api/v1/privacy/requests?status=done')).status).toBe(400)
  })

  it('access: exports everything about the person, found by any identifier, nobody else', async () => {
    const req = await create({
      type: 'access',
      identifier: { type: 'email', value: ' ADA.Lovelace@example.com' },
    })
    expect(req.identifier).toEqual({ type: 'email', masked: 'a***@example.com' })
    const done = await finished(req.id)
    expect(done.status).toBe('completed')
    expect(done.exportAvailable).toBe(true)
    const res = await k.admin(`/api/v1/privacy/requests/${req.id}/export`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-disposition')).toContain('attachment')
    const text = await res.text()
    const x = JSON.parse(text) as Record<string, unknown> & {
      profile: { id: string; golden: { traits: Record<string, unknown> } }
      mergedProfiles: unknown[]
      identifiers: { type: string; value: string }[]
      events: { type: string; event?: string }[]
      consent: unknown[]
      computedTraits: unknown[]
      segments: unknown[]
      segmentHistory: unknown[]
      merges: unknown[]
      deliveries: { jobs: { destinationId: string; state: string }[]; attempts: unknown[] }
    }
    expect(x.profile.id).toBe(await profileIdOf('email', ADA.email))
    expect(Object.keys(x.profile.golden.traits)).toEqual(expect.arrayContaining(['email', 'name']))
    // The second device's profile merged into the first (the oldest survives).
    expect(x.mergedProfiles).toHaveLength(1)
    expect(x.merges.length).toBeGreaterThanOrEqual(1)
    expect(x.identifiers.map((i) => `${i.type}:${i.value}`).sort()).toEqual(
      [
        `anonymous_id:${ADA.anon[0]}`,
        `anonymous_id:${ADA.anon[1]}`,
        `email:${ADA.email}`,
        `phone:${ADA.phone}`,
        `user_id:${ADA.userId}`,
      ].sort(),
    )
    // 2 pages + 2 identifies + 1 track, across the merged profiles.
    expect(x.events).toHaveLength(5)
    expect(x.consent).toHaveLength(1)
    expect(x.computedTraits).toHaveLength(1)
    expect(x.segments).toHaveLength(1)
    expect(x.segmentHistory).toHaveLength(1)
    expect(x.deliveries.jobs.length).toBeGreaterThan(0)
    expect(x.deliveries.jobs.every((j) => j.destinationId === destinationId)).toBe(true)
    expect(x.deliveries.attempts.length).toBeGreaterThan(0)
    expect(text).not.toContain(BOB.userId)
    expect(text).not.toContain(BOB.email)
  })

  it('deletion: nothing about the person is left anywhere in the database; others intact', async () => {
    const db = k.kindred.store.db
    const bobId = (await profileIdOf('user_id', BOB.userId)) as string
    const adaId = (await profileIdOf('user_id', ADA.userId)) as string
    const adaProfiles = (
      await db.query<{ id: string }>('SELECT id FROM profiles WHERE id = $1 OR merged_into = $1', [
        adaId,
      ])
    ).rows.map((r) => r.id)
    expect(adaProfiles.length).toBe(2)
    const bobCounts = await countsFor(bobId)
    const received = receiver.received.length

    const req = await create({
      type: 'deletion',
      identifier: { type: 'userId', value: ADA.userId },
    })
    const done = await finished(req.id)
    expect(done.status).toBe('completed')
    expect(done.steps.map((s) => s.step)).toEqual([
      'resolve',
      'suppress',
      'erase',
      'lake',
      'forward',
      'scrub',
    ])
    expect(done.destinations).toEqual([
      expect.objectContaining({ destinationId, status: 'succeeded' }),
    ])
    // The webhook got a signed deletion call naming the person.
    const call = receiver.received
      .slice(received)
      .find((r) => (r.json as { kind?: string }).kind === 'delete')
    expect(call?.signatureValid).toBe(true)
    expect(JSON.stringify(call?.json)).toContain(ADA.email)

    const needles = [ADA.userId, ADA.email, ADA.phone, ...ADA.anon, ...adaProfiles, 'Ada Lovelace']
    // Nor the unkeyed hash of any of her identifiers (what a dictionary attack would look for):
    // the request row and the tombstones hold keyed hashes only (ADR 0007).
    const unkeyed = [
      { type: 'user_id', value: ADA.userId },
      { type: 'email', value: ADA.email },
      { type: 'phone', value: ADA.phone },
      ...ADA.anon.map((value) => ({ type: 'anonymous_id', value })),
    ].map(legacyIdentifierHash)
    expect(await sweep([...needles, ...unkeyed])).toEqual([])
    const tombstones = await db.query<{ scheme: string }>(
      `SELECT scheme FROM privacy_suppressions WHERE request_id = $1`,
      [req.id],
    )
    expect(tombstones.rows.length).toBe(unkeyed.length)
    expect(tombstones.rows.every((t) => t.scheme === 'hmac-sha256')).toBe(true)
    expect(await countsFor(bobId)).toEqual(bobCounts)
    // The earlier access request's export is gone with the person.
    const list = (await (await k.admin('/api/v1/privacy/requests?type=access')).json()) as {
      items: RequestView[]
    }
    expect(list.items.every((r) => !r.exportAvailable)).toBe(true)
  })

  it('deletion: the person does not come back from events still in flight', async () => {
    // Through ingest: the tombstone drops it.
    await send('/v1/track', { userId: ADA.userId, event: 'Late Event' })
    // Accepted before the tombstone existed (straight into the log): the processor erases it.
    await k.kindred.eventLog.append({
      workspaceId: 'default',
      sourceId: (await k.kindred.store.db.query<{ id: string }>('SELECT id FROM sources LIMIT 1'))
        .rows[0]!.id,
      receivedAt: new Date().toISOString(),
      events: [
        {
          type: 'identify',
          messageId: 'late-identify-1',
          anonymousId: ADA.anon[0],
          traits: { email: ADA.email },
          properties: {},
          context: {},
          timestamp: new Date().toISOString(),
          receivedAt: new Date().toISOString(),
        } as never,
      ],
    })
    await drain()
    expect(await sweep([ADA.userId, ADA.email, ...ADA.anon])).toEqual([])
    expect(await profileIdOf('user_id', BOB.userId)).toBeDefined()
  })

  it('suppression: events of suppressed identifiers are dropped at ingest with a 200, counted', async () => {
    const res = await k.admin('/api/v1/privacy/suppressions', {
      body: { identifier: { type: 'email', value: 'Carol@Example.com ' } },
    })
    expect(res.status).toBe(201)
    const sup = (await res.json()) as { id: string; identifier: { masked: string } }
    expect(sup.identifier.masked).toBe('c***@example.com')
    const metric = async () => {
      const text = await (await fetch(`${k.url}/metrics`)).text()
      return Number(/^kindred_events_suppressed_total (\d+)/m.exec(text)?.[1] ?? 0)
    }
    const before = await metric()
    await send('/v1/identify', { userId: 'carol-1', traits: { email: 'CAROL@example.com' } })
    await send('/v1/batch', {
      batch: [
        { type: 'track', userId: 'dave-1', event: 'Kept' },
        {
          type: 'track',
          anonymousId: 'x-77',
          event: 'Dropped',
          context: { traits: { email: 'carol@example.com' } },
        },
      ],
    })
    await drain()
    expect(await metric()).toBe(before + 2)
    expect(await profileIdOf('user_id', 'carol-1')).toBeUndefined()
    expect(await profileIdOf('user_id', 'dave-1')).toBeDefined()
    const list = (await (await k.admin('/api/v1/privacy/suppressions')).json()) as {
      items: { id: string; droppedCount: number }[]
    }
    expect(list.items.find((s) => s.id === sup.id)?.droppedCount).toBe(2)
    // The list holds no identifier in clear.
    const raw = await k.kindred.store.db.query('SELECT * FROM privacy_suppressions')
    expect(JSON.stringify(raw.rows)).not.toContain('carol@example.com')

    // A suppression request (userId), run by the worker, blocks too; removing one unblocks.
    const r = await finished(
      (await create({ type: 'suppression', identifier: { type: 'user_id', value: 'erin-9' } })).id,
    )
    expect(r.status).toBe('completed')
    await send('/v1/track', { userId: 'erin-9', event: 'Blocked' })
    expect(
      (await k.admin(`/api/v1/privacy/suppressions/${sup.id}`, { method: 'DELETE' })).status,
    ).toBe(204)
    await send('/v1/identify', { userId: 'carol-2', traits: { email: 'carol@example.com' } })
    await drain()
    expect(await profileIdOf('user_id', 'erin-9')).toBeUndefined()
    expect(await profileIdOf('email', 'carol@example.com')).toBeDefined()
  })

  it('deletion by a merged-away profile id deletes the whole person', async () => {
    await send('/v1/page', { anonymousId: 'anon-gina-1', name: 'Home' })
    await drain()
    await send('/v1/identify', {
      userId: 'gina-5',
      anonymousId: 'anon-gina-2',
      traits: { email: 'gina@example.com' },
    })
    await drain()
    await send('/v1/alias', { userId: 'gina-5', previousId: 'anon-gina-1' })
    await drain()
    const db = k.kindred.store.db
    const merged = await db.query<{ id: string; merged_into: string }>(
      `SELECT id, merged_into FROM profiles WHERE merged_into = $1`,
      [await profileIdOf('user_id', 'gina-5')],
    )
    expect(merged.rows).toHaveLength(1)
    const gone = merged.rows[0]!.id
    const done = await finished((await create({ type: 'deletion', profileId: gone })).id)
    expect(done.status).toBe('completed')
    expect(done.identifier.type).toBe('profile_id')
    expect(
      await sweep([
        'gina-5',
        'gina@example.com',
        'anon-gina-1',
        'anon-gina-2',
        gone,
        merged.rows[0]!.merged_into,
      ]),
    ).toEqual([])
  })

  it('picks up a request whose worker died mid-way (restart) and finishes it', async () => {
    await send('/v1/identify', { userId: 'frank-3', traits: { email: 'frank@example.net' } })
    await drain()
    const db = k.kindred.store.db
    await db.query(
      `INSERT INTO privacy_requests (workspace_id, id, type, status, identifier_type, identifier_hash,
         scheme, identifier_mask, subject, next_run_at, locked_until, created_at, started_at, updated_at)
       VALUES ('default', 'prq_crashed01', 'access', 'running', 'user_id', 'h', 'sha256', 'f***',
         $1, now(), now() - interval '1 second', now(), now(), now())`,
      [JSON.stringify({ identifier: { type: 'user_id', value: 'frank-3' } })],
    )
    const done = await finished('prq_crashed01')
    expect(done.status).toBe('completed')
    const x = (await (await k.admin('/api/v1/privacy/requests/prq_crashed01/export')).json()) as {
      identifiers: { value: string }[]
    }
    expect(x.identifiers.map((i) => i.value)).toContain('frank@example.net')
  })

  it('lists requests and suppressions newest first, page by page through nextCursor', async () => {
    for (const value of ['paged-1', 'paged-2', 'paged-3']) {
      const r = await create({ type: 'suppression', identifier: { type: 'user_id', value } })
      expect((await finished(r.id)).status).toBe('completed')
    }
    await k.admin('/api/v1/privacy/suppressions', {
      body: { identifier: { type: 'email', value: 'paged-1@example.com' } },
    })
    type Listed = {
      items: { id: string; createdAt: string; type?: string }[]
      nextCursor: string | null
    }
    const list = async (path: string) => (await (await k.admin(path)).json()) as Listed
    async function walk(path: string): Promise<string[]> {
      const ids: string[] = []
      let cursor: string | null = null
      do {
        const sep = path.includes('?') ? '&' : '?'
        const page: Listed = await list(
          cursor === null ? path : `${path}${sep}cursor=${encodeURIComponent(cursor)}`,
        )
        expect(page.items.length).toBeLessThanOrEqual(1)
        ids.push(...page.items.map((i) => i.id))
        cursor = page.nextCursor
      } while (cursor !== null)
      return ids
    }
    for (const [path, all] of [
      ['/api/v1/privacy/requests?limit=1', '/api/v1/privacy/requests?limit=200'],
      [
        '/api/v1/privacy/requests?limit=1&type=suppression',
        '/api/v1/privacy/requests?limit=200&type=suppression',
      ],
      ['/api/v1/privacy/suppressions?limit=1', '/api/v1/privacy/suppressions?limit=500'],
    ] as const) {
      const whole = await list(all)
      expect(whole.nextCursor).toBeNull()
      expect(whole.items.length).toBeGreaterThan(1)
      // Newest first; rows of one instant (a deletion's tombstones) in the store's id order,
      // which the walk below must follow exactly.
      const times = whole.items.map((i) => i.createdAt)
      expect(times).toEqual([...times].sort().reverse())
      expect(await walk(path)).toEqual(whole.items.map((i) => i.id))
    }
    const requestsOfType = await list('/api/v1/privacy/requests?limit=200&type=suppression')
    expect(new Set(requestsOfType.items.map((i) => i.type))).toEqual(new Set(['suppression']))
    expect((await k.admin('/api/v1/privacy/requests?cursor=not-a-cursor')).status).toBe(400)
  })

  /** Rows of one profile in the tables a deletion touches. */
  async function countsFor(profileId: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {}
    for (const t of [
      'events',
      'identities',
      'computed_trait_values',
      'segment_members',
      'segment_membership_history',
      'profile_consents',
      'delivery_jobs',
    ]) {
      const r = await k.kindred.store.db.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${t} WHERE profile_id = $1`,
        [profileId],
      )
      out[t] = Number(r.rows[0]?.n)
    }
    const p = await k.kindred.store.db.query('SELECT 1 FROM profiles WHERE id = $1', [profileId])
    out.profiles = p.rows.length
    return out
  }

  /** Every text-like column of every table of every user schema, searched for each needle. */
  async function sweep(needles: string[]): Promise<string[]> {
    const db = k.kindred.store.db
    const cols = await db.query<{ s: string; t: string; c: string }>(
      `SELECT c.table_schema AS s, c.table_name AS t, c.column_name AS c
       FROM information_schema.columns c JOIN information_schema.tables t
         ON t.table_schema = c.table_schema AND t.table_name = c.table_name
       WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
         AND t.table_type = 'BASE TABLE'
         AND (c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY'))`,
    )
    expect(cols.rows.length).toBeGreaterThan(40)
    const patterns = needles.map((n) => `%${n.replace(/[\\%_]/g, (m) => `\\${m}`)}%`)
    const hits: string[] = []
    for (const { s, t, c } of cols.rows) {
      const q = (x: string) => `"${x.replace(/"/g, '""')}"`
      const r = await db.query<{ v: string }>(
        `SELECT ${q(c)}::text AS v FROM ${q(s)}.${q(t)} WHERE ${q(c)}::text ILIKE ANY($1::text[])`,
        [patterns],
      )
      for (const row of r.rows) hits.push(`${s}.${t}.${c}: ${row.v.slice(0, 200)}`)
    }
    return hits
  }
})
