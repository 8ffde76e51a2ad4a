import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, TEST_ADMIN_TOKEN, type TestKindred } from '../../testing/test-server.js'
import { apiKeysRepository } from '../../platform/store/repositories/api-keys-repository.js'
import { workspacesRepository } from '../../platform/store/repositories/workspaces-repository.js'
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
