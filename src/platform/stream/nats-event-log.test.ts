import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { createTestDatabase } from '../../testing/databases.js'
import { openStore, type Store } from '../store/open-store.js'
import type { KindredEvent } from '../../protocol/event-schema.js'
import {
  hashKey,
  openNatsEventLog,
  parseNatsEventLogUrl,
  partitionOf,
  type NatsEventLog,
} from './nats-event-log.js'

describe('KINDRED_EVENT_LOG parsing and partitioning', () => {
  it('reads servers and options, with defaults', () => {
    expect(parseNatsEventLogUrl('nats://a:4222')).toMatchObject({
      servers: ['nats://a:4222'],
      stream: 'KINDRED_EVENTS',
      subjectPrefix: 'kindred.events',
      partitions: 8,
      replicas: 1,
    })
    expect(
      parseNatsEventLogUrl('nats://a:4222,nats://b:4222?stream=EV&partitions=16&replicas=3'),
    ).toMatchObject({ servers: ['nats://a:4222', 'nats://b:4222'], stream: 'EV', partitions: 16 })
  })

  it('refuses what it cannot use, saying what the setting should look like', () => {
    for (const bad of ['http://a:4222', 'nats://a?partitions=0', 'nats://a?stream=has space']) {
      expect(() => parseNatsEventLogUrl(bad)).toThrow(/KINDRED_EVENT_LOG must look like/)
    }
  })

  it('routes by userId, else anonymousId, stably', () => {
    // FNV-1a test vector: the partition of a key must never change between versions.
    expect(hashKey('a')).toBe(0xe40c292c)
    const anon = { messageId: 'm1', anonymousId: 'anon-1' }
    const known = { messageId: 'm2', anonymousId: 'anon-2', userId: 'u-1' }
    expect(partitionOf('ws', known, 8)).toBe(
      partitionOf('ws', { messageId: 'm3', userId: 'u-1' }, 8),
    )
    expect(partitionOf('ws', anon, 8)).toBe(hashKey('ws\u0000anon-1') % 8)
    const spread = new Set(
      Array.from({ length: 200 }, (_, i) =>
        partitionOf('ws', { messageId: `${i}`, userId: `u${i}` }, 8),
      ),
    )
    expect(spread.size).toBe(8)
  })
})

const databaseUrl = process.env.KINDRED_TEST_DATABASE_URL
const natsUrl = process.env.KINDRED_TEST_NATS_URL

describe('NATS JetStream event log (real NATS and Postgres)', () => {
  const suffix = randomBytes(4).toString('hex')
  const stream = `KINDRED_UNIT_${suffix}`
  const base = { stream, subjectPrefix: `kindred.unit.${suffix}`, partitions: 8, rebalanceMs: 100 }
  let store: Store
  let db: { url: string; drop(): Promise<void> }
  const logs: NatsEventLog[] = []

  beforeAll(async () => {
    if (!databaseUrl || !natsUrl) {
      throw new Error(
        'KINDRED_TEST_DATABASE_URL and KINDRED_TEST_NATS_URL must be set (.ci/run sets both)',
      )
    }
    db = await createTestDatabase(databaseUrl)
    store = await openStore({ databaseUrl: db.url })
  })

  afterAll(async () => {
    for (const l of logs) await l.close()
    await store?.close()
    await db?.drop()
    if (natsUrl) {
      const nc = await connect({ servers: natsUrl })
      await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined)
      await nc.close()
    }
  })

  async function open(consume: boolean, extra = {}): Promise<NatsEventLog> {
    const log = await openNatsEventLog({
      ...parseNatsEventLogUrl(natsUrl as string),
      ...base,
      ...extra,
      databaseUrl: db.url,
      consume,
    })
    logs.push(log)
    return log
  }

  const event = (i: number): KindredEvent =>
    ({
      type: 'track',
      event: 'Viewed',
      messageId: `m-${i}`,
      userId: `u-${i % 20}`,
      timestamp: '2026-01-01T00:00:00.000Z',
      receivedAt: '2026-01-01T00:00:00.000Z',
      properties: {},
      context: {},
    }) as unknown as KindredEvent

  const until = async (check: () => boolean, ms = 10_000) => {
    const end = Date.now() + ms
    while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 25))
    return check()
  }

  it('publishes split by partition and reads each partition in order after its cursor', async () => {
    const writer = await open(false)
    expect(writer.partitions()).toEqual([])
    const events = Array.from({ length: 100 }, (_, i) => event(i))
    await writer.append({
      workspaceId: 'ws',
      sourceId: 'src',
      receivedAt: '2026-01-01T00:00:00Z',
      events,
    })

    const reader = await open(true)
    expect(reader.partitions()).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    const seen: string[] = []
    const noTx = store.db
    for (const p of reader.partitions()) {
      let after = 0
      for (;;) {
        let records = await reader.read(noTx, after, 1_000, p)
        if (records.length === 0) {
          // The ordered consumer fills the buffer asynchronously; give it a moment once.
          await new Promise((r) => setTimeout(r, 300))
          records = await reader.read(noTx, after, 1_000, p)
          if (records.length === 0) break
        }
        for (const r of records) {
          for (const e of r.events) {
            expect(partitionOf('ws', e, 8)).toBe(p)
            seen.push(e.messageId)
          }
        }
        after = records.at(-1)?.seq ?? after
        await reader.release(after, p)
      }
    }
    expect(seen.sort()).toEqual(events.map((e) => e.messageId).sort())
    // Per person, the original order survives the split.
    const u3 = seen.filter((id) => Number(id.slice(2)) % 20 === 3)
    expect(u3).toHaveLength(5)
    await reader.close()
    logs.splice(logs.indexOf(reader), 1)
  })

  it('shares partitions among live processors and takes over a closed one at once', async () => {
    const a = await open(true)
    const b = await open(true)
    expect(await until(() => a.partitions().length === 4 && b.partitions().length === 4)).toBe(true)
    expect([...a.partitions(), ...b.partitions()].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    await b.close()
    logs.splice(logs.indexOf(b), 1)
    expect(await until(() => a.partitions().length === 8)).toBe(true)
  })

  it('refuses a partition count other than the one the stream was created with', async () => {
    await expect(open(false, { partitions: 4 })).rejects.toThrow(/partition count is fixed/)
  })
})
