/**
 * Workspaces: the list a caller may act on, creating one (a key for every workspace, or an owner
 * who becomes its owner), deleting one, and the scopes-and-roles vocabulary.
 * @module
 */
import { z } from 'zod'
import { KindredError } from '../../protocol/errors.js'
import { roleScopes, scopeCatalog } from '../../protocol/scopes.js'
import { usersRepository } from '../../platform/store/repositories/users-repository.js'
import { workspacesRepository } from '../../platform/store/repositories/workspaces-repository.js'
import type { RouteModule } from '../../platform/http/app.js'
import { writeAudit } from '../../platform/http/audit.js'
import { jsonBody, parseQuery } from '../../platform/http/http-helpers.js'
import { eraseWorkspace } from '../engine/workspace-erase.js'

const idParams = z.object({ id: z.string().min(1).max(100) })
const createWorkspaceSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'lower-case letters, digits and dashes'),
  name: z.string().trim().min(1).max(200),
})
const deleteWorkspaceSchema = z.object({ confirm: z.string().max(100) })

export function workspacesRoutes(): RouteModule {
  return (app, ctx, auth) => {
    const { db } = ctx

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
        if (principal.kind === 'user') {
          await usersRepository.setRole(tx, ws.id, principal.id, 'owner')
        }
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

    // Deleting a workspace: owners only, named twice (path and `confirm`), never `default`.
    // Everything goes in one transaction with its audit row (govern/engine/workspace-erase.ts).
    app.delete('/api/v1/workspaces/:id', async (req, reply) => {
      const { workspaceId } = await auth.admin(req, 'write:workspace')
      const { id } = parseQuery(idParams, req.params)
      if (id !== workspaceId) {
        throw new KindredError(
          'FORBIDDEN',
          `send "X-Kindred-Workspace: ${id}" to act on workspace ${id}`,
        )
      }
      const body = jsonBody(req, deleteWorkspaceSchema)
      if (body.confirm !== id) {
        throw new KindredError('VALIDATION_FAILED', `confirm by sending { "confirm": "${id}" }`)
      }
      await db.transaction(async (tx) => {
        const before = await eraseWorkspace(tx, id)
        await writeAudit(
          tx,
          req,
          { action: 'workspace.delete', target: { type: 'workspace', id }, before, status: 204 },
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
  }
}
