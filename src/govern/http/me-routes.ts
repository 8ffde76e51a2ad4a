/**
 * The caller: `/me` (workspace, scopes, role and memberships) and changing one's own password.
 * @module
 */
import { z } from 'zod'
import { KindredError } from '../../protocol/errors.js'
import type { UserRole } from '../../protocol/scopes.js'
import {
  usersRepository,
  type Membership,
  type User,
} from '../../platform/store/repositories/users-repository.js'
import { sessionsRepository } from '../../platform/store/repositories/sessions-repository.js'
import { workspacesRepository } from '../../platform/store/repositories/workspaces-repository.js'
import type { Queryable } from '../../platform/store/db.js'
import type { RouteModule } from '../../platform/http/app.js'
import { annotateAudit } from '../../platform/http/audit.js'
import { jsonBody, notFound } from '../../platform/http/http-helpers.js'
import { createLoginThrottle } from '../engine/login-throttle.js'
import {
  PASSWORD_MAX_LENGTH,
  hashPassword,
  newPasswordSchema,
  verifyPassword,
} from '../engine/passwords.js'

const changePasswordSchema = z
  .object({
    currentPassword: z.string().min(1).max(PASSWORD_MAX_LENGTH),
    newPassword: newPasswordSchema,
  })
  .refine((b) => b.newPassword !== b.currentPassword, {
    message: 'the new password must differ from the current one',
    path: ['newPassword'],
  })

/** A user and the workspaces they belong to, as sign-in and `/me` answer. */
export interface UserAndWorkspaces {
  user: User
  workspaces: Membership[]
}

export async function meOf(db: Queryable, user: User): Promise<UserAndWorkspaces> {
  return { user, workspaces: await usersRepository.memberships(db, user.id) }
}

/**
 * What `GET /api/v1/me` answers: the workspace in use and the caller's scopes in it; an API key
 * adds its id, a signed-in user their role here, their account and their workspaces. One shape
 * with optional parts rather than a union, because the console reads it before it knows which.
 */
export interface MeView extends Partial<UserAndWorkspaces> {
  workspace: { id: string; name: string }
  scopes: readonly string[]
  kind: 'key' | 'user'
  keyId?: string
  role?: UserRole
}

export function meRoutes(): RouteModule {
  return (app, ctx, auth) => {
    const { db } = ctx
    // In the database, not in memory: every node counts against the same buckets.
    const throttle = createLoginThrottle(db, ctx.clock, ctx.config.loginLimits)

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
          : { role: principal.role, ...(principal.user ? await meOf(db, principal.user) : {}) }),
      } satisfies MeView
    })

    // Changing one's own password: a session only (an API key has no password), the current
    // password checked and throttled like a sign-in (a stolen session must not become a way to
    // guess it), and every other session of the user ended with the change.
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
  }
}
