import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStore, type Store } from '../platform/store/open-store.js'
import { sessionsRepository } from '../platform/store/repositories/sessions-repository.js'
import { usersRepository } from '../platform/store/repositories/users-repository.js'
import { verifyPassword } from '../govern/engine/passwords.js'
import {
  checkPassword,
  createMember,
  parseUserArgs,
  readPasswordLine,
  setUserPassword,
} from './user-command.js'

describe('kindred user: arguments', () => {
  it('parses `user password <email>` and refuses a password on the command line', () => {
    expect(parseUserArgs(['password', 'Owner@Example.com'])).toEqual({
      ok: true,
      command: 'password',
      options: { email: 'owner@example.com', passwordStdin: false, dataDir: undefined },
    })
    expect(
      parseUserArgs(['password', 'a@example.com', '--password-stdin', '--data-dir', '/d']),
    ).toMatchObject({ ok: true, options: { passwordStdin: true, dataDir: '/d' } })
    const inline = parseUserArgs(['password', 'a@example.com', '--password', 'hunter2hunter2'])
    expect(inline).toMatchObject({ ok: false, error: expect.stringContaining('stdin') })
    expect(parseUserArgs(['password'])).toMatchObject({ ok: false })
    expect(parseUserArgs(['password', 'not-an-email'])).toMatchObject({ ok: false })
    expect(parseUserArgs(['password', 'a@example.com', '--role', 'owner'])).toMatchObject({
      ok: false,
    })
  })

  it('`user create` takes exactly one of --password and --password-stdin', () => {
    const base = ['create', '--email', 'a@example.com', '--role', 'owner']
    expect(parseUserArgs([...base, '--password-stdin'])).toMatchObject({
      ok: true,
      command: 'create',
      options: { passwordStdin: true, workspace: 'default' },
    })
    expect(parseUserArgs([...base, '--password', 'long enough pw'])).toMatchObject({ ok: true })
    expect(parseUserArgs(base)).toMatchObject({ ok: false })
    expect(
      parseUserArgs([...base, '--password', 'long enough pw', '--password-stdin']),
    ).toMatchObject({ ok: false })
    expect(parseUserArgs([...base, '--password', 'short'])).toMatchObject({
      ok: false,
      error: expect.stringContaining('--password'),
    })
  })

  it('`user create` takes --role, or leaves it to the default', () => {
    const base = ['create', '--email', 'a@example.com', '--password-stdin']
    const noRole = parseUserArgs(base)
    expect(noRole).toMatchObject({ ok: true, command: 'create' })
    expect(noRole.ok && noRole.command === 'create' && noRole.options.role).toBeUndefined()
    expect(parseUserArgs([...base, '--role', 'editor'])).toMatchObject({
      ok: true,
      options: { role: 'editor' },
    })
    expect(parseUserArgs([...base, '--role', 'boss'])).toMatchObject({
      ok: false,
      error: expect.stringContaining('--role'),
    })
  })

  it('reads the first line of stdin without its line break, and checks the policy', async () => {
    expect(await readPasswordLine(Readable.from(['correct horse\r\n', 'ignored']))).toBe(
      'correct horse',
    )
    expect(await readPasswordLine(Readable.from(['no newline at all']))).toBe('no newline at all')
    expect(() => checkPassword('short')).toThrow(/at least 10/)
    expect(() => checkPassword('x'.repeat(257))).toThrow(/at most 256/)
  })
})

describe('kindred user create on a fresh store', () => {
  let store: Store
  beforeAll(async () => {
    store = await openStore({})
  }, 60_000)
  afterAll(() => store.close())

  it('makes the first user owner by default, later ones viewers, and keeps a member’s role', async () => {
    const create = (email: string, role?: 'admin') =>
      createMember(store.db, { email, password: 'long enough pw', role, workspace: 'default' })
    expect((await create('first@example.com')).role).toBe('owner')
    expect((await create('second@example.com')).role).toBe('viewer')
    expect((await create('third@example.com', 'admin')).role).toBe('admin')
    // Run again for an existing member (a new password): the role stays what it was.
    expect((await create('first@example.com')).role).toBe('owner')
    expect((await usersRepository.listMembers(store.db, 'default')).map((m) => m.role)).toEqual([
      'owner',
      'viewer',
      'admin',
    ])
  })
})

describe('kindred user password on a store', () => {
  let store: Store
  beforeAll(async () => {
    store = await openStore({})
  }, 60_000)
  afterAll(() => store.close())

  it('sets the password, ends every session, and records it in each workspace’s audit log', async () => {
    const member = await createMember(store.db, {
      email: 'lost@example.com',
      password: 'the forgotten one',
      role: 'owner',
      workspace: 'default',
    })
    const now = new Date()
    for (const id of ['session_a', 'session_b']) {
      await sessionsRepository.insert(store.db, {
        id,
        userId: member.id,
        tokenHash: `hash-${id}`,
        createdAt: now,
        expiresAt: new Date(now.getTime() + 60_000),
        ip: null,
        userAgent: null,
      })
    }
    const r = await setUserPassword(store.db, {
      email: 'LOST@example.com',
      password: 'remembered at last',
    })
    expect(r).toMatchObject({ revokedSessions: 2, workspaces: ['default'] })
    const found = await usersRepository.findByEmail(store.db, 'lost@example.com')
    expect(await verifyPassword('remembered at last', found?.passwordHash ?? '')).toBe(true)
    expect(await verifyPassword('the forgotten one', found?.passwordHash ?? '')).toBe(false)
    const live = await sessionsRepository.findLive(store.db, 'hash-session_a', new Date())
    expect(live).toBeUndefined()
    const audit = await store.db.query<{ actor_label: string; action: string; after: unknown }>(
      `SELECT actor_label, action, after FROM audit_log WHERE target_id = $1 ORDER BY id`,
      [member.id],
    )
    expect(audit.rows.at(-1)).toMatchObject({
      actor_label: 'kindred user password',
      action: 'user.password.reset',
    })
    expect(JSON.stringify(audit.rows)).not.toContain('remembered at last')
    await expect(
      setUserPassword(store.db, { email: 'nobody@example.com', password: 'whatever long' }),
    ).rejects.toThrow(/no user/)
    await expect(
      setUserPassword(store.db, { email: 'lost@example.com', password: 'short' }),
    ).rejects.toThrow(/at least 10/)
  })
})

// Spawns the CLI (tsx compiles on start): generous timeouts for a loaded 2-core machine.
describe('kindred user commands end to end', { timeout: 180_000 }, () => {
  const bin = path.resolve(import.meta.dirname, '../../bin/kindred.js')
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kindred-user-'))
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }))
  const run = (input: string, ...args: string[]) =>
    spawnSync(process.execPath, [bin, 'user', ...args, '--data-dir', dataDir], {
      encoding: 'utf8',
      input,
      env: { ...process.env, KINDRED_CONSOLE_BUILD: '0', DATABASE_URL: '' },
    })

  it('creates the first user as owner (no --role needed), then sets a new password from stdin', async () => {
    const created = run(
      'first password 1\n',
      'create',
      '--email',
      'only-owner@example.com',
      '--password-stdin',
    )
    expect(created.status, created.stderr).toBe(0)
    expect(created.stdout).toContain('only-owner@example.com is owner of workspace default')
    const weak = run('short\n', 'password', 'only-owner@example.com')
    expect(weak.status).toBe(1)
    expect(weak.stderr).toContain('at least 10')
    const reset = run('second password 2\n', 'password', 'only-owner@example.com')
    expect(reset.status, reset.stderr).toBe(0)
    expect(reset.stdout).toContain('new password set for only-owner@example.com')
    const store = await openStore({ dataDir })
    try {
      const found = await usersRepository.findByEmail(store.db, 'only-owner@example.com')
      expect(await verifyPassword('second password 2', found?.passwordHash ?? '')).toBe(true)
    } finally {
      await store.close()
    }
  })
})
