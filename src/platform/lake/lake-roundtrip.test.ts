/**
 * The lake round-trips: events sent to a real Kindred (embedded store in a data dir) are read
 * back from the lake the way any Delta reader would, by this test's own log replay (newest
 * checkpoint, then the JSON commits after it; adds minus removes), with DuckDB's `read_parquet`
 * over the live files, and they are exactly the events the store and the API hold. A GDPR
 * deletion leaves the person in no file on disk, live or not, and in no log entry.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../../testing/test-server.js'
import { createPrivacyModule } from '../../govern/privacy-module.js'
import { createGovernDeliveries } from '../../activate/index.js'
import { createSegmentsModule } from '../../understand/segments-module.js'
import { createLakeModule } from './lake-module.js'
import type { LakeWriter } from './lake-writer.js'
import { liveFiles, readParquetSql } from './lake-reader.js'
import { openDuck } from './parquet-files.js'

const PERSON = { userId: 'gdpr-lake-1', anon: 'anon-lake-77', email: 'lake.person@example.com' }
const OTHER = { userId: 'other-lake-2', email: 'someone@example.org' }

// --- A minimal Delta reader, written from PROTOCOL.md for this test (not Kindred's) -----------

interface LiveFile {
  path: string
  partitionValues: Record<string, string>
}

const quote = (s: string) => `'${s.replaceAll("'", "''")}'`

async function rows(duck: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  return (await duck.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[]
}

/** Live files of a table: the checkpoint `_last_checkpoint` names, then later JSON commits. */
async function replay(
  duck: DuckDBConnection,
  tableDir: string,
  fromCheckpoint = true,
): Promise<{ files: Map<string, LiveFile>; version: number; checkpoint: number | undefined }> {
  const log = path.join(tableDir, '_delta_log')
  const files = new Map<string, LiveFile>()
  let after = -1
  let checkpoint: number | undefined
  const last = path.join(log, '_last_checkpoint')
  if (fromCheckpoint && existsSync(last)) {
    checkpoint = (JSON.parse(readFileSync(last, 'utf8')) as { version: number }).version
    const file = path.join(log, `${String(checkpoint).padStart(20, '0')}.checkpoint.parquet`)
    for (const r of await rows(
      duck,
      `SELECT "add".path AS p, to_json("add".partitionValues)::VARCHAR AS v
       FROM read_parquet(${quote(file)}) WHERE "add" IS NOT NULL`,
    )) {
      files.set(String(r.p), {
        path: String(r.p),
        partitionValues: JSON.parse(String(r.v)) as Record<string, string>,
      })
    }
    after = checkpoint
  }
  const versions = readdirSync(log)
    .filter((n) => /^\d{20}\.json$/.test(n))
    .map((n) => Number(n.slice(0, 20)))
    .filter((v) => v > after)
    .sort((a, b) => a - b)
  let version = after
  for (const v of versions) {
    expect(v).toBe(version + 1)
    version = v
    const text = readFileSync(path.join(log, `${String(v).padStart(20, '0')}.json`), 'utf8')
    for (const line of text.split('\n').filter(Boolean)) {
      const action = JSON.parse(line) as {
        add?: LiveFile
        remove?: { path: string }
      }
      if (action.add) files.set(action.add.path, action.add)
      if (action.remove) files.delete(action.remove.path)
    }
  }
  return { files, version, checkpoint }
}

const onDisk = (tableDir: string, p: string) =>
  path.join(tableDir, ...p.split('/').map((s) => decodeURIComponent(s)))

/** Every data file under a table directory (outside `_delta_log`). */
function parquetOnDisk(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name)
    if (name === '_delta_log') continue
    if (statSync(p).isDirectory()) out.push(...parquetOnDisk(p))
    else if (name.endsWith('.parquet')) out.push(p)
  }
  return out
}

async function scan(
  duck: DuckDBConnection,
  tableDir: string,
  select: string,
  tail = '',
): Promise<Record<string, unknown>[]> {
  const { files } = await replay(duck, tableDir)
  if (files.size === 0) return []
  const list = [...files.values()].map((f) => quote(onDisk(tableDir, f.path))).join(', ')
  return rows(duck, `SELECT ${select} FROM read_parquet([${list}], union_by_name = true) ${tail}`)
}

describe('the lake round-trips (embedded store, real server)', () => {
  let k: TestKindred
  let dataDir: string
  let lake: string
  let writer!: LakeWriter
  let writeKey: string
  let instance: DuckDBInstance
  let duck: DuckDBConnection

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'kindred-lake-rt-'))
    lake = path.join(dataDir, 'lake')
    k = await startTestKindred({
      dataDir,
      modules: [
        createSegmentsModule({ schedulerIntervalMs: 3_600_000 }),
        createPrivacyModule({ pollIntervalMs: 50, deliveries: createGovernDeliveries() }),
        // Pages of 2 changes: every batch is read from the store in several pages.
        createLakeModule({
          writer: { pollMs: 50, loadPageSize: 2 },
          onWriter: (w) => (writer = w),
        }),
      ],
    })
    ;({ writeKey } = await k.createSource('lake', {
      rateLimit: { eventsPerSecond: 1e6, burst: 1e6 },
    }))
    const seg = await k.admin('/api/v1/segments', {
      body: {
        id: 'vip',
        name: 'VIP',
        definition: { kind: 'trait', trait: 'tier', condition: { op: 'eq', value: 'vip' } },
      },
    })
    expect(seg.status).toBe(201)
    instance = await DuckDBInstance.create(':memory:')
    duck = await instance.connect()
    await duck.run(`SET TimeZone = 'UTC'`)
  }, 120_000)

  afterAll(async () => {
    duck?.closeSync()
    instance?.closeSync()
    await k?.close()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  const send = async (body: unknown) =>
    expect((await k.track(writeKey, '/v1/batch', body)).status).toBe(200)
  const settle = async () => {
    await k.kindred.processor?.drain()
    await writer.flush()
  }

  it('holds exactly the events and profiles of the store, read as the protocol says', async () => {
    // An anonymous visitor who then signs in (a merge), buying twice: 0.1 + 0.2 must sum exactly.
    await send({
      batch: [
        {
          type: 'track',
          anonymousId: PERSON.anon,
          event: 'Product Viewed',
          properties: { price: 0.1 },
        },
        { type: 'identify', userId: PERSON.userId, traits: { email: PERSON.email, tier: 'vip' } },
        {
          type: 'track',
          userId: PERSON.userId,
          event: 'Order Completed',
          properties: { revenue: 0.1, currency: 'EUR' },
        },
        {
          type: 'track',
          userId: PERSON.userId,
          event: 'Order Completed',
          properties: { revenue: '0.2', currency: 'EUR', tiny: 1e-12 },
        },
        { type: 'identify', userId: OTHER.userId, traits: { email: OTHER.email } },
      ],
    })
    await settle()
    await send({ batch: [{ type: 'alias', userId: PERSON.userId, previousId: PERSON.anon }] })
    await settle()
    // Eleven more commits of the events table: a checkpoint at version 10, and one partition
    // gets enough small files to be compacted.
    for (let round = 0; round < 11; round++) {
      await send({
        batch: Array.from({ length: 5 }, (_, i) => ({
          type: 'track',
          userId: i % 2 === 0 ? OTHER.userId : `visitor-${round}-${i}`,
          event: 'Page Viewed',
          timestamp: '2024-05-01T12:00:00.000Z',
          properties: { round, i, value: round * 10 + i },
        })),
      })
      await settle()
    }

    const events = path.join(lake, 'events')
    const log = await replay(duck, events)
    expect(log.checkpoint).toBeGreaterThanOrEqual(10)
    // The checkpoint says what replaying every JSON commit says.
    const full = await replay(duck, events, false)
    expect([...log.files.keys()].sort()).toEqual([...full.files.keys()].sort())
    const first = readFileSync(path.join(events, '_delta_log', `${'0'.repeat(20)}.json`), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, Record<string, unknown>>)
    const protocol = first.find((a) => a.protocol)?.protocol
    const meta = first.find((a) => a.metaData)?.metaData
    expect(protocol).toEqual({ minReaderVersion: 1, minWriterVersion: 2 })
    expect(meta?.partitionColumns).toEqual(['workspace_id', 'event_date'])
    const schema = JSON.parse(String(meta?.schemaString)) as { fields: { name: string }[] }
    expect(schema.fields.map((f) => f.name)).toEqual(
      expect.arrayContaining(['message_id', 'timestamp', 'revenue', 'workspace_id']),
    )
    for (const f of log.files.values()) {
      expect(existsSync(onDisk(events, f.path))).toBe(true)
      expect(f.partitionValues.workspace_id).toBe('default')
    }

    // Kindred's own reader (what insights uses) agrees with this replay.
    const kindredDuck = await openDuck()
    try {
      const kindredFiles = await liveFiles(kindredDuck, lake, 'events')
      expect(kindredFiles.sort()).toEqual(
        [...log.files.keys()].map((p) => onDisk(events, p)).sort(),
      )
      const [counted] = await rows(
        duck,
        `SELECT count(*)::INTEGER AS n, min(workspace_id) AS ws, typeof(min(event_date)) AS t
         FROM ${readParquetSql('events', kindredFiles)}`,
      )
      expect(counted).toMatchObject({ ws: 'default', t: 'DATE' })
    } finally {
      kindredDuck.close()
    }

    const db = k.kindred.store.db
    const stored = (
      await db.query<Record<string, unknown>>(
        `SELECT source_id, message_id, profile_id, type, event, user_id, anonymous_id,
           to_char("timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ts,
           properties::text AS properties
         FROM events ORDER BY source_id, message_id`,
      )
    ).rows
    const inLake = await scan(
      duck,
      events,
      `source_id, message_id, profile_id, type, event, user_id, anonymous_id,
       strftime("timestamp", '%Y-%m-%dT%H:%M:%S.%gZ') AS ts, properties`,
    )
    expect(inLake.length).toBe(stored.length)
    const key = (r: Record<string, unknown>) => `${String(r.source_id)}/${String(r.message_id)}`
    expect(new Set(inLake.map(key)).size).toBe(inLake.length)
    // A profile merged away points at its survivor in its latest lake version: events keep the
    // profile they were processed under, and resolve through `merged_into` to the store's.
    const profiles = path.join(lake, 'profiles')
    const latest = new Map(
      (
        await scan(duck, profiles, 'profile_id, arg_max(merged_into, version) AS m', 'GROUP BY ALL')
      ).map((r) => [String(r.profile_id), r.m as string | null]),
    )
    const resolve = (id: unknown): unknown => {
      let p = id as string | null
      for (let hops = 0; p !== null && latest.get(p) && hops < 10; hops++) p = latest.get(p) ?? null
      return p
    }
    const normal = (r: Record<string, unknown>) => ({
      ...r,
      profile_id: resolve(r.profile_id),
      properties: JSON.parse(String(r.properties)) as unknown,
    })
    const byKey = new Map(inLake.map((r) => [key(r), normal(r)]))
    for (const s of stored) expect(byKey.get(key(s))).toEqual(normal(s))

    // The API's view of the person's events: the same messageIds.
    const personId = (
      await db.query<{ profile_id: string }>(
        `SELECT profile_id FROM identities WHERE type = 'user_id' AND value = $1`,
        [PERSON.userId],
      )
    ).rows[0]?.profile_id as string
    const api = (await (await k.admin(`/api/v1/profiles/${personId}/events?limit=100`)).json()) as {
      data: { messageId: string }[]
      nextCursor: string | null
    }
    expect(api.nextCursor).toBeNull()
    const lakePerson = inLake.filter((r) => resolve(r.profile_id) === personId)
    expect(lakePerson.map((r) => r.message_id).sort()).toEqual(
      api.data.map((e) => e.messageId).sort(),
    )

    // Money is exact: 0.1 + 0.2 = 0.3, where doubles give 0.30000000000000004.
    const [sum] = await scan(
      duck,
      events,
      `CAST(sum(revenue) AS VARCHAR) AS revenue, CAST(sum(price) AS VARCHAR) AS price`,
    )
    expect(sum).toEqual({ revenue: '0.300000000', price: '0.100000000' })

    // Profiles: the latest version of each profile is the store's current record.
    const storedProfiles = (
      await db.query<{ id: string; merged_into: string | null; traits: Record<string, unknown> }>(
        'SELECT id, merged_into, traits FROM profiles ORDER BY id',
      )
    ).rows
    const current = await scan(
      duck,
      profiles,
      `profile_id, arg_max(merged_into, version) AS merged_into,
       arg_max(traits, version) AS traits, arg_max(segments, version) AS segments,
       arg_max(identities, version) AS identities`,
      'GROUP BY ALL ORDER BY profile_id',
    )
    expect(
      current.map((r) => ({
        id: r.profile_id,
        merged_into: r.merged_into,
        traits: JSON.parse(String(r.traits)) as unknown,
      })),
    ).toEqual(storedProfiles)
    const person = current.find((r) => r.profile_id === personId)
    expect(person?.segments).toEqual(['vip'])
    expect(person?.identities).toEqual(
      expect.arrayContaining([{ type: 'user_id', value: PERSON.userId }]),
    )

    // The merge and the segment entry have their tables.
    const merges = await scan(duck, path.join(lake, 'identity_merges'), 'kind, into_profile_id')
    expect(merges).toEqual(expect.arrayContaining([{ kind: 'merge', into_profile_id: personId }]))
    const memberships = await scan(
      duck,
      path.join(lake, 'segment_membership_changes'),
      'segment_id, profile_id, change',
    )
    // Each stay in the store's history is an entry, and an exit once it ended (a merge moves
    // the membership to the survivor, whichever of the two profiles that is).
    const history = (
      await db.query<{ segment_id: string; profile_id: string; exited_at: Date | null }>(
        'SELECT segment_id, profile_id, exited_at FROM segment_membership_history',
      )
    ).rows.flatMap((h) => [
      { segment_id: h.segment_id, profile_id: h.profile_id, change: 'entered' },
      ...(h.exited_at
        ? [{ segment_id: h.segment_id, profile_id: h.profile_id, change: 'exited' }]
        : []),
    ])
    const order = (r: Record<string, unknown>) => JSON.stringify(r)
    expect(memberships.map(order).sort()).toEqual(history.map(order).sort())
    expect(memberships).toEqual(
      expect.arrayContaining([{ segment_id: 'vip', profile_id: personId, change: 'entered' }]),
    )
  }, 180_000)

  it('after a GDPR deletion the person is in no file on disk and the removed files are gone', async () => {
    const db = k.kindred.store.db
    const cluster = (
      await db.query<{ id: string }>(
        `SELECT p.id FROM profiles p JOIN identities i ON i.profile_id = p.id OR i.profile_id = p.merged_into
         WHERE i.type = 'user_id' AND i.value = $1`,
        [PERSON.userId],
      )
    ).rows.map((r) => r.id)
    expect(cluster.length).toBeGreaterThanOrEqual(1)
    const before = new Map<string, Set<string>>()
    for (const t of ['events', 'profiles', 'identity_merges', 'segment_membership_changes']) {
      before.set(t, new Set((await replay(duck, path.join(lake, t))).files.keys()))
    }

    const res = await k.admin('/api/v1/privacy/requests', {
      body: { type: 'deletion', identifier: { type: 'userId', value: PERSON.userId } },
    })
    expect(res.status).toBe(202)
    const { id } = (await res.json()) as { id: string }
    let done: { status: string; steps: { step: string; status: string; details: unknown }[] } = {
      status: 'pending',
      steps: [],
    }
    for (let i = 0; i < 300 && done.status !== 'completed' && done.status !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 100))
      done = (await (await k.admin(`/api/v1/privacy/requests/${id}`)).json()) as typeof done
    }
    expect(done.status).toBe('completed')
    const lakeStep = done.steps.find((s) => s.step === 'lake')
    expect(lakeStep?.status).toBe('completed')

    const needles = [PERSON.userId, PERSON.anon, PERSON.email, ...cluster]
    for (const t of ['events', 'profiles', 'identity_merges', 'segment_membership_changes']) {
      const dir = path.join(lake, t)
      const { files } = await replay(duck, dir)
      // Files that held the person were removed from the log and deleted from disk.
      for (const p of before.get(t) ?? []) {
        if (!files.has(p)) expect(existsSync(onDisk(dir, p))).toBe(false)
      }
      // Every data file on disk (live or not) is free of them: only live files remain.
      const disk = parquetOnDisk(dir)
      expect(disk.sort()).toEqual([...files.values()].map((f) => onDisk(dir, f.path)).sort())
      if (disk.length > 0) {
        // Each row as text (every column, JSON ones included), searched for every needle.
        const [hit] = await rows(
          duck,
          `SELECT count(*)::INTEGER AS n FROM read_parquet([${disk.map(quote).join(', ')}],
             union_by_name = true) AS f
           WHERE ${needles.map((n) => `CAST(f AS VARCHAR) ILIKE ${quote(`%${n}%`)}`).join(' OR ')}`,
        )
        expect(hit?.n).toBe(0)
      }
      // No log entry names them (statistics and commitInfo carry no identifiers).
      for (const name of readdirSync(path.join(dir, '_delta_log'))) {
        const text = readFileSync(path.join(dir, '_delta_log', name)).toString('latin1')
        for (const n of needles) expect(text.includes(n), `${t}/${name} holds ${n}`).toBe(false)
      }
    }
    // Everyone else is still there.
    const others = await scan(duck, path.join(lake, 'events'), 'count(*)::INTEGER AS n')
    const stored = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM events')
    expect(others[0]?.n).toBe(stored.rows[0]?.n)
    expect(Number(stored.rows[0]?.n)).toBeGreaterThan(0)
    // The erasure row (it named the person) is gone once the step has its receipt.
    expect((await db.query('SELECT 1 FROM lake_erasures')).rows).toEqual([])
  }, 180_000)
})
