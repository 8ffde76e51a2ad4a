/**
 * The admin token over restarts: rotating KINDRED_ADMIN_TOKEN retires the old one, keys for every
 * workspace are listed and revoked through the API (by such a key or an owner of the default
 * workspace) and with `kindred token revoke`, and nothing revoked comes back on a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pino from 'pino'
import { afterAll, describe, expect, it } from 'vitest'
import { startKindred, type Kindred } from '../app/runtime.js'
import { openStore } from '../platform/store/open-store.js'
import { listGlobalTokens, parseTokenArgs, revokeGlobalToken } from './token-command.js'

const OLD = 'old-admin-token-0123456789abcdef'
const NEW = 'new-admin-token-0123456789abcdef'
const dir = mkdtempSync(path.join(tmpdir(), 'kindred-token-'))

afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function start(adminToken?: string): Promise<Kindred> {
  return startKindred({
    port: 0,
    host: '127.0.0.1',
    dataDir: dir,
    adminToken,
    logger: pino({ level: 'silent' }),
    consoleDir: '/nonexistent',
  })
}

async function status(k: Kindred, token: string, pathname = '/api/v1/me', method = 'GET') {
  const res = await fetch(`${k.url}${pathname}`, {
    method,
    headers: { authorization: `Bearer ${token}` },
  })
  await res.arrayBuffer()
  return res.status
}

describe('kindred token: arguments', () => {
  it('parses list and revoke <id>', () => {
    expect(parseTokenArgs(['list'])).toEqual({ ok: true, command: 'list', dataDir: undefined })
    expect(parseTokenArgs(['revoke', 'key_abc', '--data-dir', '/d'])).toEqual({
      ok: true,
      command: 'revoke',
      id: 'key_abc',
      dataDir: '/d',
    })
    expect(parseTokenArgs(['revoke'])).toMatchObject({ ok: false })
    expect(parseTokenArgs(['revoke', 'key_a', 'key_b'])).toMatchObject({ ok: false })
    expect(parseTokenArgs(['revoke', "key_a' OR 1=1"])).toMatchObject({ ok: false })
    expect(parseTokenArgs(['rotate'])).toMatchObject({ ok: false })
  })
})

describe('admin token rotation and revocation across restarts', () => {
  it('retires a rotated token, revokes global keys, and keeps them revoked', async () => {
    // A first start without the variable: a token is generated.
    let k = await start()
    const generated = k.generatedAdminToken as string
    expect(generated).toEqual(expect.any(String))
    await k.close()

    k = await start(OLD)
    expect(await status(k, OLD)).toBe(200)
    expect(await status(k, generated)).toBe(200)
    await k.close()

    // Rotated: the old token is dead, the new one and the generated one (not from the env) live.
    k = await start(NEW)
    expect(await status(k, OLD)).toBe(401)
    expect(await status(k, NEW)).toBe(200)
    const listed = await fetch(`${k.url}/api/v1/global-keys`, {
      headers: { authorization: `Bearer ${NEW}` },
    })
    expect(listed.status).toBe(200)
    const keys = ((await listed.json()) as { data: { id: string; origin: string }[] }).data
    expect(keys.map((x) => x.origin).sort()).toEqual(['env', 'generated'])
    const generatedId = keys.find((x) => x.origin === 'generated')?.id as string
    const envId = keys.find((x) => x.origin === 'env')?.id as string

    // The workspace key API does not reach them; this one does.
    expect(await status(k, NEW, `/api/v1/api-keys/${generatedId}`, 'DELETE')).toBe(404)
    expect(await status(k, NEW, `/api/v1/global-keys/${generatedId}`, 'DELETE')).toBe(204)
    expect(await status(k, generated)).toBe(401)
    // The last admin key is not taken through the API.
    expect(await status(k, NEW, `/api/v1/global-keys/${envId}`, 'DELETE')).toBe(409)
    expect(await status(k, NEW)).toBe(200)
    await k.close()

    // From the host: the env token itself.
    const store = await openStore({ dataDir: dir })
    try {
      expect((await revokeGlobalToken(store.db, envId)).origin).toBe('env')
      expect(await listGlobalTokens(store.db)).toEqual([])
      await expect(revokeGlobalToken(store.db, envId)).rejects.toThrow(/no live key/)
    } finally {
      await store.close()
    }

    // Restarted with the same variable: revoked stays revoked, and so does the generated key.
    k = await start(NEW)
    try {
      expect(await status(k, NEW)).toBe(401)
      expect(await status(k, generated)).toBe(401)
      expect(await status(k, OLD)).toBe(401)
    } finally {
      await k.close()
    }
  }, 120_000)
})
