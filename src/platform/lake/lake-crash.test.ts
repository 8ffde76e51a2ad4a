/**
 * Crash safety: a writer that dies between a table's data files and its commit, or between a
 * commit and finishing the batch in the store, is replaced by a new one (a restart: new DuckDB,
 * the snapshot read again from disk) that leaves every event in the lake exactly once, and the
 * files the dead writer left behind deleted. The dead writer is not stopped: like a killed
 * process it keeps its lease, which the new one takes once it runs out (on a Postgres server;
 * an embedded store's data dir lock already makes the new process the only one). On PGlite
 * always, on a Postgres server when KINDRED_TEST_DATABASE_URL is set.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pino from 'pino'
import { DuckDBInstance } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, testStores, type TestKindred } from '../../testing/test-server.js'
import { setCapture } from './lake-store.js'
import { createLakeWriter, type LakeFaults, type LakeWriter } from './lake-writer.js'
import { openDeltaTable } from './delta-log.js'
import { fromActionPath } from './delta-protocol.js'
import { openDuck } from './parquet-files.js'

const logger = pino({ level: 'silent' })

function dataFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    if (name.startsWith('_')) continue
    const p = path.join(dir, name)
    if (statSync(p).isDirectory()) out.push(...dataFiles(p).map((f) => `${name}/${f}`))
    else if (name.endsWith('.parquet')) out.push(name)
  }
  return out
}

class Crash extends Error {}

describe.each(testStores())('lake crash safety (%s)', (store) => {
  let k: TestKindred
  let writeKey: string
  let root: string
  let sent = 0

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'kindred-lake-crash-'))
    // No lake module: each test drives its own writers on a new dir, the store only captures.
    k = await startTestKindred({ store, modules: [] })
    await setCapture(k.kindred.store.db, true)
    ;({ writeKey } = await k.createSource('crash', {
      rateLimit: { eventsPerSecond: 1e6, burst: 1e6 },
    }))
  }, 60_000)

  afterAll(async () => {
    for (const w of dead) await w.stop()
    await k?.close()
    rmSync(root, { recursive: true, force: true })
  })

  async function sendEvents(n: number): Promise<void> {
    const batch = Array.from({ length: n }, (_, i) => ({
      type: 'track',
      userId: `crash-user-${(sent + i) % 5}`,
      event: 'Crash Tested',
      messageId: `crash-${sent + i}`,
      properties: { i: sent + i },
    }))
    sent += n
    expect((await k.track(writeKey, '/v1/batch', { batch })).status).toBe(200)
    await k.kindred.processor?.drain()
  }

  /** Live files of a table as the log says, and the messageIds they hold. */
  async function lakeEvents(dir: string): Promise<{ live: string[]; messageIds: string[] }> {
    const duck = await openDuck()
    try {
      const t = await openDeltaTable({ dir: path.join(dir, 'events'), duck })
      const live = [...t.snapshot().files.keys()].map(fromActionPath)
      if (live.length === 0) return { live, messageIds: [] }
      const instance = await DuckDBInstance.create(':memory:')
      const c = await instance.connect()
      const list = live.map((f) => `'${path.join(dir, 'events', f)}'`).join(', ')
      const r = await c.runAndReadAll(`SELECT message_id FROM read_parquet([${list}])`)
      const messageIds = r.getRowObjectsJS().map((x) => String(x.message_id))
      c.closeSync()
      instance.closeSync()
      return { live, messageIds }
    } finally {
      duck.close()
    }
  }

  async function storedMessageIds(): Promise<string[]> {
    const r = await k.kindred.store.db.query<{ message_id: string }>(
      'SELECT message_id FROM events ORDER BY message_id',
    )
    return r.rows.map((x) => x.message_id)
  }

  /** A lake in `dir` whose tables exist (so a later crash leaves a table without its commit). */
  async function createLake(dir: string): Promise<void> {
    const w = writer(dir)
    await w.flush()
    await w.stop()
  }
  const dead: LakeWriter[] = []

  // The writers' clock runs ahead of the wall clock only when the test says a lease ran out, so
  // a slow machine (CI under load) never lets a lease lapse between two steps by itself.
  const leaseMs = 60_000
  let skew = 0
  const clock = () => Date.now() + skew
  const writer = (dir: string, faults?: LakeFaults) =>
    createLakeWriter({
      db: k.kindred.store.db,
      dir,
      logger,
      leaseMs,
      clock,
      // On a server the default grace (10 min) protects a slow writer's files; here the
      // restart comes at once and the test wants to see the orphans go.
      orphanGraceMs: 0,
      ...(faults ? { faults } : {}),
    })
  /** The dead writer's lease runs out before its successor starts. */
  const afterLease = () => {
    skew += leaseMs + 1_000
  }

  it('a crash between the data files and the commit: restarted, nothing twice, nothing missing', async () => {
    const dir = path.join(root, 'before-commit')
    await createLake(dir)
    await sendEvents(40)
    const dying = writer(dir, {
      beforeCommit: (table) => {
        if (table === 'events') throw new Crash('killed before the commit')
      },
    })
    dead.push(dying)
    await expect(dying.runOnce({ force: true })).rejects.toBeInstanceOf(Crash)
    // The dead writer's files are on disk, named by no commit: readers do not see them.
    const orphaned = dataFiles(path.join(dir, 'events'))
    expect(orphaned.length).toBeGreaterThan(0)
    expect((await lakeEvents(dir)).live).toEqual([])
    expect(
      (await k.kindred.store.db.query('SELECT 1 FROM lake_changes WHERE batch IS NOT NULL')).rows
        .length,
    ).toBeGreaterThan(0)

    await sendEvents(10)
    if (store === 'postgres') {
      // While the dead writer's lease runs, a second writer stands by and writes nothing.
      const early = writer(dir)
      dead.push(early)
      expect(await early.runOnce({ force: true })).toBe(false)
      expect(early.health().standby).toBe(true)
    }
    afterLease()
    const restarted = writer(dir)
    await restarted.flush()
    await restarted.stop()
    const { live, messageIds } = await lakeEvents(dir)
    expect(messageIds.sort()).toEqual(await storedMessageIds())
    expect(new Set(messageIds).size).toBe(messageIds.length)
    // Only what the log names is left on disk: the orphans went at the restart.
    expect(dataFiles(path.join(dir, 'events')).sort()).toEqual(live.sort())
    expect((await k.kindred.store.db.query('SELECT 1 FROM lake_changes')).rows).toEqual([])
  })

  it('a crash after one table committed: that table is not written again, the others are', async () => {
    const dir = path.join(root, 'after-commit')
    await createLake(dir)
    const before = await storedMessageIds()
    await sendEvents(25)
    const dying = writer(dir, {
      afterCommit: (table) => {
        if (table === 'events') throw new Crash('killed after the events commit')
      },
    })
    dead.push(dying)
    await expect(dying.runOnce({ force: true })).rejects.toBeInstanceOf(Crash)
    afterLease()
    const restarted = writer(dir)
    await restarted.flush()
    await restarted.stop()
    const { messageIds } = await lakeEvents(dir)
    expect(messageIds.sort()).toEqual((await storedMessageIds()).filter((m) => !before.includes(m)))
    expect(new Set(messageIds).size).toBe(messageIds.length)

    // The profiles table got the batch the events table already had.
    const duck = await openDuck()
    try {
      const events = await openDeltaTable({ dir: path.join(dir, 'events'), duck })
      const profiles = await openDeltaTable({ dir: path.join(dir, 'profiles'), duck })
      const txn = (t: typeof events) => t.snapshot().txns.get('kindred-lake')?.version
      expect(txn(profiles)).toBeGreaterThanOrEqual(txn(events) ?? Infinity)
      expect(profiles.snapshot().files.size).toBeGreaterThan(0)
    } finally {
      duck.close()
    }
    expect((await k.kindred.store.db.query('SELECT 1 FROM lake_changes')).rows).toEqual([])
  })
})
