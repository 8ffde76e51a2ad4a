/**
 * Access control over HTTP: sign-in sessions, workspace members and their roles, scoped API keys,
 * and the audit log. Scopes and roles are defined once in `src/protocol/scopes.ts`.
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { KindredError } from '../../protocol/errors.js'
import type { Queryable } from '../../platform/store/db.js'
import {
  isKnownScope,
  roleScopes,
  scopeCatalog,
  scopesBeyond,
  sourceOfScope,
  userRoles,
  type UserRole,
} from '../../protocol/scopes.js'
import {
  apiKeysRepository,
  type ApiKey,
} from '../../platform/store/repositories/api-keys-repository.js'
import { auditRepository } from '../../platform/store/repositories/audit-repository.js'
import { sessionsRepository } from '../../platform/store/repositories/sessions-repository.js'
import { sourcesRepository } from '../../platform/store/repositories/sources-repository.js'
import { usersRepository, type User } from '../../platform/store/repositories/users-repository.js'
import {
  DEFAULT_WORKSPACE_ID,
  workspacesRepository,
} from '../../platform/store/repositories/workspaces-repository.js'
import { hashSecret, newSecret, secretPrefix } from '../../platform/store/ids.js'
import { SESSION_COOKIE, type Auth, type Principal } from '../../platform/http/auth.js'
import { annotateAudit, writeAudit } from '../../platform/http/audit.js'
import type { AppContext } from '../../platform/http/context.js'
import { jsonBody, notFound, parseQuery } from '../../platform/http/http-helpers.js'
import { createLoginThrottle } from '../engine/login-throttle.js'
import {
  DUMMY_PASSWORD_HASH,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  hashPassword,
  newPasswordSchema,
  verifyPassword,
} from '../engine/passwords.js'

const DEFAULT_SESSION_TTL_MS = 12 * 60 * 60 * 1000

const email = z.string().trim().toLowerCase().email().max(320)
const password = newPasswordSchema
const role = z.enum(userRoles)
const loginSchema = z.object({
  email: z.string().trim().min(1).max(320),
  password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
})
const createUserSchema = z.object({
  email,
  password: password.optional(),
  name: z.string().trim().min(1).max(200).optional(),
  role,
})
const patchUserSchema = z.object({ role })
const changePasswordSchema = z
  .object({
    currentPassword: z.string().min(1).max(PASSWORD_MAX_LENGTH),
    newPassword: password,
  })
  .refine((b) => b.newPassword !== b.currentPassword, {
    message: 'the new password must differ from the current one',
    path: ['newPassword'],
  })
const resetPasswordSchema = z.object({ newPassword: password })
const createKeySchema = z.object({
  name: z.string().trim().min(1).max(200),
  scopes: z.array(z.string().min(1).max(100)).min(1).max(40),
})
const idParams = z.object({ id: z.string().min(1).max(100) })
const auditQuery = z.object({
  cursor: z
    .string()
    .regex(/^\d{1,19}$/, 'a cursor from a previous page')
    .optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  actor: z.string().min(1).max(100).optional(),
  action: z
    .string()
    .regex(/^[a-z0-9.-]{1,100}$/, 'an action like "source.create" or "source."')
    .optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
})
const createWorkspaceSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'lower-case letters, digits and dashes'),
  name: z.string().trim().min(1).max(200),
})

/**
 * Every table with a workspace_id (partitions through their parent, the audit log excluded),
 * children before the tables their foreign keys point at, so deletes never trip a constraint.
 */
async function workspaceTablesInDeleteOrder(db: Queryable): Promise<string[]> {
  const tables = await db.query<{ table_name: string }>(
    `SELECT c.table_name FROM information_schema.columns c
     JOIN pg_class k ON k.relname = c.table_name AND k.relnamespace = 'public'::regnamespace
     WHERE c.table_schema = 'public' AND c.column_name = 'workspace_id'
       AND k.relkind IN ('r', 'p') AND NOT k.relispartition AND c.table_name <> 'audit_log'`,
  )
  const fks = await db.query<{ child: string; parent: string }>(
    `SELECT cl.relname AS child, pa.relname AS parent FROM pg_constraint co
     JOIN pg_class cl ON cl.oid = co.conrelid JOIN pg_class pa ON pa.oid = co.confrelid
     WHERE co.contype = 'f' AND cl.relname <> pa.relname`,
  )
  const names = new Set(tables.rows.map((r) => r.table_name))
  const order: string[] = []
  const visit = (t: string, seen: Set<string>) => {
    if (order.includes(t) || seen.has(t)) return
    seen.add(t)
    // Tables referencing `t` first.
    for (const fk of fks.rows) if (fk.parent === t && names.has(fk.child)) visit(fk.child, seen)
    order.push(t)
  }
  for (const t of [...names].sort()) visit(t, new Set())
  return order
}

const actorRef = (p: Principal) => `${p.kind}:${p.id}`
const keyView = (k: ApiKey) => ({
  id: k.id,
  name: k.name,
  keyPrefix: k.keyPrefix,
  scopes: k.scopes,
  createdAt: k.createdAt,
  createdBy: k.createdBy,
})

function assertCanGrant(
  principal: Pick<Principal, 'scopes'>,
  wanted: readonly string[],
  what: string,
): void {
  const beyond = scopesBeyond(principal.scopes, wanted)
  if (beyond.length > 0) {
    throw new KindredError('FORBIDDEN', `you cannot ${what}: you lack ${beyond.join(', ')}`, {
      details: { missing: beyond },
    })
  }
}

export function registerAccessRoutes(app: FastifyInstance, ctx: AppContext, auth: Auth): void {
  const ttlMs = ctx.config.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS
  const { db } = ctx
  // In the database, not in memory: every node counts against the same buckets.
  const throttle = createLoginThrottle(db, ctx.clock, ctx.config.loginLimits)

  function sessionCookie(req: FastifyRequest, value: string, maxAgeSeconds: number): string {
    const secure = req.protocol === 'https' ? '; Secure' : ''
    return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`
  }

  async function meOf(user: User) {
    return { user, workspaces: await usersRepository.memberships(db, user.id) }
  }

  app.post('/api/v1/auth/login', async (req, reply) => {
    // A cross-site form can post text/plain or urlencoded but not JSON without a CORS preflight
    // (never granted here), so this keeps other sites from signing a visitor into their account.
    if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
      throw new KindredError(
        'UNSUPPORTED_ENCODING',
        'send the sign-in as JSON: "Content-Type: application/json"',
      )
    }
    const body = jsonBody(req, loginSchema)
    const who = body.email.toLowerCase()
    const attempt = await throttle.begin(req.ip, who)
    const found = await usersRepository.findByEmail(db, who)
    // Verified even for an unknown e-mail, so both answers take the same time.
    const ok = await verifyPassword(body.password, found?.passwordHash ?? DUMMY_PASSWORD_HASH)
    if (!found || !ok) {
      await writeAudit(
        db,
        req,
        {
          action: 'auth.login',
          workspaceId: null,
          outcome: 'failure',
          status: 401,
          actor: { kind: found ? 'user' : 'anonymous', id: found?.user.id ?? null, label: who },
        },
        ctx.clock,
      )
      throw new KindredError('UNAUTHORIZED', 'e-mail or password is wrong')
    }
    await attempt.succeeded()
    const token = newSecret('sessionToken')
    const createdAt = ctx.clock()
    const session = await db.transaction(async (tx) => {
      const s = await sessionsRepository.insert(tx, {
        id: ctx.newId('session'),
        userId: found.user.id,
        tokenHash: hashSecret(token),
        createdAt,
        expiresAt: new Date(createdAt.getTime() + ttlMs),
        ip: req.ip,
        userAgent: (req.headers['user-agent'] ?? '').slice(0, 300) || null,
      })
      await writeAudit(
        tx,
        req,
        {
          action: 'auth.login',
          workspaceId: null,
          status: 200,
          actor: { kind: 'user', id: found.user.id, label: found.user.email },
          target: { type: 'session', id: s.id },
        },
        ctx.clock,
      )
      return s
    })
    void reply.header('Set-Cookie', sessionCookie(req, token, Math.floor(ttlMs / 1000)))
    return { token, expiresAt: session.expiresAt, ...(await meOf(found.user)) }
  })

  app.post('/api/v1/auth/logout', async (req, reply) => {
    const principal = await auth.identify(req)
    if (principal.kind !== 'user' || !principal.sessionId) {
      throw new KindredError(
        'VALIDATION_FAILED',
        'only a session can sign out; revoke API keys with DELETE /api/v1/api-keys/:id',
      )
    }
    const sessionId = principal.sessionId
    await db.transaction(async (tx) => {
      await sessionsRepository.revoke(tx, sessionId, ctx.clock())
      await writeAudit(
        tx,
        req,
        {
          action: 'auth.logout',
          workspaceId: null,
          status: 200,
          actor: { kind: 'user', id: principal.id, label: principal.label },
          target: { type: 'session', id: sessionId },
        },
        ctx.clock,
      )
    })
    void reply.header('Set-Cookie', sessionCookie(req, '', 0))
    return { success: true }
  })

  app.get('/api/v1/me', async (req) => {
    const { workspaceId, principal } = await auth.admin(req, null)
    const workspace = await workspacesRepository.get(db, workspaceId)
    if (!workspace) throw notFound(`workspace ${workspaceId}`)
    return {
      workspace: { id: workspace.id, name: workspace.name },
      scopes: principal.scopes,
      kind: principal.kind,
      ...(principal.kind === 'key'
        ? { keyId: principal.id }
        : { role: principal.role, ...(principal.user ? await meOf(principal.user) : {}) }),
    }
  })

  // Changing one's own password: a session only (an API key has no password), the current password
  // checked and throttled like a sign-in (a stolen session must not become a way to guess it), and
  // every other session of the user ended with the change.
  app.post('/api/v1/me/password', async (req) => {
    const { principal } = await auth.admin(req, null)
    annotateAudit(req, {
      action: 'user.password.change',
      target: { type: 'user', id: principal.id },
    })
    const sessionId = principal.kind === 'user' ? principal.sessionId : undefined
    if (sessionId === undefined) {
      throw new KindredError(
        'FORBIDDEN',
        'only a signed-in user has a password to change: API keys and the admin token have none (revoke and re-create a key instead)',
      )
    }
    const body = jsonBody(req, changePasswordSchema)
    const attempt = await throttle.begin(req.ip, principal.label.toLowerCase())
    const stored = await usersRepository.passwordHashOf(db, principal.id)
    if (stored === undefined || !(await verifyPassword(body.currentPassword, stored))) {
      throw new KindredError('WRONG_PASSWORD', 'the current password is wrong')
    }
    await attempt.succeeded()
    const passwordHash = await hashPassword(body.newPassword)
    const revokedSessions = await db.transaction(async (tx) => {
      // Only over the hash that was checked: a concurrent change wins, this one is refused.
      if (!(await usersRepository.setPassword(tx, principal.id, passwordHash, stored))) {
        throw new KindredError('CONFLICT', 'the password was changed meanwhile; sign in again')
      }
      return sessionsRepository.revokeAllOfUser(tx, principal.id, ctx.clock(), sessionId)
    })
    return { success: true, revokedSessions }
  })

  app.get('/api/v1/workspaces', async (req) => {
    const { principal, workspaceId } = await auth.admin(req, null)
    const ids =
      principal.kind === 'user'
        ? (await usersRepository.memberships(db, principal.id)).map((m) => m.workspaceId)
        : principal.boundWorkspaceId === null
          ? undefined
          : [workspaceId]
    const list = await workspacesRepository.list(db, ids)
    return { data: list.map((w) => ({ id: w.id, name: w.name, createdAt: w.createdAt })) }
  })

  // A new workspace: a global admin key, or an owner (who becomes the new workspace's owner).
  app.post('/api/v1/workspaces', async (req, reply) => {
    const { principal } = await auth.admin(req, 'write:workspace')
    if (principal.kind === 'key' && principal.boundWorkspaceId !== null) {
      throw new KindredError('FORBIDDEN', 'only a key for every workspace can create workspaces')
    }
    const body = jsonBody(req, createWorkspaceSchema)
    const workspace = await db.transaction(async (tx) => {
      if (await workspacesRepository.get(tx, body.id)) {
        throw new KindredError('CONFLICT', `workspace "${body.id}" already exists`)
      }
      const ws = await workspacesRepository.create(tx, body.id, body.name)
      if (principal.kind === 'user') await usersRepository.setRole(tx, ws.id, principal.id, 'owner')
      await writeAudit(
        tx,
        req,
        {
          action: 'workspace.create',
          workspaceId: ws.id,
          target: { type: 'workspace', id: ws.id },
          after: { id: ws.id, name: ws.name },
          status: 201,
        },
        ctx.clock,
      )
      return ws
    })
    return reply
      .code(201)
      .send({ id: workspace.id, name: workspace.name, createdAt: workspace.createdAt })
  })

  // Deleting a workspace: owners only, named twice (path and `confirm`), never `default` (it is
  // recreated on every start). Every row carrying its workspace_id goes, in one transaction; the
  // audit log stays (history outlives what it describes).
  app.delete('/api/v1/workspaces/:id', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, 'write:workspace')
    const { id } = parseQuery(idParams, req.params)
    if (id !== workspaceId) {
      throw new KindredError(
        'FORBIDDEN',
        `send "X-Kindred-Workspace: ${id}" to act on workspace ${id}`,
      )
    }
    const body = jsonBody(req, z.object({ confirm: z.string().max(100) }))
    if (body.confirm !== id) {
      throw new KindredError('VALIDATION_FAILED', `confirm by sending { "confirm": "${id}" }`)
    }
    if (id === DEFAULT_WORKSPACE_ID) {
      throw new KindredError('CONFLICT', 'the default workspace cannot be deleted')
    }
    await db.transaction(async (tx) => {
      const before = await workspacesRepository.get(tx, id)
      if (!before) throw notFound(`workspace ${id}`)
      for (const table of await workspaceTablesInDeleteOrder(tx)) {
        await tx.query(`DELETE FROM "${table}" WHERE workspace_id = $1`, [id])
      }
      await tx.query('DELETE FROM workspaces WHERE id = $1', [id])
      await writeAudit(
        tx,
        req,
        {
          action: 'workspace.delete',
          target: { type: 'workspace', id },
          before,
          status: 204,
        },
        ctx.clock,
      )
    })
    auth.invalidate()
    return reply.code(204).send()
  })

  // The vocabulary, for the console's key form and for scripts.
  app.get('/api/v1/scopes', async (req) => {
    await auth.admin(req, null)
    return {
      data: Object.entries(scopeCatalog).map(([scope, description]) => ({ scope, description })),
      roles: roleScopes,
    }
  })

  // ---- members ---------------------------------------------------------------------------------

  app.get('/api/v1/users', async (req) => {
    const { workspaceId } = await auth.admin(req, 'read:users')
    return { data: await usersRepository.listMembers(db, workspaceId) }
  })

  app.post('/api/v1/users', async (req, reply) => {
    const { workspaceId, principal } = await auth.admin(req, 'write:users')
    const body = jsonBody(req, createUserSchema)
    assertCanGrant(principal, roleScopes[body.role], `make someone ${body.role}`)
    const passwordHash = body.password === undefined ? undefined : await hashPassword(body.password)
    // An account is added to a workspace only with its password, like a sign-in (and counted by
    // the sign-in throttle): a workspace admin cannot pull someone into their workspace. Both
    // failures (a wrong password, or no password) give one answer whether the e-mail has an
    // account or not, so the messages tell nothing about who has an account here.
    if (passwordHash === undefined || body.password === undefined) {
      throw new KindredError(
        'VALIDATION_FAILED',
        `give the member's password (at least ${PASSWORD_MIN_LENGTH} characters): a new account gets it, an existing one is added only with its own`,
      )
    }
    const given = body.password
    const existing = (await usersRepository.findByEmail(db, body.email))?.user
    if (existing && !(await usersRepository.role(db, workspaceId, existing.id))) {
      const attempt = await throttle.begin(req.ip, body.email)
      const stored = await usersRepository.passwordHashOf(db, existing.id)
      if (!(await verifyPassword(given, stored ?? DUMMY_PASSWORD_HASH))) {
        throw new KindredError(
          'VALIDATION_FAILED',
          'this e-mail and password cannot be added: check both, or let the person add themselves',
        )
      }
      await attempt.succeeded()
    }
    const member = await db.transaction(async (tx) => {
      let user = (await usersRepository.findByEmail(tx, body.email))?.user
      if (user) {
        // Only an admin of this workspace gets here, who sees its members anyway.
        if (await usersRepository.role(tx, workspaceId, user.id)) {
          throw new KindredError(
            'CONFLICT',
            `${body.email} is already a member; change the role with PATCH /api/v1/users/${user.id}`,
          )
        }
        if (user.id !== existing?.id) {
          throw new KindredError('CONFLICT', 'the account changed meanwhile; try again')
        }
      } else {
        user = await usersRepository.insert(tx, {
          id: ctx.newId('user'),
          email: body.email,
          name: body.name ?? null,
          passwordHash,
        })
      }
      await usersRepository.setRole(tx, workspaceId, user.id, body.role)
      const m = { ...user, role: body.role }
      await writeAudit(
        tx,
        req,
        {
          action: 'user.create',
          target: { type: 'user', id: user.id },
          after: m,
          status: 201,
        },
        ctx.clock,
      )
      return m
    })
    return reply.code(201).send(member)
  })

  /** Role changes and removals: never leave a workspace without an owner. */
  async function changeMember(
    req: FastifyRequest,
    nextRole: () => UserRole | null,
  ): Promise<{ before: unknown; after: unknown }> {
    const { workspaceId, principal } = await auth.admin(req, 'write:users')
    const { id } = parseQuery(idParams, req.params)
    const next = nextRole()
    return db.transaction(async (tx) => {
      const owners = await usersRepository.lockOwners(tx, workspaceId)
      const member = await usersRepository.getMember(tx, workspaceId, id)
      if (!member) throw notFound(`member ${id}`)
      // Changing someone's role needs every scope of their current role and of the new one.
      assertCanGrant(principal, roleScopes[member.role], `change a ${member.role}`)
      if (next) assertCanGrant(principal, roleScopes[next], `make someone ${next}`)
      if (member.role === 'owner' && next !== 'owner' && owners.length <= 1) {
        throw new KindredError('CONFLICT', 'this is the last owner: make someone else owner first')
      }
      if (next) await usersRepository.setRole(tx, workspaceId, id, next)
      else await usersRepository.removeMember(tx, workspaceId, id)
      const after = next ? { ...member, role: next } : null
      await writeAudit(
        tx,
        req,
        {
          action: next ? 'user.update' : 'user.delete',
          target: { type: 'user', id },
          before: member,
          after,
          status: next ? 200 : 204,
        },
        ctx.clock,
      )
      return { before: member, after }
    })
  }

  app.patch('/api/v1/users/:id', async (req) => {
    return (await changeMember(req, () => jsonBody(req, patchUserSchema).role)).after
  })

  app.delete('/api/v1/users/:id', async (req, reply: FastifyReply) => {
    await changeMember(req, () => null)
    return reply.code(204).send()
  })

  // An owner or admin sets a new password for a member who lost theirs; all the member's sessions
  // end. A user belongs to every workspace of theirs with one password, so the caller must be able
  // to manage that user's role in each of those workspaces, not only in this one; and nobody
  // resets their own password here, where the current one is not asked for.
  app.post('/api/v1/users/:id/password', async (req) => {
    const { workspaceId, principal } = await auth.admin(req, 'write:users')
    const { id } = parseQuery(idParams, req.params)
    annotateAudit(req, { action: 'user.password.reset', target: { type: 'user', id } })
    const body = jsonBody(req, resetPasswordSchema)
    if (principal.kind === 'user' && principal.id === id) {
      throw new KindredError(
        'FORBIDDEN',
        'change your own password with POST /api/v1/me/password (it asks for the current one)',
      )
    }
    const member = await usersRepository.getMember(db, workspaceId, id)
    if (!member) throw notFound(`member ${id}`)
    const mine =
      principal.kind === 'user' ? await usersRepository.memberships(db, principal.id) : []
    /** The caller's scopes in workspace `ws` (none where a bound key or a user cannot act). */
    const scopesIn = (ws: string): readonly string[] => {
      if (principal.kind === 'key') {
        const everywhere = principal.boundWorkspaceId === null
        return everywhere || principal.boundWorkspaceId === ws ? principal.scopes : []
      }
      const role = mine.find((m) => m.workspaceId === ws)?.role
      return role ? roleScopes[role] : []
    }
    for (const m of await usersRepository.memberships(db, id)) {
      // Same rule as changing a role: every scope of the member's role, here in every workspace.
      // Other workspaces are not named: their ids are not this caller's to learn.
      const what =
        m.workspaceId === workspaceId
          ? `reset the password of a ${m.role}`
          : `reset this password: the user is also ${m.role} of another workspace, where you lack that role's rights`
      assertCanGrant({ scopes: scopesIn(m.workspaceId) }, roleScopes[m.role], what)
    }
    const passwordHash = await hashPassword(body.newPassword)
    const revokedSessions = await db.transaction(async (tx) => {
      if (!(await usersRepository.setPassword(tx, id, passwordHash))) throw notFound(`user ${id}`)
      return sessionsRepository.revokeAllOfUser(tx, id, ctx.clock())
    })
    return { id, email: member.email, revokedSessions }
  })

  // ---- API keys --------------------------------------------------------------------------------

  app.get('/api/v1/api-keys', async (req) => {
    const { workspaceId } = await auth.admin(req, 'read:api-keys')
    return { data: (await apiKeysRepository.list(db, workspaceId)).map(keyView) }
  })

  app.post('/api/v1/api-keys', async (req, reply) => {
    const { workspaceId, principal } = await auth.admin(req, 'write:api-keys')
    const body = jsonBody(req, createKeySchema)
    const scopes = [...new Set(body.scopes)]
    const unknown = scopes.filter((s) => !isKnownScope(s))
    if (unknown.length > 0) {
      throw new KindredError('VALIDATION_FAILED', `unknown scopes: ${unknown.join(', ')}`, {
        details: { unknown },
      })
    }
    const sourceIds = scopes.flatMap((s) => sourceOfScope(s) ?? [])
    if (sourceIds.length > 1) {
      throw new KindredError(
        'VALIDATION_FAILED',
        'a key may write to one source only: make one key per source',
      )
    }
    for (const id of sourceIds) {
      if (!(await sourcesRepository.get(db, workspaceId, id))) throw notFound(`source ${id}`)
    }
    assertCanGrant(principal, scopes, 'grant these scopes')
    const secret = newSecret('apiKey')
    const key = await db.transaction(async (tx) => {
      const k = await apiKeysRepository.insert(tx, {
        id: ctx.newId('apiKey'),
        workspaceId,
        name: body.name,
        keyHash: hashSecret(secret),
        keyPrefix: secretPrefix(secret),
        scopes,
        createdBy: actorRef(principal),
      })
      await writeAudit(
        tx,
        req,
        {
          action: 'api-key.create',
          target: { type: 'api-key', id: k.id },
          after: keyView(k),
          status: 201,
        },
        ctx.clock,
      )
      return k
    })
    // The secret is shown once: only its hash is stored.
    return reply.code(201).send({ ...keyView(key), secret })
  })

  app.delete('/api/v1/api-keys/:id', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, 'write:api-keys')
    const { id } = parseQuery(idParams, req.params)
    await db.transaction(async (tx) => {
      const key = await apiKeysRepository.get(tx, workspaceId, id)
      if (!key) throw notFound(`API key ${id}`)
      await apiKeysRepository.revoke(tx, workspaceId, id, ctx.clock())
      await writeAudit(
        tx,
        req,
        {
          action: 'api-key.delete',
          target: { type: 'api-key', id },
          before: keyView(key),
          status: 204,
        },
        ctx.clock,
      )
    })
    auth.invalidate()
    return reply.code(204).send()
  })

  // ---- keys for every workspace ------------------------------------------------------------------

  // The admin token (KINDRED_ADMIN_TOKEN, or the one generated on first start) and its
  // predecessors reach every workspace, so no workspace's key API lists them. Only callers with
  // the same reach manage them: a key for every workspace, or an owner of the default workspace
  // (the instance's own).
  async function globalKeyAdmin(req: FastifyRequest): Promise<Principal> {
    const { principal } = await auth.admin(req, 'admin')
    const allowed =
      principal.kind === 'key'
        ? principal.boundWorkspaceId === null
        : (await usersRepository.role(db, DEFAULT_WORKSPACE_ID, principal.id)) === 'owner'
    if (!allowed) {
      throw new KindredError(
        'FORBIDDEN',
        'only a key for every workspace or an owner of the default workspace manages these keys',
      )
    }
    return principal
  }
  const globalKeyView = (k: ApiKey) => ({ ...keyView(k), origin: k.origin })

  app.get('/api/v1/global-keys', async (req) => {
    await globalKeyAdmin(req)
    return { data: (await apiKeysRepository.listGlobal(db)).map(globalKeyView) }
  })

  app.delete('/api/v1/global-keys/:id', async (req, reply) => {
    await globalKeyAdmin(req)
    const { id } = parseQuery(idParams, req.params)
    await db.transaction(async (tx) => {
      const key = await apiKeysRepository.getGlobal(tx, id)
      if (!key) throw notFound(`global key ${id}`)
      await apiKeysRepository.revokeGlobal(tx, id, ctx.clock())
      // Never locks the instance out: another global admin key has to remain (rotate
      // KINDRED_ADMIN_TOKEN, or use `kindred token revoke` on the host).
      const left = await apiKeysRepository.listGlobal(tx)
      if (key.scopes.includes('admin') && !left.some((k) => k.scopes.includes('admin'))) {
        throw new KindredError(
          'CONFLICT',
          'this is the last admin key: set a new KINDRED_ADMIN_TOKEN and restart, which revokes the old one',
        )
      }
      await writeAudit(
        tx,
        req,
        {
          action: 'global-key.delete',
          workspaceId: null,
          target: { type: 'api-key', id },
          before: globalKeyView(key),
          status: 204,
        },
        ctx.clock,
      )
    })
    auth.invalidate()
    return reply.code(204).send()
  })

  // ---- audit log -------------------------------------------------------------------------------

  app.get('/api/v1/audit', async (req) => {
    const { workspaceId, principal } = await auth.admin(req, 'read:audit')
    const q = parseQuery(auditQuery, req.query)
    const rows = await auditRepository.list(db, {
      workspaceId,
      // Sign-ins belong to no workspace; only a key for every workspace sees them.
      includeGlobal: principal.kind === 'key' && principal.boundWorkspaceId === null,
      beforeId: q.cursor,
      actorId: q.actor,
      action: q.action,
      since: q.since === undefined ? undefined : new Date(q.since),
      until: q.until === undefined ? undefined : new Date(q.until),
      limit: q.limit + 1,
    })
    const page = rows.slice(0, q.limit)
    return {
      data: page,
      nextCursor: rows.length > q.limit ? (page[page.length - 1]?.id ?? null) : null,
    }
  })
}
