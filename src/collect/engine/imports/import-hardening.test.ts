/**
 * Imports against hostile files and stuck runs: headers and targets that name the object
 * machinery, cancel, parking after repeated failed resumes, and uploads removed once an import is
 * over.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  startTestKindred,
  TEST_ADMIN_TOKEN,
  type TestKindred,
} from '../../../testing/test-server.js'
import { workspacesRepository } from '../../../platform/store/repositories/workspaces-repository.js'
import { importKeyFor } from './import-runner.js'
import { importsRepository } from './imports-repository.js'
import { MAX_RESUME_ATTEMPTS } from './background-runs.js'
import { parseImportCancelArgs, runImportCancel } from '../../../cli/import-command.js'

const dir = mkdtempSync(path.join(tmpdir(), 'kindred-import-hardening-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface View {
  id: string
  status: string
  error: string | null
  counts: { read: number; accepted: number; rejected: number }
  errors: { row: number; errors: { path: string; code: string; message: string }[] }[]
  resumeAttempts: number
  uploadUrl?: string
  cancelUrl?: string
}

async function createImport(k: TestKindred, sourceId: string, mapping?: unknown) {
  const res = await k.admin('/api/v1/imports', {
    body: { sourceId, kind: 'profiles', format: 'csv', ...(mapping ? { mapping } : {}) },
  })
  expect(res.status).toBe(201)
  return (await res.json()) as View
}

function upload(k: TestKindred, id: string, body: string) {
  return fetch(`${k.url}/api/v1/imports/${id}/file`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'text/csv' },
    body,
  })
}

async function settled(k: TestKindred, id: string): Promise<View> {
  for (;;) {
    const view = (await (await k.admin(`/api/v1/imports/${id}`)).json()) as View
    if (view.status !== 'running') return view
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('imports API: hostile headers and targets', () => {
  let k: TestKindred
  let sourceId: string
  const dataDir = path.join(dir, 'hostile')
  beforeAll(async () => {
    k = await startTestKindred({ role: 'ingest', dataDir })
    sourceId = (await k.createSource('hostile')).id
  })
  afterAll(() => k.close())

  it('refuses a mapping target through __proto__ with a 400 naming the field', async () => {
    for (const to of ['traits.__proto__.x', 'properties.constructor.prototype.x']) {
      const res = await k.admin('/api/v1/imports', {
        body: { sourceId, kind: 'profiles', format: 'csv', mapping: { columns: { c: to } } },
      })
      expect(res.status).toBe(400)
      const body = (await res.json()) as { error: { code: string; message: string } }
      expect(body.error.code).toBe('VALIDATION_FAILED')
      expect(JSON.stringify(body.error)).toContain('must not contain the path segments')
    }
    expect(({} as Record<string, unknown>).x).toBeUndefined()
  })

  it('a __proto__.x header rejects its rows, pollutes nothing, and the server keeps answering', async () => {
    const created = await createImport(k, sourceId)
    const put = await upload(
      k,
      created.id,
      'user_id,__proto__.rtPolluted,constructor,plan\nh1,pwned,Ferrari,pro\nh2,,Lotus,free\n',
    )
    expect(put.status).toBe(202)
    const view = await settled(k, created.id)
    expect(({} as Record<string, unknown>).rtPolluted).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('rtPolluted')
    // Row 1 has a value in the unsafe column: rejected and reported. Row 2 has none: imported,
    // its "constructor" column an ordinary trait.
    expect(view).toMatchObject({
      status: 'completed',
      counts: { read: 2, accepted: 1, rejected: 1 },
    })
    expect(view.errors).toEqual([
      {
        row: 1,
        errors: [expect.objectContaining({ path: '__proto__.rtPolluted', code: 'unsafe_column' })],
      },
    ])
    expect(view.errors[0]?.errors[0]?.message).toContain('column "__proto__.rtPolluted"')
    expect((await k.admin('/api/v1/imports')).status).toBe(200)
    expect((await fetch(`${k.url}/healthz`)).status).toBe(200)
  })

  it('imports a column named constructor instead of failing', async () => {
    const created = await createImport(k, sourceId)
    expect((await upload(k, created.id, 'user_id,constructor\nc1,Ferrari\n')).status).toBe(202)
    const view = await settled(k, created.id)
    expect(view).toMatchObject({ status: 'completed', error: null, counts: { accepted: 1 } })
  })
})

describe('imports API: cancel and uploads of imports that are over', () => {
  let k: TestKindred
  let sourceId: string
  const dataDir = path.join(dir, 'cancel')
  const uploaded = (id: string) => path.join(dataDir, 'imports', `${id}.csv`)
  beforeAll(async () => {
    k = await startTestKindred({ role: 'ingest', dataDir })
    sourceId = (await k.createSource('cancel')).id
    await workspacesRepository.create(k.kindred.store.db, 'ws_other', 'Other')
  })
  afterAll(() => k.close())

  it('cancels a running import promptly, removes its upload and keeps it cancelled', async () => {
    const lines = ['id,plan,note']
    for (let i = 0; i < 100_000; i++) lines.push(`c${i},pro,${'n'.repeat(20)}`)
    const created = await createImport(k, sourceId, { columns: { id: 'userId' } })
    expect((await upload(k, created.id, lines.join('\n'))).status).toBe(202)
    expect(existsSync(uploaded(created.id))).toBe(true)
    // Another workspace cannot see it, let alone cancel it.
    const foreign = await k.admin(`/api/v1/imports/${created.id}/cancel`, {
      method: 'POST',
      headers: { 'x-kindred-workspace': 'ws_other' },
    })
    expect(foreign.status).toBe(404)
    const started = Date.now()
    const res = await k.admin(`/api/v1/imports/${created.id}/cancel`, { method: 'POST' })
    expect(res.status).toBe(200)
    expect(Date.now() - started).toBeLessThan(5_000)
    const view = (await res.json()) as View
    expect(view.status).toBe('cancelled')
    expect(view.cancelUrl).toBeUndefined()
    expect(view.counts.read).toBeLessThan(100_000)
    expect(existsSync(uploaded(created.id))).toBe(false)
    await new Promise((r) => setTimeout(r, 300))
    const later = (await (await k.admin(`/api/v1/imports/${created.id}`)).json()) as View
    expect(later.status).toBe('cancelled')
    expect(later.counts.read).toBe(view.counts.read)
    // Over: a second cancel is a conflict.
    const again = await k.admin(`/api/v1/imports/${created.id}/cancel`, { method: 'POST' })
    expect(again.status).toBe(409)
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('CONFLICT')
  })

  it('cancels an import awaiting its upload; the upload is then refused', async () => {
    const created = await createImport(k, sourceId)
    expect(created.cancelUrl).toBe(`/api/v1/imports/${created.id}/cancel`)
    const res = await k.admin(`/api/v1/imports/${created.id}/cancel`, { method: 'POST' })
    expect(res.status).toBe(200)
    expect(((await res.json()) as View).status).toBe('cancelled')
    expect((await upload(k, created.id, 'user_id\nx1\n')).status).toBe(409)
    expect(existsSync(uploaded(created.id))).toBe(false)
  })

  it('kindred import cancel <id> --url cancels through the API', async () => {
    const created = await createImport(k, sourceId)
    const parsed = parseImportCancelArgs([created.id, '--url', k.url], {
      KINDRED_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    })
    if (!parsed.ok) throw new Error(parsed.error)
    let out = ''
    const stdout = { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream
    expect(await runImportCancel(parsed.options, { stdout })).toEqual({
      importId: created.id,
      status: 'cancelled',
    })
    expect(out).toBe(`import ${created.id}: cancelled\n`)
    await expect(runImportCancel(parsed.options, { stdout })).rejects.toMatchObject({
      code: 'CONFLICT',
    })
    expect(parseImportCancelArgs([]).ok).toBe(false)
  })

  it('answers 409 for a completed import and 404 for an unknown one', async () => {
    const created = await createImport(k, sourceId)
    await upload(k, created.id, 'user_id\nd1\n')
    expect((await settled(k, created.id)).status).toBe('completed')
    const res = await k.admin(`/api/v1/imports/${created.id}/cancel`, { method: 'POST' })
    expect(res.status).toBe(409)
    expect((await k.admin('/api/v1/imports/imp_nope/cancel', { method: 'POST' })).status).toBe(404)
  })

  it('removes the upload of a failed import and keeps its rejects file', async () => {
    const created = await createImport(k, sourceId)
    // A row with a bad column count is rejected; the unclosed quote then stops the import.
    await upload(k, created.id, 'user_id,plan\nf1,pro,extra\nf2,"pro\n')
    const view = await settled(k, created.id)
    expect(view.status).toBe('failed')
    expect(existsSync(uploaded(created.id))).toBe(false)
    expect(existsSync(path.join(dataDir, 'imports', `${created.id}.rejects.jsonl`))).toBe(true)
  })
})

describe('imports module: parking', () => {
  it('resumes an interrupted import a few times, then parks it and removes its upload', async () => {
    const dataDir = path.join(dir, 'park')
    const k1 = await startTestKindred({ dataDir, role: 'ingest' })
    const src = (await k1.createSource('park')).id
    const db1 = k1.kindred.store.db
    const leaveRunning = async (content: string, attempts: number) => {
      const created = await createImport(k1, src, { columns: { id: 'userId' } })
      mkdirSync(path.join(dataDir, 'imports'), { recursive: true })
      writeFileSync(path.join(dataDir, 'imports', `${created.id}.csv`), content)
      const record = await importsRepository.get(db1, 'default', created.id)
      if (!record) throw new Error('record missing')
      await importsRepository.attachFile(db1, 'default', created.id, {
        importKey: importKeyFor({ ...record, fileHash: created.id }),
        fileHash: created.id,
        fileSize: content.length,
        rejectsPath: path.join(dataDir, 'imports', `${created.id}.rejects.jsonl`),
        now: new Date(),
      })
      // As if it had been resumed this many times, each resume taking the process down.
      await db1.query('UPDATE imports SET resume_attempts = $2 WHERE id = $1', [
        created.id,
        attempts,
      ])
      return created.id
    }
    const parked = await leaveRunning('id\np1\n', MAX_RESUME_ATTEMPTS)
    const resumed = await leaveRunning('id\nr1\n', MAX_RESUME_ATTEMPTS - 1)
    await k1.close()

    const k2 = await startTestKindred({ dataDir, role: 'ingest' })
    try {
      const p = await settled(k2, parked)
      expect(p.status).toBe('failed')
      expect(p.error).toMatch(/^parked: .*interrupted 3 times while resuming/)
      expect(existsSync(path.join(dataDir, 'imports', `${parked}.csv`))).toBe(false)
      const r = await settled(k2, resumed)
      expect(r).toMatchObject({ status: 'completed', resumeAttempts: MAX_RESUME_ATTEMPTS })
      expect(existsSync(path.join(dataDir, 'imports', `${resumed}.csv`))).toBe(false)
    } finally {
      await k2.close()
    }
  })

  it('forgets the resume count when a resumed run stops cleanly', async () => {
    const dataDir = path.join(dir, 'count')
    const k1 = await startTestKindred({ dataDir, role: 'ingest' })
    const src = (await k1.createSource('count')).id
    const db1 = k1.kindred.store.db
    const created = await createImport(k1, src, { columns: { id: 'userId' } })
    const lines = ['id,note']
    for (let i = 0; i < 100_000; i++) lines.push(`q${i},${'n'.repeat(20)}`)
    const content = lines.join('\n')
    mkdirSync(path.join(dataDir, 'imports'), { recursive: true })
    writeFileSync(path.join(dataDir, 'imports', `${created.id}.csv`), content)
    const record = await importsRepository.get(db1, 'default', created.id)
    if (!record) throw new Error('record missing')
    await importsRepository.attachFile(db1, 'default', created.id, {
      importKey: importKeyFor({ ...record, fileHash: 'h' }),
      fileHash: 'h',
      fileSize: content.length,
      rejectsPath: path.join(dataDir, 'imports', `${created.id}.rejects.jsonl`),
      now: new Date(),
    })
    await db1.query('UPDATE imports SET resume_attempts = $2 WHERE id = $1', [
      created.id,
      MAX_RESUME_ATTEMPTS - 1,
    ])
    await k1.close()

    // Resumed on start (the last attempt allowed), then the server stops mid-file.
    const k2 = await startTestKindred({ dataDir, role: 'ingest' })
    const during = await importsRepository.get(k2.kindred.store.db, 'default', created.id)
    expect(during?.resumeAttempts).toBe(MAX_RESUME_ATTEMPTS)
    await k2.close()

    const k3 = await startTestKindred({ dataDir, role: 'ingest' })
    try {
      const view = await settled(k3, created.id)
      // The clean stop reset the count, so this start resumed it again instead of parking it.
      expect(view).toMatchObject({ status: 'completed', resumeAttempts: 1 })
      expect(view.counts.read).toBe(100_000)
    } finally {
      await k3.close()
    }
  })
})
