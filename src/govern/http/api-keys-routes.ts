/**
 * Scoped API keys of a workspace, and the keys for every workspace (the admin token and its
 * predecessors), which only callers with the same reach may list or revoke. A key's secret is
 * shown once: only its hash is stored.
 * @module
 */
import type { FastifyRequest } from 'fastify'
import { z } from 'zod'
import { KindredError } from '../../protocol/errors.js'
import { isKnownScope, sourceOfScope } from '../../protocol/scopes.js'
import { hashSecret, newSecret, secretPrefix } from '../../platform/store/ids.js'
import {
  apiKeysRepository,
  type ApiKey,
} from '../../platform/store/repositories/api-keys-repository.js'
import { sourcesRepository } from '../../platform/store/repositories/sources-repository.js'
import { usersRepository } from '../../platform/store/repositories/users-repository.js'
import { DEFAULT_WORKSPACE_ID } from '../../platform/store/repositories/workspaces-repository.js'
import type { RouteModule } from '../../platform/http/app.js'
import { writeAudit } from '../../platform/http/audit.js'
import type { Principal } from '../../platform/http/auth.js'
import { jsonBody, notFound, parseQuery } from '../../platform/http/http-helpers.js'
import { assertCanGrant } from '../core/grants.js'

const createKeySchema = z.object({
  name: z.string().trim().min(1).max(200),
  scopes: z.array(z.string().min(1).max(100)).min(1).max(40),
})
const idParams = z.object({ id: z.string().min(1).max(100) })

const actorRef = (p: Principal) => `${p.kind}:${p.id}`
const keyView = (k: ApiKey) => ({
  id: k.id,
  name: k.name,
  keyPrefix: k.keyPrefix,
  scopes: k.scopes,
  createdAt: k.createdAt,
  createdBy: k.createdBy,
})
const globalKeyView = (k: ApiKey) => ({ ...keyView(k), origin: k.origin })

export function apiKeysRoutes(): RouteModule {
  return (app, ctx, auth) => {
    const { db } = ctx

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
  }
}
