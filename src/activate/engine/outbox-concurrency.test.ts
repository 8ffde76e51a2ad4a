/**
 * The outbox on a Postgres server with concurrent writers: ids are taken at INSERT and rows become
 * visible at COMMIT, so a row with a smaller id can appear after a larger one was fanned out. The
 * dispatcher must still fan it out (it used to follow an id cursor and skip it).
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase } from '../../testing/databases.js'
import { openStore, type Store } from '../../platform/store/open-store.js'
import { createDispatcher } from './dispatcher/dispatcher-worker.js'

const baseUrl = process.env.KINDRED_TEST_DATABASE_URL

describe('outbox fan-out with concurrent writers (Postgres server)', () => {
  let store: Store
  let drop: () => Promise<void>
  let url: string

  beforeAll(async () => {
    if (!baseUrl) {
      throw new Error('KINDRED_TEST_DATABASE_URL is not set: this suite needs a Postgres server')
    }
    const db = await createTestDatabase(baseUrl)
    url = db.url
    drop = db.drop
    store = await openStore({ databaseUrl: url })
    await store.db.query(
      `INSERT INTO destinations (workspace_id, id, type, name, actions, created_at, updated_at)
       VALUES ('default', 'dst_aud', 'builtin.webhook', 'aud',
         '{"syncAudience":{"segmentIds":["seg_vip"]}}', now(), now())`,
    )
  })

  afterAll(async () => {
    await store?.close()
    await drop?.()
  })

  const row = (profile: string) => [
    'default',
    'segment.entered',
    profile,
    JSON.stringify({ segmentId: 'seg_vip', segmentName: 'VIP', at: '2026-01-01T00:00:00Z' }),
  ]
  const insert = `INSERT INTO outbox (workspace_id, kind, profile_id, payload)
    VALUES ($1, $2, $3, $4) RETURNING id`

  it('fans out a row that commits after a row with a larger id was consumed', async () => {
    const dispatcher = createDispatcher({ db: store.db, secretKey: new Uint8Array(32) })
    const slow = new pg.Client({ connectionString: url })
    await slow.connect()
    try {
      await slow.query('BEGIN')
      const early = (await slow.query<{ id: string }>(insert, row('p_early'))).rows[0]?.id
      const late = (await store.db.query<{ id: string }>(insert, row('p_late'))).rows[0]?.id
      expect(Number(early)).toBeLessThan(Number(late))

      expect(await dispatcher.consumeOutbox()).toBe(1)
      await slow.query('COMMIT')
      expect(await dispatcher.consumeOutbox()).toBe(1)
      expect(await dispatcher.consumeOutbox()).toBe(0)
    } finally {
      await slow.end()
    }
    const jobs = await store.db.query<{ profile_id: string; idempotency_key: string }>(
      `SELECT profile_id, idempotency_key FROM delivery_jobs ORDER BY profile_id`,
    )
    expect(jobs.rows.map((j) => j.profile_id)).toEqual(['p_early', 'p_late'])
  })

  it('many writers committing in random order and two dispatchers: every row once', async () => {
    const dispatchers = [0, 1].map(() =>
      createDispatcher({ db: store.db, secretKey: new Uint8Array(32) }),
    )
    const writers = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const c = new pg.Client({ connectionString: url })
        await c.connect()
        return c
      }),
    )
    let stop = false
    const consumed: number[] = [0, 0]
    const loops = dispatchers.map(async (d, i) => {
      while (!stop) consumed[i] = (consumed[i] ?? 0) + (await d.consumeOutbox())
    })
    try {
      await Promise.all(
        writers.map(async (c, w) => {
          for (let t = 0; t < 10; t++) {
            await c.query('BEGIN')
            for (let r = 0; r < 5; r++) await c.query(insert, row(`p_${w}_${t}_${r}`))
            await new Promise((res) => setTimeout(res, Math.random() * 15))
            await c.query('COMMIT')
          }
        }),
      )
      const deadline = Date.now() + 10_000
      for (;;) {
        const pending = await store.db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM outbox WHERE dispatched_at IS NULL',
        )
        if (pending.rows[0]?.n === 0 || Date.now() > deadline) break
        await new Promise((res) => setTimeout(res, 20))
      }
    } finally {
      stop = true
      await Promise.all(loops)
      for (const c of writers) await c.end()
    }
    const jobs = await store.db.query<{ n: number; distinct: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT profile_id)::int AS distinct FROM delivery_jobs
       WHERE profile_id LIKE 'p\\_%\\_%\\_%'`,
    )
    expect(jobs.rows[0]).toEqual({ n: 300, distinct: 300 })
    expect((consumed[0] ?? 0) + (consumed[1] ?? 0)).toBe(300)
  })
})
