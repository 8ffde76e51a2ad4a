/**
 * Workspace members: listing, adding (a new account, or an existing one with its password),
 * changing roles, removing, and an admin's reset of a member's password. Nobody grants a role
 * whose scopes they lack, and no workspace is left without an owner.
 * @module
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { KindredError } from '../../protocol/errors.js'
import { roleScopes, userRoles, type UserRole } from '../../protocol/scopes.js'
import { sessionsRepository } from '../../platform/store/repositories/sessions-repository.js'
import { usersRepository } from '../../platform/store/repositories/users-repository.js'
import type { RouteModule } from '../../platform/http/app.js'
import { annotateAudit, writeAudit } from '../../platform/http/audit.js'
import { jsonBody, notFound, parseQuery } from '../../platform/http/http-helpers.js'
import { assertCanGrant, defaultMemberRole } from '../core/grants.js'
import { createLoginThrottle } from '../engine/login-throttle.js'
import {
  DUMMY_PASSWORD_HASH,
  PASSWORD_MIN_LENGTH,
  hashPassword,
  newPasswordSchema,
  verifyPassword,
} from '../engine/passwords.js'

const role = z.enum(userRoles)
const createUserSchema = z.object({
  email: z.string().trim().toLowerCase().email().max(320),
  password: newPasswordSchema.optional(),
  name: z.string().trim().min(1).max(200).optional(),
  /** Default: owner while the workspace has none, else viewer (`defaultMemberRole`). */
  role: role.optional(),
})
const patchUserSchema = z.object({ role })
const resetPasswordSchema = z.object({ newPassword: newPasswordSchema })
const idParams = z.object({ id: z.string().min(1).max(100) })

export function membersRoutes(): RouteModule {
  return (app, ctx, auth) => {
    const { db } = ctx
    // In the database, not in memory: every node counts against the same buckets.
    const throttle = createLoginThrottle(db, ctx.clock, ctx.config.loginLimits)

    app.get('/api/v1/users', async (req) => {
      const { workspaceId } = await auth.admin(req, 'read:users')
      return { data: await usersRepository.listMembers(db, workspaceId) }
    })

    app.post('/api/v1/users', async (req, reply) => {
      const { workspaceId, principal } = await auth.admin(req, 'write:users')
      const body = jsonBody(req, createUserSchema)
      const newRole =
        body.role ??
        defaultMemberRole((await usersRepository.lockOwners(db, workspaceId)).length > 0)
      assertCanGrant(principal, roleScopes[newRole], `make someone ${newRole}`)
      const passwordHash =
        body.password === undefined ? undefined : await hashPassword(body.password)
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
        await usersRepository.setRole(tx, workspaceId, user.id, newRole)
        const m = { ...user, role: newRole }
        await writeAudit(
          tx,
          req,
          { action: 'user.create', target: { type: 'user', id: user.id }, after: m, status: 201 },
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
          throw new KindredError(
            'CONFLICT',
            'this is the last owner: make someone else owner first',
          )
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

    // An owner or admin sets a new password for a member who lost theirs; all the member's
    // sessions end. A user belongs to every workspace of theirs with one password, so the caller
    // must be able to manage that user's role in each of those workspaces, not only in this one;
    // and nobody resets their own password here, where the current one is not asked for.
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
        // Same rule as changing a role: every scope of the member's role, here in every
        // workspace. Other workspaces are not named: their ids are not this caller's to learn.
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
  }
}
