/**
 * Two Kindred nodes on one Postgres server: a suppression added through node A's API is enforced
 * by node B's ingest within the cache refresh (REFRESH_MS), and a deletion filed on A finishes
 * while B keeps ingesting. Needs KINDRED_TEST_DATABASE_URL (skipped as a whole without a server).
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../../../testing/test-server.js'
import { createTestDatabase } from '../../../testing/databases.js'
import { until } from '../../../testing/test-receiver.js'
import { createPrivacyModule } from '../../privacy-module.js'
import { createGovernDeliveries } from '../../../activate/index.js'
import { REFRESH_MS } from './suppression-cache.js'

const baseUrl = process.env.KINDRED_TEST_DATABASE_URL

describe.runIf(baseUrl)('privacy across nodes (postgres)', () => {
  let database: { url: string; drop(): Promise<void> }
  let a: TestKindred
  let b: TestKindred
  let writeKey: string

  beforeAll(async () => {
    database = await createTestDatabase(baseUrl as string)
    // Suppression hashes are keyed by the instance secret: nodes of one deployment share it.
    const secretKey = randomBytes(32).toString('hex')
    a = await startTestKindred({
      databaseUrl: database.url,
      secretKey,
      modules: [createPrivacyModule({ pollIntervalMs: 50, deliveries: createGovernDeliveries() })],
    })
    // B only ingests: its suppression cache is its own.
    b = await startTestKindred({
      databaseUrl: database.url,
      secretKey,
      role: 'ingest',
      modules: [createPrivacyModule({ pollIntervalMs: 50, deliveries: createGovernDeliveries() })],
    })
    writeKey = (await a.createSource()).writeKey
  }, 60_000)

  afterAll(async () => {
    await b?.close()
    await a?.close()
    await database?.drop()
  })

  async function hasProfile(userId: string): Promise<boolean> {
    await a.kindred.processor?.drain()
    const r = await a.kindred.store.db.query(
      `SELECT 1 FROM identities WHERE type = 'user_id' AND value = $1`,
      [userId],
    )
    return r.rows.length > 0
  }

  it('node B enforces a suppression added on node A within the refresh interval', async () => {
    // B has loaded its (empty) list already.
    expect((await b.track(writeKey, '/v1/track', { userId: 'warm-up', event: 'x' })).status).toBe(
      200,
    )
    const res = await a.admin('/api/v1/privacy/suppressions', {
      body: { identifier: { type: 'email', value: 'henry@example.com' } },
    })
    expect(res.status).toBe(201)
    let n = 0
    // B's cache refreshes within REFRESH_MS: the wait is bounded by a few of them.
    await until(
      async () => {
        const userId = `henry-${n++}`
        const r = await b.track(writeKey, '/v1/identify', {
          userId,
          traits: { email: 'Henry@Example.com' },
        })
        expect(r.status).toBe(200)
        return !(await hasProfile(userId))
      },
      REFRESH_MS * 3,
      100,
    )
    const metrics = await (await fetch(`${b.url}/metrics`)).text()
    expect(Number(/^kindred_events_suppressed_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0)
  })

  it('a deletion filed on A completes while B ingests, and the person stays gone', async () => {
    expect(
      (
        await b.track(writeKey, '/v1/identify', {
          userId: 'iris-1',
          traits: { email: 'iris@example.com' },
        })
      ).status,
    ).toBe(200)
    expect(await hasProfile('iris-1')).toBe(true)
    const created = await a.admin('/api/v1/privacy/requests', {
      body: { type: 'deletion', identifier: { type: 'user_id', value: 'iris-1' } },
    })
    const { id } = (await created.json()) as { id: string }
    // Keep sending for the person through B while the deletion runs.
    const done = await until(
      async () => {
        await b.track(writeKey, '/v1/track', { userId: 'iris-1', event: 'Still Here' })
        const r = (await (await a.admin(`/api/v1/privacy/requests/${id}`)).json()) as {
          status: string
        }
        return r.status === 'completed' ? r : undefined
      },
      20_000,
      200,
    )
    expect(done.status).toBe('completed')
    await b.track(writeKey, '/v1/track', { userId: 'iris-1', event: 'After' })
    expect(await hasProfile('iris-1')).toBe(false)
    const left = await a.kindred.store.db.query(
      `SELECT count(*)::int AS n FROM events WHERE user_id = 'iris-1'`,
    )
    expect(left.rows[0]).toEqual({ n: 0 })
  })

  it('a node started with another secret key refuses the workspace rather than let people through', async () => {
    // Misconfigured: KINDRED_SECRET_KEY not shared. Its key cannot check the keyed suppressions.
    const c = await startTestKindred({
      databaseUrl: database.url,
      secretKey: randomBytes(32).toString('hex'),
      role: 'ingest',
      modules: [createPrivacyModule({ pollIntervalMs: 50, deliveries: createGovernDeliveries() })],
    })
    try {
      const res = await c.track(writeKey, '/v1/track', { userId: 'jo-1', event: 'x' })
      expect(res.status).toBe(503)
      expect(res.headers.get('retry-after')).toBe('5')
      const body = (await res.json()) as { error: { code: string; message: string } }
      expect(body.error.code).toBe('UNAVAILABLE')
      expect(body.error.message).toMatch(/KINDRED_SECRET_KEY/)
      // The correctly configured node keeps accepting the same request.
      expect((await b.track(writeKey, '/v1/track', { userId: 'jo-1', event: 'x' })).status).toBe(
        200,
      )
    } finally {
      await c.close()
    }
  })
})
