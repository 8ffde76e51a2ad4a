import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, TEST_ADMIN_TOKEN, type TestKindred } from '../../testing/test-server.js'
import { apiKeysRepository } from '../../platform/store/repositories/api-keys-repository.js'
import { workspacesRepository } from '../../platform/store/repositories/workspaces-repository.js'
import { sourcesRepository } from '../../platform/store/repositories/sources-repository.js'
import { hashSecret } from '../../platform/store/ids.js'

let k: TestKindred
beforeAll(async () => {
  k = await startTestKindred()
})
afterAll(() => k.close())

describe('admin API', () => {
  it('requires the admin bearer token', async () => {
    expect((await fetch(`${k.url}/api/v1/sources`)).status).toBe(401)
    const wrong = await fetch(`${k.url}/api/v1/sources`, {
      headers: { authorization: 'Bearer nope-nope-nope' },
    })
    expect(wrong.status).toBe(401)
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED')
    const me = await k.admin('/api/v1/me')
    expect(me.status).toBe(200)
    expect(await me.json()).toMatchObject({ workspace: { id: 'default' }, scopes: ['admin'] })
  })

  it('stores the admin token hashed', async () => {
    const dump = await k.kindred.store.db.query('SELECT * FROM api_keys')
    expect(JSON.stringify(dump.rows)).not.toContain(TEST_ADMIN_TOKEN)
  })

  it('creates, lists, reads, renames, rotates and deletes sources', async () => {
    const created = await k.admin('/api/v1/sources', { body: { name: 'Shop' } })
    expect(created.status).toBe(201)
    const source = (await created.json()) as {
      id: string
      name: string
      writeKey: string
      writeKeyPrefix: string
    }
    expect(source.name).toBe('Shop')
    expect(source.writeKey).toMatch(/^wk_[A-Za-z0-9]{32}$/)
    expect(source.writeKey.startsWith(source.writeKeyPrefix)).toBe(true)

    const stored = await k.kindred.store.db.query('SELECT * FROM sources')
    expect(JSON.stringify(stored.rows)).not.toContain(source.writeKey)

    const list = (await (await k.admin('/api/v1/sources')).json()) as {
      data: { id: string; writeKey?: string }[]
    }
    expect(list.data.map((s) => s.id)).toContain(source.id)
    expect(list.data.every((s) => s.writeKey === undefined)).toBe(true)

    const got = await k.admin(`/api/v1/sources/${source.id}`)
    expect(((await got.json()) as { name: string }).name).toBe('Shop')

    const patched = await k.admin(`/api/v1/sources/${source.id}`, {
      method: 'PATCH',
      body: { name: 'Shop EU' },
    })
    expect(((await patched.json()) as { name: string }).name).toBe('Shop EU')

    expect((await k.track(source.writeKey, '/v1/track', { userId: 'u', event: 'e' })).status).toBe(
      200,
    )
    const rotated = (await (
      await k.admin(`/api/v1/sources/${source.id}`, {
        method: 'PATCH',
        body: { rotateWriteKey: true },
      })
    ).json()) as { writeKey: string }
    expect(rotated.writeKey).not.toBe(source.writeKey)
    expect((await k.track(source.writeKey, '/v1/track', { userId: 'u', event: 'e' })).status).toBe(
      401,
    )
    expect((await k.track(rotated.writeKey, '/v1/track', { userId: 'u', event: 'e' })).status).toBe(
      200,
    )

    expect((await k.admin(`/api/v1/sources/${source.id}`, { method: 'DELETE' })).status).toBe(204)
    expect((await k.admin(`/api/v1/sources/${source.id}`)).status).toBe(404)
    expect((await k.track(rotated.writeKey, '/v1/track', { userId: 'u', event: 'e' })).status).toBe(
      401,
    )
  })

  it('validates bodies with clear errors', async () => {
    const empty = await k.admin('/api/v1/sources', { body: { name: '' } })
    expect(empty.status).toBe(400)
    const err = ((await empty.json()) as { error: { code: string; details: { path: string }[] } })
      .error
    expect(err.code).toBe('VALIDATION_FAILED')
    expect(err.details[0]?.path).toBe('name')
    const bad = await fetch(`${k.url}/api/v1/sources`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
      body: '{nope',
    })
    expect(bad.status).toBe(400)
    const limit = await k.admin('/api/v1/sources', {
      body: { name: 'x', settings: { rateLimit: { eventsPerSecond: -1, burst: 1 } } },
    })
    expect(limit.status).toBe(400)
    expect(
      (await k.admin('/api/v1/sources/src_missing', { method: 'PATCH', body: { name: 'x' } }))
        .status,
    ).toBe(404)
  })

  it('keeps workspaces apart', async () => {
    const db = k.kindred.store.db
    await workspacesRepository.create(db, 'ws_acme', 'Acme')
    const acmeToken = 'acme-token-0123456789abcdef'
    await apiKeysRepository.insert(db, {
      id: 'key_acme',
      workspaceId: 'ws_acme',
      name: 'acme',
      keyHash: hashSecret(acmeToken),
      keyPrefix: 'acme',
      scopes: ['admin'],
    })
    const defaultSource = await k.createSource('Default only')
    const asAcme = (path: string, init: RequestInit = {}) =>
      fetch(`${k.url}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${acmeToken}`, ...(init.headers ?? {}) },
      })

    const me = (await (await asAcme('/api/v1/me')).json()) as { workspace: { id: string } }
    expect(me.workspace.id).toBe('ws_acme')
    expect(((await (await asAcme('/api/v1/sources')).json()) as { data: unknown[] }).data).toEqual(
      [],
    )
    expect((await asAcme(`/api/v1/sources/${defaultSource.id}`)).status).toBe(404)
    expect((await asAcme(`/api/v1/sources/${defaultSource.id}`, { method: 'DELETE' })).status).toBe(
      404,
    )
    expect(
      (await asAcme('/api/v1/sources', { headers: { 'x-kindred-workspace': 'default' } })).status,
    ).toBe(403)
    const ws = (await (await asAcme('/api/v1/workspaces')).json()) as { data: { id: string }[] }
    expect(ws.data.map((w) => w.id)).toEqual(['ws_acme'])
    // The instance admin sees both, and picks one with the header.
    const all = (await (await k.admin('/api/v1/workspaces')).json()) as { data: { id: string }[] }
    expect(all.data.map((w) => w.id)).toEqual(expect.arrayContaining(['default', 'ws_acme']))
    const acmeSources = (await (
      await k.admin('/api/v1/sources', { headers: { 'x-kindred-workspace': 'ws_acme' } })
    ).json()) as { data: unknown[] }
    expect(acmeSources.data).toEqual([])
  })
})

// Write keys seen again and rotated with an overlap. The clock is handed in and moved by hand:
// an overlap ends because time passed, never because the test slept.
describe('write keys: viewing and rotation', () => {
  let w: TestKindred
  let now = new Date()
  const advance = (seconds: number) => {
    now = new Date(now.getTime() + seconds * 1000)
  }
  interface KeyView {
    id: string | null
    status: 'current' | 'retiring'
    prefix: string
    writeKey: string | null
    unavailable?: string
    issuedAt: string
    expiresAt: string | null
  }
  const keysOf = async (id: string) => {
    const res = await w.admin(`/api/v1/sources/${id}/write-keys`)
    expect(res.status).toBe(200)
    return ((await res.json()) as { data: KeyView[] }).data
  }
  const rotate = async (id: string, body: unknown = {}) =>
    w.admin(`/api/v1/sources/${id}/rotate-key`, { body })
  const sends = async (writeKey: string) =>
    (await w.track(writeKey, '/v1/track', { userId: 'u', event: 'e' })).status
  const asKey = async (scopes: string[]) => {
    const token = `scoped-${scopes.join('-')}-0123456789abcdef`
    await apiKeysRepository.insert(w.kindred.store.db, {
      id: `key_${scopes.join('_').replace(/[^a-z_]/g, '')}`,
      workspaceId: 'default',
      name: scopes.join(' '),
      keyHash: hashSecret(token),
      keyPrefix: token.slice(0, 10),
      scopes,
    })
    return (path: string, init: RequestInit = {}) =>
      fetch(`${w.url}${path}`, { ...init, headers: { authorization: `Bearer ${token}` } })
  }

  beforeAll(async () => {
    w = await startTestKindred({ clock: () => now })
  })
  afterAll(() => w.close())

  it('shows the write key again to members who manage sources, never to readers', async () => {
    const created = await w.createSource('Viewable')
    const keys = await keysOf(created.id)
    expect(keys).toEqual([
      {
        id: null,
        status: 'current',
        prefix: created.writeKey.slice(0, 10),
        writeKey: created.writeKey,
        issuedAt: expect.any(String),
        expiresAt: null,
      },
    ])
    // At rest it is sealed: neither the key nor its hash-free plain form is in the row.
    const stored = await w.kindred.store.db.query('SELECT * FROM sources WHERE id = $1', [
      created.id,
    ])
    expect(JSON.stringify(stored.rows)).not.toContain(created.writeKey)
    expect(String((stored.rows[0] as { write_key_sealed: string }).write_key_sealed)).toMatch(
      /^enc:v1:/,
    )

    const reader = await asKey(['read:sources'])
    expect((await reader(`/api/v1/sources/${created.id}`)).status).toBe(200)
    const refused = await reader(`/api/v1/sources/${created.id}/write-keys`)
    expect(refused.status).toBe(403)
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN')
    const manager = await asKey(['write:sources'])
    expect((await manager(`/api/v1/sources/${created.id}/write-keys`)).status).toBe(200)

    // Who saw the key is recorded; the audit row itself holds no key.
    const audit = await w.kindred.store.db.query(
      `SELECT * FROM audit_log WHERE action = 'source.write-key.view' AND target_id = $1`,
      [created.id],
    )
    expect(audit.rows.length).toBe(2)
    expect(JSON.stringify(audit.rows)).not.toContain(created.writeKey)
  })

  it('rotates: the old key works through the overlap, then stops, also from the cache', async () => {
    const { id, writeKey: first } = await w.createSource('Rotating')
    const res = await rotate(id)
    expect(res.status).toBe(200)
    const rotated = (await res.json()) as {
      source: { writeKeyPrefix: string }
      writeKey: string
      keys: KeyView[]
    }
    const second = rotated.writeKey
    expect(second).toMatch(/^wk_/)
    expect(second).not.toBe(first)
    expect(rotated.source.writeKeyPrefix).toBe(second.slice(0, 10))
    const day = 24 * 3600
    expect(rotated.keys.map((k) => [k.status, k.writeKey, k.expiresAt])).toEqual([
      ['current', second, null],
      ['retiring', first, new Date(now.getTime() + day * 1000).toISOString()],
    ])
    expect(await sends(first)).toBe(200)
    expect(await sends(second)).toBe(200)

    advance(day - 5)
    expect(await sends(first)).toBe(200)
    // 10 s on, the old key's entry is still in the 30 s key cache, which must notice the expiry.
    advance(10)
    expect(await sends(first)).toBe(401)
    expect(await sends(second)).toBe(200)
    expect((await keysOf(id)).map((k) => k.writeKey)).toEqual([second])

    const audit = await w.kindred.store.db.query(
      `SELECT after FROM audit_log WHERE action = 'source.write-key.rotate' AND target_id = $1`,
      [id],
    )
    expect(audit.rows).toHaveLength(1)
    expect(audit.rows[0]).toMatchObject({
      after: {
        prefix: second.slice(0, 10),
        retiredPrefix: first.slice(0, 10),
        overlapSeconds: day,
      },
    })
    expect(JSON.stringify(audit.rows)).not.toContain(first)
    expect(JSON.stringify(audit.rows)).not.toContain(second)
  })

  it('takes a shorter overlap, zero, and an early stop of a retiring key', async () => {
    const { id, writeKey: first } = await w.createSource('Short overlap')
    const second = (
      (await (await rotate(id, { overlapSeconds: 60 })).json()) as { writeKey: string }
    ).writeKey
    const third = ((await (await rotate(id, { overlapSeconds: 0 })).json()) as { writeKey: string })
      .writeKey
    // Zero: the second key stopped at once; the first keeps the overlap it was given.
    expect(await sends(second)).toBe(401)
    expect(await sends(first)).toBe(200)
    expect(await sends(third)).toBe(200)
    const keys = await keysOf(id)
    expect(keys.map((k) => k.writeKey)).toEqual([third, first])
    const retiring = keys[1]?.id as string
    expect(retiring).toMatch(/^rwk_/)

    const stop = await w.admin(`/api/v1/sources/${id}/write-keys/${retiring}`, { method: 'DELETE' })
    expect(stop.status).toBe(204)
    expect(await sends(first)).toBe(401)
    const again = await w.admin(`/api/v1/sources/${id}/write-keys/${retiring}`, {
      method: 'DELETE',
    })
    expect(again.status).toBe(404)
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND')
  })

  it('refuses overlaps out of bounds and unknown sources with the error shape', async () => {
    const { id } = await w.createSource('Bounds')
    for (const overlapSeconds of [-1, 7 * 24 * 3600 + 1, 1.5, '60']) {
      const res = await rotate(id, { overlapSeconds })
      expect(res.status).toBe(400)
      const { error } = (await res.json()) as {
        error: { code: string; message: string; details: { path: string }[] }
      }
      expect(error.code).toBe('VALIDATION_FAILED')
      expect(error.details[0]?.path).toBe('overlapSeconds')
    }
    expect((await rotate(id, { overlapSeconds: 7 * 24 * 3600 })).status).toBe(200)
    const missing = await rotate('src_missing')
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND')
    expect((await w.admin('/api/v1/sources/src_missing/write-keys')).status).toBe(404)
  })

  it('says a key kept only as a hash cannot be shown, and a rotation makes one that can', async () => {
    // As sources made before keys were sealed: the store has the hash and nothing else.
    const old = 'wk_madebeforesealing0123456789abc'
    await sourcesRepository.insert(w.kindred.store.db, {
      id: 'src_hash_only',
      workspaceId: 'default',
      name: 'Old',
      writeKeyHash: hashSecret(old),
      writeKeyPrefix: old.slice(0, 10),
      settings: {},
    })
    expect(await keysOf('src_hash_only')).toEqual([
      expect.objectContaining({ writeKey: null, unavailable: 'hash_only' }),
    ])
    expect(await sends(old)).toBe(200)
    const fresh = ((await (await rotate('src_hash_only')).json()) as { writeKey: string }).writeKey
    const keys = await keysOf('src_hash_only')
    expect(keys.map((k) => [k.writeKey, k.unavailable])).toEqual([
      [fresh, undefined],
      [null, 'hash_only'],
    ])
    expect(await sends(old)).toBe(200)
  })
})
