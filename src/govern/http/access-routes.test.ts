import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { basic, startTestKindred, type TestKindred } from '../../testing/test-server.js'
import { createMember } from '../../cli/user-command.js'
import { redactSecrets } from '../../platform/http/audit.js'

let k: TestKindred
beforeAll(async () => {
  k = await startTestKindred()
})
afterAll(() => k.close())

const PASSWORD = 'correct horse battery'
type Json = Record<string, unknown>

async function call(
  path: string,
  init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await fetch(`${k.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      'content-type': 'application/json',
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  })
  const text = await res.text()
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {}, headers: res.headers }
}

async function addUser(email: string, role: string): Promise<void> {
  const res = await k.admin('/api/v1/users', { body: { email, password: PASSWORD, role } })
  expect(res.status, await res.clone().text()).toBe(201)
}

async function login(email: string, password = PASSWORD) {
  return call('/api/v1/auth/login', { body: { email, password } })
}

async function sessionOf(email: string, role: string): Promise<string> {
  await addUser(email, role)
  const res = await login(email)
  expect(res.status).toBe(200)
  return res.body.token as string
}

describe('users, roles and sessions', () => {
  it('signs in with e-mail and password: an HttpOnly SameSite=Strict cookie and a bearer token', async () => {
    await addUser('Owner@Example.com', 'owner')
    const res = await login('owner@example.com')
    expect(res.status).toBe(200)
    expect(res.body.token).toMatch(/^kss_/)
    const cookie = res.headers.get('set-cookie') ?? ''
    expect(cookie).toMatch(/^kindred_session=kss_/)
    expect(cookie).toContain('HttpOnly')
    expect(cookie).toContain('SameSite=Strict')
    const me = await call('/api/v1/me', { token: res.body.token as string })
    expect(me.body).toMatchObject({
      kind: 'user',
      role: 'owner',
      user: { email: 'owner@example.com' },
      workspaces: [{ workspaceId: 'default', role: 'owner' }],
    })
    const viaCookie = await call('/api/v1/me', {
      headers: { cookie: cookie.split(';')[0] as string },
    })
    expect(viaCookie.status).toBe(200)
    // Passwords are stored as scrypt hashes with their own salt.
    const rows = await k.kindred.store.db.query<{ password_hash: string }>(
      'SELECT password_hash FROM users',
    )
    expect(JSON.stringify(rows.rows)).not.toContain(PASSWORD)
    expect(rows.rows[0]?.password_hash).toMatch(/^scrypt\$/)
  })

  it('refuses a wrong password the same way as an unknown e-mail, and audits both', async () => {
    const wrong = await login('owner@example.com', 'not the password')
    const unknown = await login('nobody@example.com', 'not the password')
    expect(wrong.status).toBe(401)
    expect(unknown.status).toBe(401)
    expect(wrong.body).toEqual(unknown.body)
    const audit = await k.admin('/api/v1/audit?action=auth.login')
    const rows = ((await audit.json()) as { data: Json[] }).data
    expect(rows.filter((r) => r.outcome === 'failure').map((r) => r.actorLabel)).toEqual(
      expect.arrayContaining(['owner@example.com', 'nobody@example.com']),
    )
    expect(rows.some((r) => r.outcome === 'success')).toBe(true)
  })

  it('viewer reads but cannot change anything', async () => {
    const token = await sessionOf('viewer@example.com', 'viewer')
    expect((await call('/api/v1/sources', { token })).status).toBe(200)
    expect((await call('/api/v1/segments', { token })).status).toBe(200)
    const create = await call('/api/v1/sources', { token, body: { name: 'nope' } })
    expect(create.status).toBe(403)
    expect(create.body).toMatchObject({ error: { code: 'FORBIDDEN' } })
    expect((await call('/api/v1/identity/rules', { token, method: 'PUT', body: {} })).status).toBe(
      403,
    )
    expect((await call('/api/v1/audit', { token })).status).toBe(403)
    expect((await call('/api/v1/api-keys', { token })).status).toBe(403)
  })

  it('editor changes configuration but cannot manage sources, keys or users', async () => {
    const token = await sessionOf('editor@example.com', 'editor')
    const rules = await call('/api/v1/identity/rules', { token })
    expect(rules.status).toBe(200)
    const put = await call('/api/v1/identity/rules', { token, method: 'PUT', body: rules.body })
    expect(put.status).toBe(200)
    expect(
      (await call('/api/v1/api-keys', { token, body: { name: 'k', scopes: ['read:profiles'] } }))
        .status,
    ).toBe(403)
    expect(
      (
        await call('/api/v1/users', {
          token,
          body: { email: 'x@example.com', password: PASSWORD, role: 'viewer' },
        })
      ).status,
    ).toBe(403)
    expect((await call('/api/v1/sources', { token, body: { name: 'nope' } })).status).toBe(403)
  })

  it('admin manages members but cannot create owners or grant "admin"', async () => {
    const token = await sessionOf('admin@example.com', 'admin')
    const viewer = await call('/api/v1/users', {
      token,
      body: { email: 'v2@example.com', password: PASSWORD, role: 'viewer' },
    })
    expect(viewer.status).toBe(201)
    const owner = await call('/api/v1/users', {
      token,
      body: { email: 'o2@example.com', password: PASSWORD, role: 'owner' },
    })
    expect(owner.status).toBe(403)
    const promote = await call(`/api/v1/users/${viewer.body.id as string}`, {
      token,
      method: 'PATCH',
      body: { role: 'owner' },
    })
    expect(promote.status).toBe(403)
    const key = await call('/api/v1/api-keys', { token, body: { name: 'k', scopes: ['admin'] } })
    expect(key.status).toBe(403)
    expect(key.body).toMatchObject({ error: { details: { missing: ['admin'] } } })
    const members = await call('/api/v1/users', { token })
    const owners = (members.body.data as Json[]).filter((m) => m.role === 'owner')
    expect(owners).toHaveLength(1)
    // Admins cannot touch an owner at all.
    const demote = await call(`/api/v1/users/${owners[0]?.id as string}`, {
      token,
      method: 'DELETE',
    })
    expect(demote.status).toBe(403)
  })

  it('never removes or demotes the last owner', async () => {
    const members = (await (await k.admin('/api/v1/users')).json()) as { data: Json[] }
    const owner = members.data.find((m) => m.role === 'owner') as Json
    const del = await k.admin(`/api/v1/users/${owner.id as string}`, { method: 'DELETE' })
    expect(del.status).toBe(409)
    const demote = await k.admin(`/api/v1/users/${owner.id as string}`, {
      method: 'PATCH',
      body: { role: 'admin' },
    })
    expect(demote.status).toBe(409)
    const still = (await (await k.admin('/api/v1/users')).json()) as { data: Json[] }
    expect(still.data.find((m) => m.id === owner.id)?.role).toBe('owner')
  })

  it('sessions expire and logout revokes them (cookie cleared too)', async () => {
    const token = await sessionOf('temp@example.com', 'viewer')
    expect((await call('/api/v1/me', { token })).status).toBe(200)
    await k.kindred.store.db.query(
      `UPDATE user_sessions SET expires_at = now() - interval '1 second'
       WHERE user_id = (SELECT id FROM users WHERE email = 'temp@example.com')`,
    )
    const expired = await call('/api/v1/me', { token })
    expect(expired.status).toBe(401)

    const again = (await login('temp@example.com')).body.token as string
    const out = await call('/api/v1/auth/logout', { token: again, method: 'POST' })
    expect(out.status).toBe(200)
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0')
    expect((await call('/api/v1/me', { token: again })).status).toBe(401)
    // An API key is not a session: it cannot "log out".
    expect((await k.admin('/api/v1/auth/logout', { method: 'POST' })).status).toBe(400)
  })

  it('accepts the session cookie for changes only with the X-Kindred-Client header (CSRF)', async () => {
    const token = await sessionOf('csrf@example.com', 'admin')
    const cookie = `kindred_session=${token}`
    const bare = await call('/api/v1/sources', { body: { name: 'csrf' }, headers: { cookie } })
    expect(bare.status).toBe(403)
    const withHeader = await call('/api/v1/sources', {
      body: { name: 'csrf ok' },
      headers: { cookie, 'x-kindred-client': 'console' },
    })
    expect(withHeader.status).toBe(201)
    const sources = (await (await k.admin('/api/v1/sources')).json()) as { data: Json[] }
    expect(sources.data.map((s) => s.name)).not.toContain('csrf')
  })

  it('rate-limits sign-in attempts per IP and e-mail with 429 and Retry-After', async () => {
    await addUser('limited@example.com', 'viewer')
    const statuses: number[] = []
    let last: Awaited<ReturnType<typeof login>> | undefined
    for (let i = 0; i < 6; i++) {
      last = await login('limited@example.com', 'wrong password!')
      statuses.push(last.status)
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429])
    expect(Number(last?.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(last?.body).toMatchObject({ error: { code: 'RATE_LIMITED' } })
    // Even the right password waits now.
    expect((await login('limited@example.com')).status).toBe(429)
  })

  it('creates the first owner from the CLI helper', async () => {
    const m = await createMember(k.kindred.store.db, {
      email: 'cli@example.com',
      password: PASSWORD,
      role: 'owner',
      workspace: 'default',
    })
    expect(m.role).toBe('owner')
    expect((await login('cli@example.com')).status).toBe(200)
  })

  it('makes the first member of a workspace its owner when no role is given, later ones viewers', async () => {
    // A workspace made with the admin token has no owner yet, like `default` on a fresh install.
    const ws = await k.admin('/api/v1/workspaces', { body: { id: 'first-user', name: 'First' } })
    expect(ws.status).toBe(201)
    const add = (email: string, role?: string) =>
      k.admin('/api/v1/users', {
        headers: { 'x-kindred-workspace': 'first-user' },
        body: { email, password: PASSWORD, ...(role ? { role } : {}) },
      })
    const first = await add('first@example.com')
    expect(first.status).toBe(201)
    expect(await first.json()).toMatchObject({ email: 'first@example.com', role: 'owner' })
    const second = await add('second@example.com')
    expect(await second.json()).toMatchObject({ role: 'viewer' })
    // A role asked for is a role given.
    expect(await (await add('third@example.com', 'editor')).json()).toMatchObject({
      role: 'editor',
    })
    const bad = await add('fourth@example.com', 'superuser')
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED')
  })
})

describe('passwords', () => {
  const NEW_PASSWORD = 'a brand new passphrase'

  it('a signed-in user changes their password: other sessions end, this one stays', async () => {
    const current = await sessionOf('changer@example.com', 'viewer')
    const other = (await login('changer@example.com')).body.token as string
    const res = await call('/api/v1/me/password', {
      token: current,
      body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
    })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body).toEqual({ success: true, revokedSessions: 1 })
    expect((await call('/api/v1/me', { token: current })).status).toBe(200)
    expect((await call('/api/v1/me', { token: other })).status).toBe(401)
    expect((await login('changer@example.com')).status).toBe(401)
    expect((await login('changer@example.com', NEW_PASSWORD)).status).toBe(200)
  })

  it('refuses a wrong current password with 403 WRONG_PASSWORD and changes nothing', async () => {
    const token = await sessionOf('wrong-current@example.com', 'editor')
    const res = await call('/api/v1/me/password', {
      token,
      body: { currentPassword: 'not my password', newPassword: NEW_PASSWORD },
    })
    expect(res.status).toBe(403)
    expect(res.body).toMatchObject({ error: { code: 'WRONG_PASSWORD' } })
    expect((await login('wrong-current@example.com')).status).toBe(200)
    // The refusal is in the audit log, as the caller's denied attempt.
    const audit = await k.admin('/api/v1/audit?action=user.password.change')
    const rows = ((await audit.json()) as { data: Json[] }).data
    expect(rows[0]).toMatchObject({
      actorLabel: 'wrong-current@example.com',
      outcome: 'denied',
      status: 403,
    })
  })

  it('applies the password policy of new accounts, and the new password must differ', async () => {
    const token = await sessionOf('policy@example.com', 'viewer')
    for (const newPassword of ['short', 'x'.repeat(257), PASSWORD]) {
      const res = await call('/api/v1/me/password', {
        token,
        body: { currentPassword: PASSWORD, newPassword },
      })
      expect(res.status, newPassword.slice(0, 20)).toBe(400)
      expect(res.body).toMatchObject({ error: { code: 'VALIDATION_FAILED' } })
    }
    expect((await login('policy@example.com')).status).toBe(200)
  })

  it('an API key has no password to change: 403 with a clear message', async () => {
    const res = await k.admin('/api/v1/me/password', {
      body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
    })
    expect(res.status).toBe(403)
    const body = (await res.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('FORBIDDEN')
    expect(body.error.message).toMatch(/API keys/)
  })

  it('an admin resets a member’s password: all their sessions end', async () => {
    const admin = await sessionOf('resetter@example.com', 'admin')
    const victim = await sessionOf('forgetful@example.com', 'editor')
    const id = ((await call('/api/v1/me', { token: victim })).body.user as Json).id as string
    const res = await call(`/api/v1/users/${id}/password`, {
      token: admin,
      body: { newPassword: NEW_PASSWORD },
    })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body).toEqual({ id, email: 'forgetful@example.com', revokedSessions: 1 })
    expect((await call('/api/v1/me', { token: victim })).status).toBe(401)
    expect((await login('forgetful@example.com', NEW_PASSWORD)).status).toBe(200)
    const weak = await call(`/api/v1/users/${id}/password`, {
      token: admin,
      body: { newPassword: 'short' },
    })
    expect(weak.status).toBe(400)
    const missing = await call('/api/v1/users/user_doesnotexist/password', {
      token: admin,
      body: { newPassword: NEW_PASSWORD },
    })
    expect(missing.status).toBe(404)
  })

  it('nobody resets the password of a higher role, nor their own, nor another workspace’s owner', async () => {
    await addUser('reset-owner@example.com', 'owner')
    await addUser('reset-viewer@example.com', 'viewer')
    const admin = await sessionOf('reset-admin@example.com', 'admin')
    const editor = await sessionOf('reset-editor@example.com', 'editor')
    const members = (await call('/api/v1/users', { token: admin })).body.data as Json[]
    const idOf = (e: string) => members.find((m) => m.email === e)?.id as string
    const reset = (token: string, id: string) =>
      call(`/api/v1/users/${id}/password`, { token, body: { newPassword: NEW_PASSWORD } })
    const owner = idOf('reset-owner@example.com')
    const toOwner = await reset(admin, owner)
    expect(toOwner.status).toBe(403)
    expect(toOwner.body).toMatchObject({
      error: { code: 'FORBIDDEN', details: { missing: ['admin'] } },
    })
    expect((await reset(admin, idOf('reset-admin@example.com'))).status).toBe(403)
    expect((await reset(editor, idOf('reset-viewer@example.com'))).status).toBe(403)
    // An admin of this workspace may reset a viewer, but not one who owns another workspace:
    // the password opens that workspace too.
    expect((await reset(admin, idOf('reset-viewer@example.com'))).status).toBe(200)
    await k.admin('/api/v1/workspaces', { body: { id: 'elsewhere', name: 'Elsewhere' } })
    await k.admin('/api/v1/users', {
      // An existing account is added with its own password.
      body: { email: 'reset-viewer@example.com', password: NEW_PASSWORD, role: 'owner' },
      headers: { 'x-kindred-workspace': 'elsewhere' },
    })
    const twoHats = await reset(admin, idOf('reset-viewer@example.com'))
    expect(twoHats.status).toBe(403)
    expect(JSON.stringify(twoHats.body)).not.toContain('elsewhere')
    // Keys follow the same rule: a bound key with only write:users lacks an editor's scopes; a
    // bound admin key may reset an editor, but not the owner of another workspace; the admin
    // token (every workspace) may.
    const key = async (scopes: string[]) =>
      (
        (await (await k.admin('/api/v1/api-keys', { body: { name: 'users', scopes } })).json()) as {
          secret: string
        }
      ).secret
    const usersOnly = await key(['write:users'])
    const editorId = idOf('reset-editor@example.com')
    expect((await reset(usersOnly, editorId)).status).toBe(403)
    const boundAdmin = await key(['admin'])
    expect((await reset(boundAdmin, idOf('reset-viewer@example.com'))).status).toBe(403)
    expect((await reset(boundAdmin, editorId)).status).toBe(200)
    const byAdminToken = await k.admin(
      `/api/v1/users/${idOf('reset-viewer@example.com')}/password`,
      {
        body: { newPassword: NEW_PASSWORD },
      },
    )
    expect(byAdminToken.status).toBe(200)
    expect((await login('reset-viewer@example.com', NEW_PASSWORD)).status).toBe(200)
  })

  it('never writes a password into the audit log', async () => {
    const secret = 'audit must never see this one'
    const token = await sessionOf('audited-pw@example.com', 'viewer')
    const id = ((await call('/api/v1/me', { token })).body.user as Json).id as string
    expect(
      (
        await call('/api/v1/me/password', {
          token,
          body: { currentPassword: PASSWORD, newPassword: `${secret} 1` },
        })
      ).status,
    ).toBe(200)
    expect(
      (
        await call('/api/v1/me/password', {
          token,
          body: { currentPassword: 'wrong wrong wrong', newPassword: `${secret} 2` },
        })
      ).status,
    ).toBe(403)
    expect(
      (await k.admin(`/api/v1/users/${id}/password`, { body: { newPassword: `${secret} 3` } }))
        .status,
    ).toBe(200)
    const rows = await k.kindred.store.db.query<{ action: string; target_id: string }>(
      `SELECT * FROM audit_log WHERE target_id = $1 ORDER BY id`,
      [id],
    )
    expect(rows.rows.map((r) => r.action)).toEqual(
      expect.arrayContaining([
        'user.create',
        'user.password.change',
        'user.password.change',
        'user.password.reset',
      ]),
    )
    const all = await k.kindred.store.db.query('SELECT * FROM audit_log')
    const text = JSON.stringify(all.rows)
    expect(text).not.toContain(secret)
    expect(text).not.toContain(PASSWORD)
    expect(text).not.toContain('wrong wrong wrong')
    // And if a route ever put a body into before/after, the redaction would catch both names.
    expect(redactSecrets({ currentPassword: 'a', newPassword: 'b', name: 'c' })).toEqual({
      currentPassword: '[redacted]',
      newPassword: '[redacted]',
      name: 'c',
    })
  })
})

describe('workspaces', () => {
  it('only owners delete a workspace, named twice, and everything in it goes', async () => {
    const inGone = { 'x-kindred-workspace': 'gone' }
    expect(
      (await k.admin('/api/v1/workspaces', { body: { id: 'gone', name: 'Gone' } })).status,
    ).toBe(201)
    const src = await k.admin('/api/v1/sources', { body: { name: 'in gone' }, headers: inGone })
    expect(src.status).toBe(201)
    await k.admin('/api/v1/users', {
      body: { email: 'gone-admin@example.com', password: PASSWORD, role: 'admin' },
      headers: inGone,
    })
    const adminToken = (await login('gone-admin@example.com')).body.token as string
    const denied = await call('/api/v1/workspaces/gone', {
      token: adminToken,
      method: 'DELETE',
      body: { confirm: 'gone' },
      headers: inGone,
    })
    expect(denied.status).toBe(403)
    const unconfirmed = await k.admin('/api/v1/workspaces/gone', {
      method: 'DELETE',
      body: { confirm: 'nope' },
      headers: inGone,
    })
    expect(unconfirmed.status).toBe(400)
    const del = await k.admin('/api/v1/workspaces/gone', {
      method: 'DELETE',
      body: { confirm: 'gone' },
      headers: inGone,
    })
    expect(del.status).toBe(204)
    const left = await k.kindred.store.db.query(
      `SELECT (SELECT count(*)::int FROM sources WHERE workspace_id = 'gone') AS s,
              (SELECT count(*)::int FROM workspace_members WHERE workspace_id = 'gone') AS m,
              (SELECT count(*)::int FROM workspaces WHERE id = 'gone') AS w,
              (SELECT count(*)::int FROM audit_log WHERE workspace_id = 'gone'
                 AND action = 'workspace.delete' AND outcome = 'success') AS a`,
    )
    expect(left.rows[0]).toEqual({ s: 0, m: 0, w: 0, a: 1 })
    const def = await k.admin('/api/v1/workspaces/default', {
      method: 'DELETE',
      body: { confirm: 'default' },
    })
    expect(def.status).toBe(409)
  })
})

describe('API keys', () => {
  it('shows the secret once, stores it hashed, enforces scopes', async () => {
    const created = await k.admin('/api/v1/api-keys', {
      body: { name: 'reader', scopes: ['read:profiles'] },
    })
    expect(created.status).toBe(201)
    const key = (await created.json()) as { id: string; secret: string; scopes: string[] }
    expect(key.secret).toMatch(/^key_/)
    const list = await (await k.admin('/api/v1/api-keys')).text()
    expect(list).toContain(key.id)
    expect(list).not.toContain(key.secret)
    const stored = await k.kindred.store.db.query('SELECT * FROM api_keys')
    expect(JSON.stringify(stored.rows)).not.toContain(key.secret)

    expect((await call('/api/v1/profiles', { token: key.secret })).status).toBe(200)
    expect((await call('/api/v1/sources', { token: key.secret })).status).toBe(403)
    expect((await call('/api/v1/segments', { token: key.secret })).status).toBe(403)
    // A key cannot mint keys beyond its scopes (it lacks write:api-keys altogether).
    const mint = await call('/api/v1/api-keys', {
      token: key.secret,
      body: { name: 'x', scopes: ['admin'] },
    })
    expect(mint.status).toBe(403)
    const unknown = await k.admin('/api/v1/api-keys', { body: { name: 'x', scopes: ['root'] } })
    expect(unknown.status).toBe(400)

    const del = await k.admin(`/api/v1/api-keys/${key.id}`, { method: 'DELETE' })
    expect(del.status).toBe(204)
    expect((await call('/api/v1/profiles', { token: key.secret })).status).toBe(401)
  })

  it('a write:source key and a write key only ever write to their own source', async () => {
    const a = await k.createSource('A')
    const b = await k.createSource('B')
    const res = await k.admin('/api/v1/api-keys', {
      body: { name: 'ingest A', scopes: [`write:source:${a.id}`] },
    })
    const key = (await res.json()) as { secret: string }
    // The key is not an admin credential.
    expect((await call('/api/v1/sources', { token: key.secret })).status).toBe(403)
    const viaKey = await k.track(key.secret, '/v1/track', { userId: 'u1', event: 'Via key' })
    expect(viaKey.status).toBe(200)
    // B's write key in the body does not redirect A's write key (the header wins).
    const viaWriteKey = await k.track(a.writeKey, '/v1/track', {
      userId: 'u1',
      event: 'Via write key',
      writeKey: b.writeKey,
    })
    expect(viaWriteKey.status).toBe(200)
    let landed: string[] = []
    for (let i = 0; i < 100 && landed.length < 2; i++) {
      const rows = await k.kindred.store.db.query<{ source_id: string }>(
        `SELECT source_id FROM events WHERE event IN ('Via key', 'Via write key')`,
      )
      landed = rows.rows.map((r) => r.source_id)
      if (landed.length < 2) await new Promise((r) => setTimeout(r, 100))
    }
    expect(landed).toEqual([a.id, a.id])
    // Two sources in one key would be ambiguous.
    const two = await k.admin('/api/v1/api-keys', {
      body: { name: 'x', scopes: [`write:source:${a.id}`, `write:source:${b.id}`] },
    })
    expect(two.status).toBe(400)
    const foreign = await k.admin('/api/v1/api-keys', {
      body: { name: 'x', scopes: ['write:source:src_doesnotexist'] },
    })
    expect(foreign.status).toBe(404)
    // A key without a source scope is no write key.
    const reader = (await (
      await k.admin('/api/v1/api-keys', { body: { name: 'r', scopes: ['read:profiles'] } })
    ).json()) as { secret: string }
    expect((await k.track(reader.secret, '/v1/track', { userId: 'u', event: 'x' })).status).toBe(
      401,
    )
    void basic
  })
})

describe('audit log', () => {
  it('records each admin change with actor, target, before/after (secrets redacted)', async () => {
    const s = await k.createSource('Audited')
    await k.admin(`/api/v1/sources/${s.id}`, { method: 'PATCH', body: { name: 'Audited 2' } })
    const res = await k.admin(`/api/v1/audit?action=source.&limit=50`)
    expect(res.status).toBe(200)
    const rows = ((await res.json()) as { data: Json[] }).data.filter((r) => r.targetId === s.id)
    expect(rows.map((r) => r.action)).toEqual(['source.update', 'source.create'])
    const [update, create] = rows as [Json, Json]
    expect(create).toMatchObject({
      actorKind: 'key',
      workspaceId: 'default',
      targetType: 'source',
      outcome: 'success',
      status: 201,
      after: { name: 'Audited', writeKey: '[redacted]' },
    })
    expect(JSON.stringify(create)).not.toContain(s.writeKey)
    expect(update).toMatchObject({ before: { name: 'Audited' }, after: { name: 'Audited 2' } })
    expect(typeof update.requestId).toBe('string')
    expect(update.ip).toBeTruthy()
  })

  it('records refused attempts of identified callers', async () => {
    const token = (await login('viewer@example.com')).body.token as string
    await call('/api/v1/sources', { token, body: { name: 'nope' } })
    const rows = (
      (await (await k.admin('/api/v1/audit?action=source.create')).json()) as {
        data: Json[]
      }
    ).data
    expect(rows[0]).toMatchObject({
      actorKind: 'user',
      actorLabel: 'viewer@example.com',
      outcome: 'denied',
      status: 403,
    })
  })

  it('pages with a cursor and filters by actor and time', async () => {
    const page1 = (await (await k.admin('/api/v1/audit?limit=2')).json()) as {
      data: Json[]
      nextCursor: string
    }
    expect(page1.data).toHaveLength(2)
    const page2 = (await (
      await k.admin(`/api/v1/audit?limit=2&cursor=${page1.nextCursor}`)
    ).json()) as { data: Json[] }
    expect(Number(page2.data[0]?.id)).toBeLessThan(Number(page1.data[1]?.id))
    const future = (await (
      await k.admin(`/api/v1/audit?since=${encodeURIComponent('2999-01-01T00:00:00Z')}`)
    ).json()) as { data: Json[] }
    expect(future.data).toEqual([])
    const actor = String(page1.data[0]?.actorId)
    const byActor = (await (
      await k.admin(`/api/v1/audit?actor=${encodeURIComponent(actor)}`)
    ).json()) as { data: Json[] }
    expect(byActor.data.every((r) => r.actorId === actor)).toBe(true)
    expect((await k.admin('/api/v1/audit?since=yesterday')).status).toBe(400)
  })

  it('is append-only in the database: UPDATE, DELETE and TRUNCATE fail', async () => {
    const db = k.kindred.store.db
    const before = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log')
    await expect(db.query(`UPDATE audit_log SET action = 'x'`)).rejects.toThrow(/append-only/)
    await expect(db.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/)
    await expect(db.query('TRUNCATE audit_log')).rejects.toThrow(/append-only/)
    const after = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log')
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n)
  })
})

describe('hardening', () => {
  it('sends security headers and refuses oversized URLs and bodies with JSON errors', async () => {
    const res = await k.admin('/api/v1/me')
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('referrer-policy')).toBe('no-referrer')
    expect(res.headers.get('permissions-policy')).toContain('camera=()')
    const long = await k.admin(`/api/v1/sources?x=${'a'.repeat(9000)}`)
    expect(long.status).toBe(414)
    expect(await long.json()).toMatchObject({ error: { code: 'URI_TOO_LONG' } })
    const big = await k.admin('/api/v1/sources', { body: { name: 'x'.repeat(600_000) } })
    expect(big.status).toBe(413)
    expect(await big.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } })
  })
})

describe('hardening of sign-in, query tokens, members and PII settings', () => {
  it('takes a sign-in only as JSON, so another site cannot post one from a form', async () => {
    await addUser('csrf-login@example.com', 'viewer')
    const body = JSON.stringify({ email: 'csrf-login@example.com', password: PASSWORD })
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', '']) {
      const res = await fetch(`${k.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': type, origin: 'http://evil.example' },
        body,
      })
      expect(res.status, type).toBe(415)
      expect(res.headers.get('set-cookie')).toBeNull()
      expect(await res.json()).toMatchObject({ error: { code: 'UNSUPPORTED_ENCODING' } })
    }
    const ok = await fetch(`${k.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body,
    })
    expect(ok.status).toBe(200)
  })

  it('accepts ?token= on the live feed only', async () => {
    const token = await sessionOf('query-token@example.com', 'viewer')
    for (const t of [token, 'test-admin-token-0123456789']) {
      const res = await fetch(`${k.url}/api/v1/profiles?token=${encodeURIComponent(t)}`)
      expect(res.status).toBe(401)
      await res.arrayBuffer()
    }
    const { id } = await k.createSource('live by query')
    const controller = new AbortController()
    const live = await fetch(
      `${k.url}/api/v1/sources/${id}/events/live?token=${encodeURIComponent(token)}`,
      { signal: controller.signal },
    )
    expect(live.status).toBe(200)
    expect(live.headers.get('content-type')).toContain('text/event-stream')
    controller.abort()
  })

  it('answers the same for existing and new e-mails, and adds an account only with its password', async () => {
    await addUser('existing-member@example.com', 'viewer')
    await k.admin('/api/v1/workspaces', { body: { id: 'other-ws', name: 'Other' } })
    const inOther = { 'x-kindred-workspace': 'other-ws' }
    const add = (email: string, password?: string) =>
      call('/api/v1/users', {
        token: 'test-admin-token-0123456789',
        headers: inOther,
        body: { email, role: 'viewer', ...(password === undefined ? {} : { password }) },
      })
    const withoutExisting = await add('existing-member@example.com')
    const withoutNew = await add('nobody-here@example.com')
    expect(withoutExisting.status).toBe(400)
    expect(withoutExisting.body).toEqual(withoutNew.body)
    // A made-up password does not pull an existing account in.
    const guessed = await add('existing-member@example.com', 'a made-up password')
    expect(guessed.status).toBe(400)
    expect(JSON.stringify(guessed.body)).not.toMatch(/already|exists|has an account/)
    const members = await call('/api/v1/users', {
      token: 'test-admin-token-0123456789',
      headers: inOther,
    })
    const emails = (members.body.data as Json[]).map((m) => m.email)
    expect(emails).not.toContain('existing-member@example.com')
    // With its own password it is added (the person, or someone they told, adds it).
    expect((await add('existing-member@example.com', PASSWORD)).status).toBe(201)
  })

  it('lets only admins change PII retention and hashing', async () => {
    const editor = await sessionOf('pii-editor@example.com', 'editor')
    const admin = await sessionOf('pii-admin@example.com', 'admin')
    const put = (token: string) =>
      call('/api/v1/privacy/pii', { token, method: 'PUT', body: { retentionDays: 400 } })
    const refused = await put(editor)
    expect(refused.status).toBe(403)
    expect(refused.body).toMatchObject({ error: { code: 'FORBIDDEN' } })
    expect((await call('/api/v1/privacy/pii', { token: editor })).status).toBe(200)
    expect((await put(admin)).status).toBe(200)
  })
})
