/**
 * One suite, every event-log adapter (like `store/store.contract.test.ts` for stores): what ingest
 * and the processor rely on, whichever log is configured. The segment files and the `event_log`
 * table on PGlite always run; the table on a Postgres server with KINDRED_TEST_DATABASE_URL, and
 * NATS JetStream with KINDRED_TEST_NATS_URL as well (its cursors and leases live in Postgres).
 * Readers follow the processor's protocol: read after the cursor, release, read on; a log whose
 * consumer fills asynchronously (NATS) is polled until the events are there.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { createTestDatabase, storeTargets } from '../../testing/databases.js'
import type { KindredEvent } from '../../protocol/event-schema.js'
import { openStore, type Store } from '../store/open-store.js'
import type { Queryable } from '../store/db.js'
import type { EventLog, LogEntry } from './event-log.js'
import { openFileEventLog } from './file-event-log.js'
import { createPostgresEventLog } from './postgres-event-log.js'
import { openNatsEventLog, parseNatsEventLogUrl } from './nats-event-log.js'

interface Target {
  name: string
  setup(): Promise<void>
  /** A log instance over the same storage each time (a restart). */
  open(options?: { maxQueuedEvents?: number }): Promise<EventLog>
  tx(): Queryable
  teardown(): Promise<void>
}

function fileTarget(): Target {
  let dir = ''
  return {
    name: 'segment files',
    async setup() {
      dir = await mkdtemp(join(tmpdir(), 'kindred-log-contract-'))
    },
    open: (o) => openFileEventLog(dir, { ...o }),
    tx: () => ({}) as Queryable,
    teardown: () => rm(dir, { recursive: true, force: true }),
  }
}

function tableTargets(): Target[] {
  return storeTargets().map((t) => {
    let store: Store
    return {
      name: `event_log table on ${t.name}`,
      async setup() {
        store = await t.open()
      },
      open: async (o) => createPostgresEventLog(store.db, { ...o }),
      tx: () => store.db,
      teardown: () => store.close(),
    }
  })
}

function natsTargets(): Target[] {
  const natsUrl = process.env.KINDRED_TEST_NATS_URL
  const databaseUrl = process.env.KINDRED_TEST_DATABASE_URL
  if (!natsUrl || !databaseUrl) return []
  const suffix = randomBytes(4).toString('hex')
  const stream = `KINDRED_CONTRACT_${suffix}`
  let db: { url: string; drop(): Promise<void> }
  let store: Store
  return [
    {
      name: 'NATS JetStream',
      async setup() {
        db = await createTestDatabase(databaseUrl)
        store = await openStore({ databaseUrl: db.url })
      },
      open: (o) =>
        openNatsEventLog({
          ...parseNatsEventLogUrl(natsUrl),
          stream,
          subjectPrefix: `kindred.contract.${suffix}`,
          partitions: 4,
          rebalanceMs: 100,
          databaseUrl: db.url,
          consume: true,
          ...o,
        }),
      tx: () => store.db,
      async teardown() {
        await store.close()
        await db.drop()
        const nc = await connect({ servers: natsUrl })
        await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined)
        await nc.close()
      },
    },
  ]
}

const ev = (id: string, userId = 'u-1'): KindredEvent =>
  ({
    messageId: id,
    type: 'track',
    event: 'Viewed',
    userId,
    properties: { id },
    traits: {},
    context: {},
    integrations: {},
    timestamp: '2026-01-01T00:00:00.000Z',
    originalTimestamp: '2026-01-01T00:00:00.000Z',
    receivedAt: '2026-01-01T00:00:01.000Z',
  }) as KindredEvent

const entry = (events: KindredEvent[]): LogEntry => ({
  workspaceId: 'ws_contract',
  sourceId: 'src_contract',
  receivedAt: '2026-01-01T00:00:01.000Z',
  events,
})

describe.each([fileTarget(), ...tableTargets(), ...natsTargets()])('event log: $name', (target) => {
  let log: EventLog
  /** Each partition's cursor, as the processor keeps it. */
  const cursors = new Map<number, number>()

  beforeAll(async () => {
    await target.setup()
    log = await target.open()
  })
  afterAll(async () => {
    await log.close()
    await target.teardown()
  })

  /** Reads on from the cursors until `count` more events came (or time runs out). */
  async function readOn(from: EventLog, count: number, maxEvents = 1_000, ms = 10_000) {
    const got: { seq: number; partition: number; ids: string[] }[] = []
    const deadline = Date.now() + ms
    let seen = 0
    while (seen < count && Date.now() < deadline) {
      let progressed = false
      for (const p of from.partitions?.() ?? [0]) {
        const after = cursors.get(p) ?? 0
        const records = await from.read(target.tx(), after, maxEvents, p)
        for (const r of records) {
          expect(r.seq).toBeGreaterThan(cursors.get(p) ?? 0)
          cursors.set(p, r.seq)
          got.push({ seq: r.seq, partition: p, ids: r.events.map((e) => e.messageId) })
          seen += r.events.length
          progressed = true
        }
        if (records.length > 0) await from.release?.(cursors.get(p) ?? 0, p)
      }
      if (!progressed) await new Promise((r) => setTimeout(r, 25))
    }
    return got
  }

  it('reads what was appended, in order, strictly after the cursor', async () => {
    await log.append(entry([ev('a1'), ev('a2')]))
    await log.append(entry([ev('a3')]))
    const got = await readOn(log, 3)
    expect(got.flatMap((r) => r.ids)).toEqual(['a1', 'a2', 'a3'])
    // Nothing is read twice past the cursor.
    expect(await readOn(log, 1, 1_000, 300)).toEqual([])
    await log.append(entry([ev('a4')]))
    expect((await readOn(log, 1)).flatMap((r) => r.ids)).toEqual(['a4'])
  })

  it('tells listeners once an append is durable', async () => {
    let told = 0
    const off = log.onAppended(() => told++)
    await log.append(entry([ev('b1')]))
    expect(told).toBeGreaterThanOrEqual(1)
    off()
    const before = told
    await log.append(entry([ev('b2')]))
    // A log may also wake readers when its consumer receives (NATS): only unsubscribing is shared.
    expect(told).toBe(before)
    await readOn(log, 2)
  })

  it('bounds a read by maxEvents, always returning at least one record', async () => {
    await log.append(entry([ev('c1'), ev('c2'), ev('c3')]))
    for (const id of ['c4', 'c5', 'c6']) await log.append(entry([ev(id)]))
    const first = await readOn(log, 1, 1)
    expect(first[0]?.ids).toEqual(['c1', 'c2', 'c3'])
    const rest = await readOn(log, 3, 2)
    expect(rest.flatMap((r) => r.ids)).toEqual(['c4', 'c5', 'c6'])
  })

  it('keeps no dedupe of its own: an event appended twice is read twice (the processor dedups)', async () => {
    await log.append(entry([ev('d1')]))
    await log.append(entry([ev('d1')]))
    expect((await readOn(log, 2)).flatMap((r) => r.ids)).toEqual(['d1', 'd1'])
  })

  it('splits nothing it should keep together: one person’s events keep their order', async () => {
    const events = Array.from({ length: 20 }, (_, i) => ev(`e${i}`, `person-${i % 3}`))
    await log.append(entry(events))
    const got = (await readOn(log, 20)).flatMap((r) => r.ids)
    expect([...got].sort()).toEqual(events.map((e) => e.messageId).sort())
    for (const person of ['person-0', 'person-1', 'person-2']) {
      const mine = events.filter((e) => e.userId === person).map((e) => e.messageId)
      expect(got.filter((id) => mine.includes(id))).toEqual(mine)
    }
  })

  it('refuses with OVERLOADED past its queue limit', async () => {
    const small = await target.open({ maxQueuedEvents: 1 })
    try {
      await expect(small.append(entry([ev('f1'), ev('f2')]))).rejects.toMatchObject({
        code: 'OVERLOADED',
      })
    } finally {
      await small.close()
    }
  })

  it('is durable: after close, a new instance reads every acknowledged append', async () => {
    const pending = ['g1', 'g2', 'g3'].map((id) => log.append(entry([ev(id)])))
    await log.close()
    await Promise.all(pending)
    await expect(log.append(entry([ev('g4')]))).rejects.toMatchObject({ code: 'UNAVAILABLE' })
    log = await target.open()
    expect((await readOn(log, 3)).flatMap((r) => r.ids)).toEqual(['g1', 'g2', 'g3'])
  })
})
