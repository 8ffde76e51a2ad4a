import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  startTestKindred,
  TEST_ADMIN_TOKEN,
  type TestKindred,
} from '../../../testing/test-server.js'
import {
  parseImportMapping,
  type ImportFormat,
  type ImportKind,
} from '../../core/import-mapping.js'
import { importKeyFor, prepareImport, runImport } from './import-runner.js'
import { importsRepository } from './imports-repository.js'
import { runImportCommand } from '../../../cli/import-command.js'

let k: TestKindred
let sourceId: string
const dir = mkdtempSync(path.join(tmpdir(), 'kindred-import-test-'))
const clock = () => new Date('2026-02-01T12:00:00.000Z')

beforeAll(async () => {
  k = await startTestKindred()
  sourceId = (await k.createSource('CRM export')).id
})
afterAll(async () => {
  await k.close()
  rmSync(dir, { recursive: true, force: true })
})

const profilesCsv = [
  'id,email,age,vip,crm,signup',
  'u1,ann@example.com,41,yes,C-1,2024-01-05',
  'u2,bob@example.com,not-a-number,no,C-2,2024-02-06',
  'u3,cat@example.com,29,true,C-3,2024-03-07',
  // No user id: the email alone identifies the row.
  ',\tNobody@Example.com ,30,no,,2024-04-08',
  'u5,dan@example.com,55,0,C-5,2024-05-09,extra-field',
  'u6,eve@example.com,61,1,C-6,2024-06-10',
  // No identifier at all: the email is no email, and nothing else identifies.
  ',not-an-email,33,no,,2024-07-11',
].join('\n')

const profileMapping = parseImportMapping({
  columns: {
    id: 'userId',
    email: 'traits.email',
    age: { to: 'traits.age', type: 'integer' },
    vip: { to: 'traits.vip', type: 'boolean' },
    crm: 'externalIds.crm_id',
    signup: { to: 'traits.signed_up_at', type: 'date' },
  },
})

function mapping() {
  if (!profileMapping.ok) throw new Error(profileMapping.message)
  return profileMapping.value
}

async function importFile(
  name: string,
  content: string,
  opts: { kind?: ImportKind; format?: ImportFormat; mapping?: unknown } = {},
) {
  const file = path.join(dir, name)
  writeFileSync(file, content)
  const m = opts.mapping === undefined ? mapping() : parseImportMapping(opts.mapping)
  if ('ok' in m && !m.ok) throw new Error(m.message)
  const prepared = await prepareImport({
    db: k.kindred.store.db,
    workspaceId: 'default',
    sourceId,
    kind: opts.kind ?? 'profiles',
    format: opts.format ?? 'csv',
    mapping: 'ok' in m ? m.value : m,
    filePath: file,
    rejectsPath: path.join(dir, `${name}.rejects.jsonl`),
    clock,
  })
  return { file, prepared }
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const res = await k.kindred.store.db.query<{ n: string | number }>(sql, params)
  return Number(res.rows[0]?.n ?? 0)
}

describe('runImport', () => {
  it('imports good rows as identify events and reports bad rows with their row numbers', async () => {
    const { file, prepared } = await importFile('people.csv', profilesCsv)
    expect(prepared.previous).toBe('none')
    const final = await runImport({
      db: k.kindred.store.db,
      eventLog: k.kindred.eventLog,
      record: prepared.record,
      filePath: file,
      clock,
      batchSize: 2,
    })
    await k.kindred.processor?.drain()
    expect(final).toMatchObject({
      status: 'completed',
      rowsRead: 7,
      rowsAccepted: 4,
      rowsRejected: 3,
    })
    expect(final.errors.map((e) => [e.row, e.errors[0]?.code])).toEqual([
      [2, 'coercion_failed'],
      [5, 'unreadable_row'],
      [7, 'missing_identity'],
    ])
    expect(final.errors[2]?.errors[0]?.message).toContain('refused: traits.email "not-an-email"')
    const rejects = readFileSync(path.join(dir, 'people.csv.rejects.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { row: number; raw: unknown })
    expect(rejects.map((r) => r.row)).toEqual([2, 5, 7])
    expect(rejects[0]?.raw).toMatchObject({ id: 'u2', age: 'not-a-number' })
    // The email-keyed row became a profile, found by its normalised email.
    const nobody = await k.admin('/api/v1/profiles/lookup?type=email&value=nobody@example.com')
    expect(nobody.status).toBe(200)
    expect(((await nobody.json()) as { traits: unknown }).traits).toMatchObject({
      email: 'nobody@example.com',
      age: 30,
    })

    const lookup = await k.admin('/api/v1/profiles/lookup?type=email&value=ann@example.com')
    expect(lookup.status).toBe(200)
    const profile = (await lookup.json()) as { traits: Record<string, unknown> }
    expect(profile.traits).toMatchObject({
      age: 41,
      vip: true,
      signed_up_at: '2024-01-05T00:00:00.000Z',
    })
    expect(await count(`SELECT count(*) AS n FROM events WHERE source_id = $1`, [sourceId])).toBe(4)
    const ev = await k.kindred.store.db.query<{ type: string; ts: Date | string }>(
      `SELECT type, "timestamp" AS ts FROM events WHERE source_id = $1 AND user_id = 'u3'`,
      [sourceId],
    )
    expect(ev.rows[0]?.type).toBe('identify')
    // No timestamp column: the import's fixed time, never "now".
    expect(new Date(ev.rows[0]?.ts as string).toISOString()).toBe('2026-02-01T12:00:00.000Z')
  })

  it('is idempotent: the same file again does nothing, also through a new import record', async () => {
    const before = await count(`SELECT count(*) AS n FROM events WHERE source_id = $1`, [sourceId])
    const again = await importFile('people.csv', profilesCsv)
    expect(again.prepared.previous).toBe('completed')
    // Force a second run of a new record over the same bytes (as the HTTP API would do).
    await k.kindred.store.db.query(`UPDATE imports SET import_key = 'old' WHERE id = $1`, [
      again.prepared.record.id,
    ])
    const second = await importFile('people.csv', profilesCsv)
    expect(second.prepared.previous).toBe('none')
    const final = await runImport({
      db: k.kindred.store.db,
      eventLog: k.kindred.eventLog,
      record: second.prepared.record,
      filePath: second.file,
      clock: () => new Date('2027-01-01T00:00:00.000Z'),
    })
    expect(final.rowsAccepted).toBe(4)
    await k.kindred.processor?.drain()
    expect(await count(`SELECT count(*) AS n FROM events WHERE source_id = $1`, [sourceId])).toBe(
      before,
    )
    expect(
      await count(`SELECT count(*) AS n FROM profiles WHERE traits->>'email' LIKE '%@example.com'`),
    ).toBe(4)
  })

  it('maps JSONL event rows to track calls with a constant name', async () => {
    const lines = [
      { user_id: 'j1', timestamp: '2025-03-01T10:00:00Z', amount: '12.5', sku: 'A' },
      { user_id: 'j2', timestamp: 'garbage', amount: '3' },
      'not json',
      { user_id: 'j3', amount: 7 },
    ]
    const content = lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')
    const { file, prepared } = await importFile('orders.jsonl', content, {
      kind: 'events',
      format: 'jsonl',
      mapping: { columns: { amount: { to: 'properties.amount', type: 'number' } }, event: 'Order' },
    })
    const final = await runImport({
      db: k.kindred.store.db,
      eventLog: k.kindred.eventLog,
      record: prepared.record,
      filePath: file,
      clock,
    })
    expect(final).toMatchObject({ rowsRead: 4, rowsAccepted: 2, rowsRejected: 2 })
    expect(final.errors.map((e) => e.row)).toEqual([2, 3])
    await k.kindred.processor?.drain()
    const res = await k.kindred.store.db.query<{
      user_id: string
      event: string
      properties: unknown
    }>(
      `SELECT user_id, event, properties FROM events WHERE source_id = $1 AND type = 'track'
       ORDER BY user_id`,
      [sourceId],
    )
    expect(res.rows).toEqual([
      { user_id: 'j1', event: 'Order', properties: { amount: 12.5, sku: 'A' } },
      { user_id: 'j3', event: 'Order', properties: { amount: 7 } },
    ])
  })

  it('resumes an interrupted run from its checkpoint: every row once, rejects once', async () => {
    const rows = ['id,email,age']
    for (let i = 1; i <= 300; i++) rows.push(`r${i},r${i}@resume.test,${i % 50 === 0 ? 'x' : i}`)
    const { file, prepared } = await importFile('resume.csv', rows.join('\n'), {
      mapping: {
        columns: {
          id: 'userId',
          email: 'traits.email',
          age: { to: 'traits.age', type: 'integer' },
        },
      },
    })
    const abort = new AbortController()
    const partial = await runImport({
      db: k.kindred.store.db,
      eventLog: k.kindred.eventLog,
      record: prepared.record,
      filePath: file,
      clock,
      batchSize: 40,
      signal: abort.signal,
      onProgress: (p) => {
        if (p.rowsRead >= 120) abort.abort()
      },
    })
    expect(partial.status).toBe('running')
    expect(partial.checkpointRow).toBeGreaterThanOrEqual(120)
    expect(partial.checkpointRow).toBeLessThan(300)

    const again = await importFile('resume.csv', rows.join('\n'), {
      mapping: {
        columns: {
          id: 'userId',
          email: 'traits.email',
          age: { to: 'traits.age', type: 'integer' },
        },
      },
    })
    expect(again.prepared.previous).toBe('resumable')
    expect(again.prepared.record.id).toBe(prepared.record.id)
    const final = await runImport({
      db: k.kindred.store.db,
      eventLog: k.kindred.eventLog,
      record: again.prepared.record,
      filePath: file,
      clock,
      batchSize: 40,
    })
    expect(final).toMatchObject({
      status: 'completed',
      rowsRead: 300,
      rowsAccepted: 294,
      rowsRejected: 6,
    })
    await k.kindred.processor?.drain()
    expect(
      await count(
        `SELECT count(DISTINCT message_id) AS n FROM events WHERE user_id LIKE 'r%' AND source_id = $1`,
        [sourceId],
      ),
    ).toBe(294)
    expect(
      await count(`SELECT count(*) AS n FROM events WHERE user_id LIKE 'r%' AND source_id = $1`, [
        sourceId,
      ]),
    ).toBe(294)
    const rejectRows = readFileSync(path.join(dir, 'resume.csv.rejects.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { row: number }).row)
    expect(rejectRows).toEqual([50, 100, 150, 200, 250, 300])
  })
})

describe('runImport with PII controls', () => {
  it('hashes the fields the workspace hashes before the event log, as ingest does', async () => {
    const put = await k.admin('/api/v1/privacy/pii', {
      method: 'PUT',
      body: { hashFields: ['email'], hashSalt: 'import-salt-1', anonymizeIp: false },
    })
    expect(put.status).toBe(200)
    try {
      const csv = ['id,email', 'pii-1,zed@example.com'].join('\n')
      const { file, prepared } = await importFile('pii.csv', csv, {
        mapping: { columns: { id: 'userId', email: 'traits.email' } },
      })
      const final = await runImport({
        db: k.kindred.store.db,
        eventLog: k.kindred.eventLog,
        record: prepared.record,
        filePath: file,
        clock,
      })
      expect(final).toMatchObject({ status: 'completed', rowsAccepted: 1 })
      await k.kindred.processor?.drain()
      const ev = await k.kindred.store.db.query<{ traits: { email?: string } }>(
        `SELECT traits FROM events WHERE source_id = $1 AND user_id = 'pii-1'`,
        [sourceId],
      )
      expect(ev.rows[0]?.traits.email).toMatch(/^[0-9a-f]{64}$/)
      const anywhere = await count(
        `SELECT count(*) AS n FROM events WHERE payload::text LIKE '%zed@example.com%'`,
      )
      expect(anywhere).toBe(0)
    } finally {
      await k.admin('/api/v1/privacy/pii', {
        method: 'PUT',
        body: { hashFields: [], hashSalt: null, anonymizeIp: false },
      })
    }
  })
})

describe('imports HTTP API', () => {
  // Ingest role: no processor competing for the in-memory store; the import itself is the subject.
  let api: TestKindred
  let apiSource: string
  beforeAll(async () => {
    api = await startTestKindred({ role: 'ingest' })
    apiSource = (await api.createSource('API import')).id
  })
  afterAll(() => api.close())

  it('creates an import, streams the upload, runs it and serves status and rejects', async () => {
    const k = api
    const sourceId = apiSource
    const created = await k.admin('/api/v1/imports', {
      body: {
        sourceId,
        kind: 'profiles',
        format: 'csv',
        mapping: {
          columns: {
            id: 'userId',
            email: 'traits.email',
            age: { to: 'traits.age', type: 'integer' },
            note: 'ignore',
          },
        },
        fileName: 'api.csv',
      },
    })
    expect(created.status).toBe(201)
    const view = (await created.json()) as { id: string; status: string; uploadUrl: string }
    expect(view.status).toBe('awaiting_upload')
    // Bigger than the app-wide ~1 MB body limit: the upload route streams.
    const lines = ['id,email,age,note']
    const note = 'n'.repeat(80)
    for (let i = 0; i < 12_000; i++)
      lines.push(`api${i},api${i}@upload.test,${i === 7 ? 'old' : 30},${note}`)
    const body = lines.join('\n')
    expect(body.length).toBeGreaterThan(1_100_000)
    const put = await fetch(`${k.url}${view.uploadUrl}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'text/csv' },
      body,
    })
    expect(put.status).toBe(202)
    const again = await fetch(`${k.url}${view.uploadUrl}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'text/csv' },
      body: 'id\n1',
    })
    expect(again.status).toBe(409)
    let status: { status: string; counts: Record<string, number>; errors: { row: number }[] }
    for (;;) {
      status = (await (await k.admin(`/api/v1/imports/${view.id}`)).json()) as typeof status
      if (status.status !== 'running') break
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(status).toMatchObject({
      status: 'completed',
      counts: { read: 12_000, accepted: 11_999, rejected: 1 },
      errors: [{ row: 8 }],
    })
    const rejects = await k.admin(`/api/v1/imports/${view.id}/rejects`)
    expect(rejects.status).toBe(200)
    const rejectLines = (await rejects.text()).trim().split('\n')
    expect(rejectLines).toHaveLength(1)
    expect(JSON.parse(rejectLines[0] as string)).toMatchObject({
      row: 8,
      raw: { id: 'api7', age: 'old' },
    })
    const list = (await (await k.admin('/api/v1/imports')).json()) as { data: { id: string }[] }
    expect(list.data.map((d) => d.id)).toContain(view.id)
    expect((await k.admin('/api/v1/imports/imp_nope')).status).toBe(404)
    const badSource = await k.admin('/api/v1/imports', {
      body: { sourceId: 'src_nope', kind: 'events', format: 'csv' },
    })
    expect(badSource.status).toBe(404)
  })

  it('kindred import --url uploads through the API and waits for the result', async () => {
    const file = path.join(dir, 'cli-upload.jsonl')
    writeFileSync(
      file,
      [{ uid: 'w1', plan: 'pro' }, { uid: 'w2', plan: 'free' }, { plan: 'none' }]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    )
    let out = ''
    const sink = { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream
    const summary = await runImportCommand(
      {
        file,
        sourceId: apiSource,
        kind: 'profiles',
        format: 'jsonl',
        mapping: { columns: { uid: 'userId' }, unmapped: 'auto' },
        rejectsPath: path.join(dir, 'unused.jsonl'),
        resume: false,
        workspaceId: 'default',
        dataDir: dir,
        databaseUrl: undefined,
        url: api.url,
        adminToken: TEST_ADMIN_TOKEN,
        progress: 'none',
      },
      { stdout: sink, stderr: sink },
    )
    expect(summary).toMatchObject({
      status: 'completed',
      rowsRead: 3,
      rowsAccepted: 2,
      rowsRejected: 1,
    })
    expect(out).toContain('3 rows read, 2 accepted, 1 rejected')
  })
})

describe('imports module', () => {
  it('resumes, on start, an upload left running when the server stopped', async () => {
    const dataDir = path.join(dir, 'restart-data')
    const k1 = await startTestKindred({ dataDir })
    const src = (await k1.createSource('restart')).id
    const created = await k1.admin('/api/v1/imports', {
      body: {
        sourceId: src,
        kind: 'profiles',
        format: 'csv',
        mapping: { columns: { id: 'userId' } },
      },
    })
    const { id } = (await created.json()) as { id: string }
    // As if the upload had finished and the server died before the run started.
    mkdirSync(path.join(dataDir, 'imports'), { recursive: true })
    writeFileSync(path.join(dataDir, 'imports', `${id}.csv`), 'id,plan\nq1,pro\nq2,free\nq3,pro\n')
    const record = await importsRepository.get(k1.kindred.store.db, 'default', id)
    if (!record) throw new Error('record missing')
    await importsRepository.attachFile(k1.kindred.store.db, 'default', id, {
      importKey: importKeyFor({ ...record, fileHash: 'h' }),
      fileHash: 'h',
      fileSize: 30,
      rejectsPath: path.join(dataDir, 'imports', `${id}.rejects.jsonl`),
      now: new Date(),
    })
    await k1.close()

    const k2 = await startTestKindred({ dataDir })
    try {
      let view: { status: string; counts: { accepted: number } }
      for (;;) {
        view = (await (await k2.admin(`/api/v1/imports/${id}`)).json()) as typeof view
        if (view.status !== 'running') break
        await new Promise((r) => setTimeout(r, 100))
      }
      expect(view).toMatchObject({ status: 'completed', counts: { accepted: 3 } })
      await k2.kindred.processor?.drain()
      const lookup = await k2.admin('/api/v1/profiles/lookup?type=user_id&value=q2')
      expect(lookup.status).toBe(200)
      expect(((await lookup.json()) as { traits: unknown }).traits).toMatchObject({ plan: 'free' })
    } finally {
      await k2.close()
    }
  })
})
