/**
 * A consent settings change re-evaluates audiences, end to end: tracking API → segments →
 * dispatcher → a local webhook receiver (the destination, purpose `analytics`, syncing one
 * audience). Turning the default for profiles that never answered to `deny` sends a removal for
 * each of them and for nobody else; turning it back re-adds them; a write that flips nothing
 * queues nothing. The work runs as a durable job in chunks (2 members here) that a new worker
 * resumes where a previous one stopped.
 */
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, testStores, type TestKindred } from '../../../testing/test-server.js'
import { startReceiver, until, type Receiver } from '../../../testing/test-receiver.js'
import { createConsentModule } from '../../consent-module.js'
import { createDestinationsModule } from '../../../activate/destinations-module.js'
import { createGovernDeliveries } from '../../../activate/index.js'
import { createSegmentsModule } from '../../../understand/segments-module.js'
import { createConsentReevaluator } from './reevaluation.js'

const SECRET = 'whsec-reevaluate-0123456789abcdef'
const PURPOSES = ['analytics', 'marketing', 'advertising', 'personalization']

interface Delivery {
  kind: string
  action?: string
  audience?: { id: string }
  profile?: { traits?: Record<string, unknown> }
}

describe.each(testStores())('consent settings changes re-evaluate audiences (%s)', (store) => {
  let k: TestKindred
  let r: Receiver
  let writeKey: string
  let destinationId: string

  const deliveries = () => r.received.map((x) => x.json as Delivery)
  /** `name → ['add', 'remove', …]`: the audience calls the vendor received, in order. */
  const audienceCalls = (names: string[]) =>
    Object.fromEntries(
      names.map((n) => [
        n,
        deliveries()
          .filter((d) => d.kind === 'audience' && d.profile?.traits?.name === n)
          .map((d) => d.action),
      ]),
    )
  const count = (name: string, action: string) =>
    deliveries().filter(
      (d) => d.kind === 'audience' && d.action === action && d.profile?.traits?.name === name,
    ).length

  async function send(body: Record<string, unknown>): Promise<void> {
    const res = await k.track(writeKey, '/v1/identify', body)
    expect(res.status).toBe(200)
    await k.kindred.processor?.drain()
  }
  async function putSettings(body: Record<string, unknown>) {
    const res = await k.admin('/api/v1/consent/settings', { method: 'PUT', body })
    expect(res.status).toBe(200)
    return (await res.json()) as {
      reevaluation: { id: string; flips: { purpose: string; action: string }[] } | null
    }
  }
  async function completed(id: string) {
    return until(async () => {
      const q = await k.kindred.store.db.query<{
        status: string
        members_seen: string
        jobs_queued: string
        cursor_profile: string | null
      }>(
        'SELECT status, members_seen, jobs_queued, cursor_profile FROM consent_reevaluations WHERE id = $1',
        [id],
      )
      return q.rows[0]?.status === 'completed' ? q.rows[0] : undefined
    })
  }
  /** Sent last; once it arrived, every job queued before it has been served. */
  let sentinels = 0
  async function settle(): Promise<void> {
    const name = `sentinel-${++sentinels}`
    await send({
      userId: name,
      traits: { name, tier: 'vip', consent: { analytics: true } },
    })
    await until(() => count(name, 'add') === 1)
  }
  async function jobCount(): Promise<number> {
    const q = await k.kindred.store.db.query<{ n: string }>(
      `SELECT count(*) AS n FROM delivery_jobs WHERE kind = 'audience'`,
    )
    return Number(q.rows[0]?.n)
  }

  beforeAll(async () => {
    k = await startTestKindred({
      store,
      modules: [
        // Chunks of 2 members: six members take several transactions. The poll is long so that
        // only the settings write wakes the worker (the resume test below drives it by hand).
        createConsentModule({
          chunkSize: 2,
          pollIntervalMs: 3_600_000,
          deliveries: createGovernDeliveries(),
        }),
        createSegmentsModule({ schedulerIntervalMs: 3_600_000 }),
        createDestinationsModule({ baseDelayMs: 20, maxDelayMs: 100, pollIntervalMs: 50 }),
      ],
    })
    ;({ writeKey } = await k.createSource('reevaluate', {
      rateLimit: { eventsPerSecond: 1e6, burst: 1e6 },
    }))
    r = await startReceiver(SECRET)
    const seg = await k.admin('/api/v1/segments', {
      body: {
        id: 'r_vip',
        name: 'VIP',
        definition: { kind: 'trait', trait: 'tier', condition: { op: 'eq', value: 'vip' } },
      },
    })
    expect(seg.status).toBe(201)
    const dest = await k.admin('/api/v1/destinations', {
      body: {
        type: 'builtin.webhook',
        name: 'audiences',
        settings: { url: r.url, signingSecret: SECRET },
        actions: { syncAudience: { segmentIds: ['r_vip'] } },
      },
    })
    expect(dest.status).toBe(201)
    destinationId = ((await dest.json()) as { id: string }).id

    // Four VIPs who never answered, one who granted analytics, one who denied it, and a
    // non-member who never answered.
    for (const n of ['una', 'uli', 'ute', 'uwe'])
      await send({ userId: n, traits: { name: n, tier: 'vip' } })
    await send({
      userId: 'gil',
      traits: { name: 'gil', tier: 'vip', consent: { analytics: true } },
    })
    await send({
      userId: 'dora',
      traits: { name: 'dora', tier: 'vip', consent: { analytics: false } },
    })
    await send({ userId: 'xan', traits: { name: 'xan', tier: 'basic' } })
    await settle()
  }, 60_000)

  afterAll(async () => {
    await k?.close()
    await r?.close()
  })

  const everyone = ['una', 'uli', 'ute', 'uwe', 'gil', 'dora', 'xan']

  it('starts with the members allowed by default (and the one who granted) in the audience', () => {
    expect(audienceCalls(everyone)).toEqual({
      una: ['add'],
      uli: ['add'],
      ute: ['add'],
      uwe: ['add'],
      gil: ['add'],
      dora: [],
      xan: [],
    })
  })

  it('default → deny: a removal for each member who never answered, nobody else', async () => {
    const put = await putSettings({ purposes: PURPOSES, unknown: 'deny' })
    expect(put.reevaluation?.flips).toEqual(
      // Only the purposes destinations are declared for: the webhook's.
      [{ purpose: 'analytics', action: 'remove' }],
    )
    const done = await completed(put.reevaluation!.id)
    // Seven members (with the first sentinel) walked in 2-member chunks, four removals queued;
    // the cursor is cleared.
    expect(Number(done.members_seen)).toBe(7)
    expect(Number(done.jobs_queued)).toBe(4)
    expect(done.cursor_profile).toBeNull()
    await until(() => ['una', 'uli', 'ute', 'uwe'].every((n) => count(n, 'remove') === 1))
    await settle()
    expect(audienceCalls(everyone)).toEqual({
      una: ['add', 'remove'],
      uli: ['add', 'remove'],
      ute: ['add', 'remove'],
      uwe: ['add', 'remove'],
      gil: ['add'],
      dora: [],
      xan: [],
    })
    expect(r.received.every((x) => x.signatureValid)).toBe(true)
  })

  it('a write that flips no default queues nothing (same settings, or only the mapping)', async () => {
    const jobs = await jobCount()
    const runs = await k.kindred.store.db.query('SELECT id FROM consent_reevaluations')
    expect((await putSettings({ purposes: PURPOSES, unknown: 'deny' })).reevaluation).toBeNull()
    expect(
      (
        await putSettings({
          purposes: PURPOSES,
          unknown: 'deny',
          categories: { C0002: 'analytics' },
          // Restates what `unknown` says already.
          unknownByPurpose: { analytics: 'deny' },
        })
      ).reevaluation,
    ).toBeNull()
    // A flip for a purpose no destination syncs for moves nobody either.
    expect(
      (
        await putSettings({
          purposes: PURPOSES,
          unknown: 'deny',
          unknownByPurpose: { marketing: 'allow' },
        })
      ).reevaluation,
    ).toBeNull()
    expect(await k.kindred.store.db.query('SELECT id FROM consent_reevaluations')).toMatchObject({
      rows: runs.rows,
    })
    await settle()
    // Only the sentinel's own add.
    expect(await jobCount()).toBe(jobs + 1)
  })

  it('back to allow: the same members are re-added, nobody else', async () => {
    const put = await putSettings({ purposes: PURPOSES, unknown: 'allow' })
    expect(put.reevaluation?.flips).toEqual([{ purpose: 'analytics', action: 'add' }])
    await completed(put.reevaluation!.id)
    await until(() => ['una', 'uli', 'ute', 'uwe'].every((n) => count(n, 'add') === 2))
    await settle()
    expect(audienceCalls(everyone)).toEqual({
      una: ['add', 'remove', 'add'],
      uli: ['add', 'remove', 'add'],
      ute: ['add', 'remove', 'add'],
      uwe: ['add', 'remove', 'add'],
      gil: ['add'],
      dora: [],
      xan: [],
    })
    // The settings write is audited with what it replaced.
    const audit = await k.kindred.store.db.query<{ before: { unknown?: string } | null }>(
      `SELECT before FROM audit_log WHERE action = 'consent.setting.update' ORDER BY id DESC LIMIT 1`,
    )
    expect(audit.rows[0]?.before?.unknown).toBe('deny')
  })

  it('a worker that stopped mid-way is resumed by another: every job once', async () => {
    const db = k.kindred.store.db
    // Queued as a settings write would, but nobody is woken: two workers run it by hand.
    const row = await db.query<{ id: string }>(
      `INSERT INTO consent_reevaluations (workspace_id, flips, status, created_at, updated_at)
       VALUES ('default', '[{"purpose":"analytics","action":"remove"}]', 'pending', now(), now())
       RETURNING id`,
    )
    const id = String(row.rows[0]?.id)
    const options = {
      db,
      logger: pino({ level: 'silent' }),
      clock: () => new Date(),
      chunkSize: 2,
      deliveries: createGovernDeliveries(),
    }
    const first = createConsentReevaluator(options)
    expect(await first.runChunk()).toBe(true)
    const mid = await db.query<{ status: string; members_seen: string; cursor_profile: string }>(
      'SELECT status, members_seen, cursor_profile FROM consent_reevaluations WHERE id = $1',
      [id],
    )
    expect(mid.rows[0]?.status).toBe('pending')
    expect(Number(mid.rows[0]?.members_seen)).toBe(2)
    expect(mid.rows[0]?.cursor_profile).toEqual(expect.any(String))
    // The first worker is gone; a fresh one (another node, or after a restart) finishes.
    const second = createConsentReevaluator(options)
    expect(await second.runOnce()).toBeGreaterThan(0)
    const jobs = await db.query<{ profile_id: string; n: string }>(
      `SELECT profile_id, count(*) AS n FROM delivery_jobs
       WHERE destination_id = $1 AND idempotency_key LIKE $2 GROUP BY profile_id`,
      [destinationId, `consent-settings:${id}:%`],
    )
    // The four who never answered plus the sentinels (members too, and they granted: skipped).
    expect(jobs.rows).toHaveLength(4)
    expect(jobs.rows.every((j) => Number(j.n) === 1)).toBe(true)
    expect((await completed(id)).cursor_profile).toBeNull()
  })
})
