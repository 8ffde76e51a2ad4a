/**
 * Computed traits API (`/api/v1/computed-traits`): list, create (SQL backfill), get, update
 * (backfill + re-evaluation of the segments reading it), delete, preview of an unsaved
 * definition on a sample of profiles, and the published JSON schema of definitions.
 */
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { computedTraitDefinitionJsonSchema } from '../core/computed-traits/index.js'
import {
  computedTraitInputSchema,
  computedTraitUpdateSchema,
  createComputedTrait,
  deleteComputedTrait,
  previewComputedTrait,
  updateComputedTrait,
} from '../engine/segments/segments-service.js'
import {
  loadComputedTrait,
  loadComputedTraits,
  type StoredComputedTrait,
} from '../engine/segments/definitions.js'
import type { RouteModule } from '../../platform/http/app.js'
import type { Auth } from '../../platform/http/auth.js'
import type { AppContext } from '../../platform/http/context.js'
import { jsonBody, notFound } from '../../platform/http/http-helpers.js'

const READ = 'read:segments'
const WRITE = 'write:segments'

export function computedTraitView(c: StoredComputedTrait & { profiles?: number }) {
  return {
    id: c.id,
    name: c.name,
    description: c.description,
    definition: c.definition,
    status: c.status,
    version: c.version,
    timeDependent: c.deps.timeDependent,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    ...(c.profiles === undefined ? {} : { profiles: c.profiles }),
  }
}

const previewSchema = z.object({
  definition: z.unknown(),
  sampleSize: z.number().int().min(1).max(100).optional(),
})

function registerComputedTraitRoutes(app: FastifyInstance, ctx: AppContext, auth: Auth): void {
  const { db } = ctx

  app.get('/api/v1/computed-traits/schema', async (req) => {
    await auth.admin(req, READ)
    return { schema: computedTraitDefinitionJsonSchema }
  })

  app.get('/api/v1/computed-traits', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    return { data: (await loadComputedTraits(db, workspaceId)).map((c) => computedTraitView(c)) }
  })

  app.post('/api/v1/computed-traits', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, WRITE)
    const input = jsonBody(req, computedTraitInputSchema)
    const ct = await createComputedTrait(db, workspaceId, input, ctx.clock())
    return reply.code(201).send(computedTraitView(ct))
  })

  app.post('/api/v1/computed-traits/preview', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    const input = jsonBody(req, previewSchema)
    return previewComputedTrait(db, workspaceId, input.definition, ctx.clock(), input.sampleSize)
  })

  app.get<{ Params: { id: string } }>('/api/v1/computed-traits/:id', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    const ct = await loadComputedTrait(db, workspaceId, req.params.id)
    if (ct === undefined) throw notFound(`computed trait ${req.params.id}`)
    return computedTraitView(ct)
  })

  app.put<{ Params: { id: string } }>('/api/v1/computed-traits/:id', async (req) => {
    const { workspaceId } = await auth.admin(req, WRITE)
    const input = jsonBody(req, computedTraitUpdateSchema)
    const ct = await updateComputedTrait(db, workspaceId, req.params.id, input, ctx.clock())
    if (ct === undefined) throw notFound(`computed trait ${req.params.id}`)
    return computedTraitView(ct)
  })

  app.delete<{ Params: { id: string } }>('/api/v1/computed-traits/:id', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, WRITE)
    if (!(await deleteComputedTrait(db, workspaceId, req.params.id)))
      throw notFound(`computed trait ${req.params.id}`)
    return reply.code(204).send()
  })
}

export function computedTraitRoutes(): RouteModule {
  return registerComputedTraitRoutes
}
