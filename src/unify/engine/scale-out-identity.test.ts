/**
 * Cross-partition merges under contention: two processors (NATS partitions leased in Postgres)
 * apply one person's anonymous devices (partition of each anonymousId) and their identified
 * events (partition of the userId) at the same time. The identity stage's ordered row locks and
 * whole-batch retries must leave exactly one profile per person holding exactly their
 * identifiers, whatever interleaving happened.
 */
import { randomBytes } from 'node:crypto'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { createTestDatabase } from '../../testing/databases.js'
import { basic } from '../../testing/test-server.js'
import { startKindred, type Kindred } from '../../app/runtime.js'

const databaseUrl = process.env.KINDRED_TEST_DATABASE_URL
const natsUrl = process.env.KINDRED_TEST_NATS_URL
const token = 'scale-out-identity-token-0123456789'
const people = 150
const devices = 3

describe('identity merges across partitions with two processors (Postgres + NATS)', () => {
  const suffix = randomBytes(4).toString('hex')
  const stream = `KINDRED_IDT_${suffix}`
  let db: { url: string; drop(): Promise<void> }
  const nodes: Kindred[] = []
  const failures: string[] = []

  beforeAll(async () => {
    if (!databaseUrl || !natsUrl) {
      throw new Error(
        'KINDRED_TEST_DATABASE_URL and KINDRED_TEST_NATS_URL must be set (.ci/run sets both)',
      )
    }
    db = await createTestDatabase(databaseUrl)
    const eventLogUrl = `${natsUrl}?stream=${stream}&subjects=kindred.idt.${suffix}&partitions=8&rebalanceMs=100`
    const logger = pino({ level: 'warn' }, { write: (line: string) => void failures.push(line) })
    const common = {
      databaseUrl: db.url,
      eventLogUrl,
      adminToken: token,
      logger,
      secretKey: randomBytes(32).toString('hex'),
    }
    nodes.push(await startKindred({ ...common, role: 'ingest', port: 0, host: '127.0.0.1' }))
    nodes.push(await startKindred({ ...common, role: 'processor' }))
    nodes.push(await startKindred({ ...common, role: 'processor' }))
  })

  it('refuses to start a NATS node without a shared KINDRED_SECRET_KEY', async () => {
    await expect(
      startKindred({
        databaseUrl: db.url,
        eventLogUrl: `${natsUrl}?stream=${stream}&subjects=kindred.idt.${suffix}&partitions=8`,
        adminToken: token,
        logger: pino({ level: 'silent' }),
        role: 'processor',
      }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: /KINDRED_SECRET_KEY/ })
  })

  afterAll(async () => {
    for (const n of nodes.reverse()) await n.close()
    await db?.drop()
    if (natsUrl) {
      const nc = await connect({ servers: natsUrl })
      await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined)
      await nc.close()
    }
  })

  it('ends with one profile per person holding exactly their identifiers', async () => {
    const [ingest, p1, p2] = nodes as [Kindred, Kindred, Kindred]
    const until = async (check: () => Promise<boolean>, ms = 60_000) => {
      const end = Date.now() + ms
      while (!(await check()) && Date.now() < end) await new Promise((r) => setTimeout(r, 100))
      return check()
    }
    expect(
      await until(async () => {
        const a = p1.eventLog.partitions?.() ?? []
        const b = p2.eventLog.partitions?.() ?? []
        return a.length === 4 && b.length === 4
      }),
    ).toBe(true)

    const res = await fetch(`${ingest.url}/api/v1/sources`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'web',
        settings: { rateLimit: { eventsPerSecond: 1_000_000, burst: 1_000_000 } },
      }),
    })
    const { writeKey } = (await res.json()) as { writeKey: string }

    // Round r: every person's device r browses anonymously and logs in, all in one batch, so
    // both processors keep merging the same people into each other's new profiles.
    let sent = 0
    for (let d = 0; d < devices; d++) {
      const batch: Record<string, unknown>[] = []
      for (let i = 0; i < people; i++) {
        const anonymousId = `a-${suffix}-${i}-${d}`
        batch.push({ type: 'page', anonymousId, name: 'Home', messageId: `${anonymousId}-p` })
        batch.push({
          type: 'identify',
          anonymousId,
          userId: `u-${suffix}-${i}`,
          traits: { email: `p${i}-${suffix}@example.com` },
          messageId: `${anonymousId}-i`,
        })
      }
      const sent1 = await fetch(`${ingest.url}/v1/batch`, {
        method: 'POST',
        headers: { authorization: basic(writeKey), 'content-type': 'application/json' },
        body: JSON.stringify({ batch }),
      })
      expect(sent1.status).toBe(200)
      sent += batch.length
    }

    const count = async () =>
      Number(
        (await ingest.store.db.query<{ n: string }>('SELECT count(*) AS n FROM events')).rows[0]
          ?.n ?? 0,
      )
    expect(await until(async () => (await count()) >= sent)).toBe(true)
    expect(await count()).toBe(sent)

    const graph = await ingest.store.db.query<{ profile_id: string; values: string[] }>(
      `SELECT profile_id, array_agg(value) AS values FROM identities
       WHERE workspace_id = 'default' AND value LIKE $1 GROUP BY profile_id`,
      [`%${suffix}%`],
    )
    const byPerson = graph.rows.map((r) => ({ values: [...r.values].sort() }))
    expect(byPerson).toHaveLength(people)
    for (const { values } of byPerson) {
      const i = /^u-[0-9a-f]+-(\d+)$/.exec(values.find((v) => v.startsWith('u-')) ?? '')?.[1]
      expect(i).toBeDefined()
      const expected = [
        ...Array.from({ length: devices }, (_, d) => `a-${suffix}-${i}-${d}`),
        `p${i}-${suffix}@example.com`,
        `u-${suffix}-${i}`,
      ].sort()
      expect(values).toEqual(expected)
    }
    // Both processors took part (the test is about their concurrency).
    const applied = await ingest.store.db.query<{ partition: number; position: string }>(
      `SELECT partition, position FROM stream_cursors WHERE consumer = 'processor' AND position > 0`,
    )
    const owners = [p1, p2].map((p) => p.eventLog.partitions?.() ?? [])
    expect(owners.every((o) => applied.rows.some((r) => o.includes(r.partition)))).toBe(true)
    const retried = failures
      .filter((l) => l.includes('processor batch failed'))
      .map((l) => (JSON.parse(l) as { err?: { code?: string } }).err?.code ?? 'other')
    process.stdout.write(
      `cross-partition merges: ${retried.length} batches rolled back and retried (${retried.join(', ')})\n`,
    )
    // Only races with the other processor may fail a batch, never anything else.
    expect(retried.every((c) => ['40P01', '40001', '23505'].includes(c))).toBe(true)
  })
})
