import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { storeTargets } from '../../testing/databases.js'
import type { Store } from './open-store.js'
import { auditRepository, type AuditRecord } from './repositories/audit-repository.js'
import { loginAttemptsRepository } from './repositories/login-attempts-repository.js'
import { usersRepository } from './repositories/users-repository.js'
import { workspacesRepository } from './repositories/workspaces-repository.js'

const entry = (action: string, at: Date): AuditRecord => ({
  workspaceId: 'default',
  at,
  actorKind: 'key',
  actorId: 'key_1',
  actorLabel: 'test',
  action,
  targetType: 'source',
  targetId: 'src_1',
  outcome: 'success',
  status: 201,
  before: undefined,
  after: { name: 'x' },
  requestId: 'req-1',
  ip: '127.0.0.1',
  method: 'POST',
  path: '/api/v1/sources',
})

// The audit log's append-only trigger and the member tables, on every store adapter.
describe.each(storeTargets())('access tables on $name', (target) => {
  let store: Store
  beforeAll(async () => {
    store = await target.open()
    await workspacesRepository.ensureDefault(store.db)
  }, 60_000)
  afterAll(() => store.close())

  it('appends audit rows, pages them newest first, and refuses UPDATE, DELETE and TRUNCATE', async () => {
    const db = store.db
    await auditRepository.append(db, entry('source.create', new Date('2026-01-01T00:00:00Z')))
    await auditRepository.append(db, entry('source.update', new Date('2026-01-02T00:00:00Z')))
    await auditRepository.append(db, entry('segment.create', new Date('2026-01-03T00:00:00Z')))
    const all = await auditRepository.list(db, {
      workspaceId: 'default',
      includeGlobal: false,
      limit: 10,
    })
    expect(all.map((e) => e.action)).toEqual(['segment.create', 'source.update', 'source.create'])
    const prefix = await auditRepository.list(db, {
      workspaceId: 'default',
      includeGlobal: false,
      action: 'source.',
      beforeId: all[1]?.id,
      limit: 10,
    })
    expect(prefix.map((e) => e.action)).toEqual(['source.create'])
    await expect(db.query(`UPDATE audit_log SET action = 'forged'`)).rejects.toThrow(/append-only/)
    await expect(db.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/)
    await expect(db.query('TRUNCATE audit_log')).rejects.toThrow(/append-only/)
    const after = await auditRepository.list(db, {
      workspaceId: 'default',
      includeGlobal: false,
      limit: 10,
    })
    expect(after).toEqual(all)
  })

  it('keeps e-mails unique case-insensitively and roles per workspace', async () => {
    const db = store.db
    const u = await usersRepository.insert(db, {
      id: 'usr_test000001',
      email: 'Mixed@Example.com',
      name: null,
      passwordHash: 'scrypt$x',
    })
    expect(u.email).toBe('mixed@example.com')
    await expect(
      usersRepository.insert(db, {
        id: 'usr_test000002',
        email: 'MIXED@example.com',
        name: null,
        passwordHash: 'x',
      }),
    ).rejects.toThrow()
    await usersRepository.setRole(db, 'default', u.id, 'editor')
    expect(await usersRepository.role(db, 'default', u.id)).toBe('editor')
    await expect(db.query(`UPDATE workspace_members SET role = 'root'`)).rejects.toThrow()
  })

  it('sign-in buckets: burst, refill by the clock, give back, clear and sweep', async () => {
    const db = store.db
    const limit = { burst: 3, everyMs: 10_000 }
    const t0 = new Date('2026-03-01T12:00:00Z')
    const at = (ms: number) => new Date(t0.getTime() + ms)
    const take = (ms: number) => loginAttemptsRepository.take(db, 'k1', limit, at(ms))
    expect((await take(0)).ok).toBe(true)
    expect((await take(0)).ok).toBe(true)
    const third = await take(0)
    expect(third).toEqual({ ok: true, fullAt: at(30_000) })
    // Refused: nothing taken, and the answer says when the bucket is full again.
    expect(await take(1_000)).toEqual({ ok: false, fullAt: at(30_000) })
    expect((await take(9_999)).ok).toBe(false)
    // One attempt comes back every 10 s.
    expect(await take(10_000)).toEqual({ ok: true, fullAt: at(40_000) })
    expect((await take(10_000)).ok).toBe(false)
    await loginAttemptsRepository.giveBack(db, 'k1', limit)
    expect((await take(10_000)).ok).toBe(true)
    await loginAttemptsRepository.clear(db, 'k1')
    expect(await take(10_000)).toEqual({ ok: true, fullAt: at(20_000) })
    // Long after, the bucket is full: the sweep deletes it, and a row still counting stays.
    await loginAttemptsRepository.take(db, 'k2', limit, at(100_000))
    expect(await loginAttemptsRepository.prune(db, at(105_000))).toBe(1)
    const left = await db.query<{ key: string }>('SELECT key FROM login_attempts')
    expect(left.rows.map((r) => r.key)).toEqual(['k2'])
  })
})
