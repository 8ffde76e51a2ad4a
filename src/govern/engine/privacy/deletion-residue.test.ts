/**
 * A deletion on the embedded setup (PGlite and the file event log in a data dir) leaves the
 * person nowhere: no table row, no event-log segment, no rejects file, no delivery attempt.
 */
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../../../testing/test-server.js'
import { startReceiver, until, type Receiver } from '../../../testing/test-receiver.js'
import { createDestinationsModule } from '../../../activate/destinations-module.js'
import { importsModule } from '../../../collect/imports-module.js'
import { createPrivacyModule } from '../../privacy-module.js'
import { createGovernDeliveries } from '../../../activate/index.js'
import { qualityModule } from '../../../collect/quality-module.js'
import { segmentsModule } from '../../../understand/segments-module.js'
import { vacuumTables } from './outside-store.js'
import pino from 'pino'

const SECRET = 'whsec-test-0123456789abcdef'
const GDPR = {
  userId: 'gdpr-user-1',
  email: 'gdpr.person@example.com',
  phone: '+14155550199',
  anon: 'anon-gdpr-7781',
}
const OTHER = { userId: 'other-user-9', email: 'someone.else@example.org' }

/** Every file under `dir` (recursively) that contains one of the needles, case-insensitively. */
function filesMentioning(dir: string, needles: string[]): string[] {
  const hits: string[] = []
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = path.join(d, f)
      if (statSync(p).isDirectory()) walk(p)
      else {
        const text = readFileSync(p).toString('latin1').toLowerCase()
        const found = needles.filter((n) => text.includes(n.toLowerCase()))
        if (found.length > 0) hits.push(`${path.relative(dir, p)}: ${found.join(', ')}`)
      }
    }
  }
  walk(dir)
  return hits
}

describe('deletion leaves no residue (embedded: PGlite + file event log)', () => {
  let k: TestKindred
  let dataDir: string
  let receiver: Receiver
  let sourceId: string
  let writeKey: string

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'kindred-residue-'))
    k = await startTestKindred({
      dataDir,
      modules: [
        segmentsModule,
        qualityModule,
        importsModule,
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
    ;({ id: sourceId, writeKey } = await k.createSource())
    receiver = await startReceiver(SECRET)
    const res = await k.admin('/api/v1/destinations', {
      body: {
        type: 'builtin.webhook',
        name: 'hook',
        settings: { url: receiver.url, signingSecret: SECRET },
        actions: { upsertProfiles: true },
      },
    })
    expect(res.status).toBe(201)
  }, 60_000)

  afterAll(async () => {
    await k?.close()
    await receiver?.close()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  it('erases the event log files, quarantine, violations, rejects files and delivery attempts', async () => {
    const db = k.kindred.store.db
    const send = async (p: string, body: unknown) =>
      expect((await k.track(writeKey, p, body)).status).toBe(200)
    await send('/v1/identify', {
      userId: GDPR.userId,
      anonymousId: GDPR.anon,
      traits: { email: 'GDPR.Person@Example.com', phone: GDPR.phone, name: 'Gdpr Person' },
    })
    // The person and someone else in one request: the other's event must survive the rewrite.
    await send('/v1/batch', {
      batch: [
        { type: 'track', userId: GDPR.userId, event: 'Bought', properties: { to: GDPR.email } },
        { type: 'identify', userId: OTHER.userId, traits: { email: OTHER.email } },
      ],
    })
    await k.kindred.processor?.drain()
    const profileId = (
      await db.query<{ profile_id: string }>(
        `SELECT profile_id FROM identities WHERE type = 'user_id' AND value = $1`,
        [GDPR.userId],
      )
    ).rows[0]?.profile_id as string
    expect(profileId).toBeDefined()
    const message = (
      await db.query<{ message_id: string }>(
        `SELECT message_id FROM events WHERE profile_id = $1 LIMIT 1`,
        [profileId],
      )
    ).rows[0]?.message_id as string

    // What the quality module keeps aside: a quarantined event and a violation.
    await db.query(
      `INSERT INTO quarantined_events (workspace_id, source_id, message_id, reason, type, event,
         payload, violations, quarantined_at)
       VALUES ('default', $1, 'q-msg-1', 'plan', 'track', 'Unplanned', $2, '[]', now())`,
      [
        sourceId,
        JSON.stringify({
          userId: GDPR.userId,
          event: 'Unplanned',
          properties: { email: GDPR.email },
        }),
      ],
    )
    // An event set aside that jsonb could not hold: only its text copy is kept.
    await db.query(
      `INSERT INTO quarantined_events (workspace_id, source_id, message_id, reason, type, event,
         payload, payload_text, violations, quarantined_at)
       VALUES ('default', $1, 'q-msg-2', 'poison', 'track', 'Deep', NULL, $2, '[]', now())`,
      [sourceId, `{"userId":${JSON.stringify(GDPR.userId)},"properties":{"s":"\\ud800"}}`],
    )
    await db.query(
      `INSERT INTO event_violations (workspace_id, source_id, message_id, type, event, action,
         plan_version, violations, seen_at)
       VALUES ('default', $1, $2, 'track', 'Bought', 'flag', 1, '[]', now())`,
      [sourceId, message],
    )
    // An import that rejected one of the person's rows and one of someone else's.
    const importsDir = path.join(dataDir, 'imports')
    mkdirSync(importsDir, { recursive: true })
    const rejectsPath = path.join(importsDir, 'imp_residue01.rejects.jsonl')
    const lines = [
      `${JSON.stringify({ row: 1, raw: { user_id: GDPR.userId, email: GDPR.email, age: 'x' }, errors: [] })}\n`,
      `${JSON.stringify({ row: 2, raw: { user_id: OTHER.userId, age: 'y' }, errors: [] })}\n`,
    ]
    writeFileSync(rejectsPath, lines.join(''))
    await db.query(
      `INSERT INTO imports (workspace_id, id, source_id, kind, format, rejects_path, status,
         import_time, rows_rejected, rejects_bytes, created_at, updated_at)
       VALUES ('default', 'imp_residue01', $1, 'profiles', 'csv', $2, 'completed', now(), 2, $3,
         now(), now())`,
      [sourceId, rejectsPath, Buffer.byteLength(lines.join(''))],
    )
    // Attempts of a deletion-forward to a destination deleted since: no job links them.
    await db.query(
      `INSERT INTO delivery_attempts (workspace_id, destination_id, job_ids, attempt, status,
         request, error, at)
       VALUES ('default', 'dst_gone', '{987654}', 1, 'retry', $1, $2, now())`,
      [
        JSON.stringify({ body: { kind: 'delete', profile: { traits: { email: GDPR.email } } } }),
        `connect ECONNREFUSED while deleting ${GDPR.userId}`,
      ],
    )
    await until(async () => {
      const r = await db.query<{ n: string }>(
        `SELECT count(*) AS n FROM delivery_jobs WHERE state IN ('pending', 'in_flight')`,
      )
      return Number(r.rows[0]?.n) === 0
    })
    const needles = [GDPR.userId, GDPR.email, GDPR.phone, GDPR.anon]
    expect(filesMentioning(path.join(dataDir, 'event-log'), needles).length).toBeGreaterThan(0)
    const received = receiver.received.length

    const created = await k.admin('/api/v1/privacy/requests', {
      body: { type: 'deletion', identifier: { type: 'email', value: ' GDPR.Person@Example.com' } },
    })
    expect(created.status).toBe(202)
    const id = ((await created.json()) as { id: string }).id
    const done = await until(async () => {
      const r = (await (await k.admin(`/api/v1/privacy/requests/${id}`)).json()) as {
        status: string
      }
      return r.status === 'completed' || r.status === 'failed' ? r : undefined
    }, 20_000)
    expect(done.status).toBe('completed')

    // The deletion-forward carried identifiers, not the person's other traits.
    const call = receiver.received
      .slice(received)
      .find((r) => (r.json as { kind?: string }).kind === 'delete')
    expect(JSON.stringify(call?.json)).toContain(GDPR.email)
    expect(JSON.stringify(call?.json)).not.toContain('Gdpr Person')

    expect(filesMentioning(path.join(dataDir, 'event-log'), needles)).toEqual([])
    expect(filesMentioning(importsDir, needles)).toEqual([])
    expect(await sweep([...needles, profileId])).toEqual([])
    // The others' data is still served.
    const q = await k.admin(`/api/v1/sources/${sourceId}/quarantine`)
    expect(q.status).toBe(200)
    expect(JSON.stringify(await q.json())).not.toContain(GDPR.userId)
    const rejects = await (await k.admin('/api/v1/imports/imp_residue01/rejects')).text()
    expect(rejects).not.toContain(GDPR.email)
    expect(
      rejects
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as unknown),
    ).toEqual([{ row: 1, erased: 'privacy deletion' }, JSON.parse(lines[1] as string)])
    const other = await db.query(`SELECT 1 FROM identities WHERE value = $1`, [OTHER.email])
    expect(other.rows).toHaveLength(1)
    const events = await k.kindred.eventLog.read(db, 0, 1_000)
    expect(events.flatMap((r) => r.events).some((e) => e.userId === OTHER.userId)).toBe(true)
  }, 60_000)

  it('vacuums the named tables outside any transaction, skipping unknown names', async () => {
    const db = k.kindred.store.db
    const done = await vacuumTables(
      db,
      ['quarantined_events', 'events', 'no_such_table'],
      pino({ level: 'silent' }),
    )
    expect(done.sort()).toEqual(['events', 'quarantined_events'])
  })

  /** Every text-like column of every table, searched for each needle. */
  async function sweep(needles: string[]): Promise<string[]> {
    const db = k.kindred.store.db
    const cols = await db.query<{ t: string; c: string }>(
      `SELECT c.table_name AS t, c.column_name AS c
       FROM information_schema.columns c JOIN information_schema.tables t
         ON t.table_schema = c.table_schema AND t.table_name = c.table_name
       WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
         AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY')`,
    )
    const patterns = needles.map((n) => `%${n.replace(/[\\%_]/g, (m) => `\\${m}`)}%`)
    const hits: string[] = []
    for (const { t, c } of cols.rows) {
      const r = await db.query<{ v: string }>(
        `SELECT "${c}"::text AS v FROM "${t}" WHERE "${c}"::text ILIKE ANY($1::text[])`,
        [patterns],
      )
      for (const row of r.rows) hits.push(`${t}.${c}: ${row.v.slice(0, 200)}`)
    }
    return hits
  }
})
