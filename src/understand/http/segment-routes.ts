/**
 * Segments API (`/api/v1/segments`): list with sizes, create (validated, cycle-checked, batch
 * backfill), get, update (re-evaluates), delete, preview of an unsaved definition, members
 * (paged, and as a streamed CSV export), size over time, a profile's stays, and the published JSON schema of definitions.
 */
import { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { segmentDefinitionJsonSchema, SEGMENT_LIMITS } from '../core/segments/index.js'
import {
  createSegment,
  deleteSegment,
  getSegment,
  listSegments,
  membershipHistory,
  previewSegment,
  segmentInputSchema,
  segmentMembers,
  segmentSizes,
  segmentUpdateSchema,
  updateSegment,
} from '../engine/segments/segments-service.js'
import type { StoredSegment } from '../engine/segments/definitions.js'
import { segmentMembersCsv } from '../engine/segments/member-export.js'
import type { RouteModule } from '../../platform/http/app.js'
import type { Auth } from '../../platform/http/auth.js'
import type { AppContext } from '../../platform/http/context.js'
import { jsonBody, notFound, parseQuery } from '../../platform/http/http-helpers.js'

const READ = 'read:segments'
const WRITE = 'write:segments'

export function segmentView(s: StoredSegment & { size: number }) {
  return {
    id: s.id,
    name: s.name,
    description: s.description,
    definition: s.definition,
    status: s.status,
    version: s.version,
    timeDependent: s.timeDependent,
    dependencies: s.deps,
    size: s.size,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    lastEvaluatedAt: s.lastEvaluatedAt,
  }
}

const previewSchema = z.object({
  definition: z.unknown(),
  sampleSize: z.number().int().min(0).max(100).optional(),
})
const membersQuery = z.object({
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
})

function registerSegmentRoutes(app: FastifyInstance, ctx: AppContext, auth: Auth): void {
  const { db } = ctx

  app.get('/api/v1/segments/schema', async (req) => {
    await auth.admin(req, READ)
    return { schema: segmentDefinitionJsonSchema, limits: SEGMENT_LIMITS }
  })

  app.get('/api/v1/segments', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    return { data: (await listSegments(db, workspaceId)).map(segmentView) }
  })

  app.post('/api/v1/segments', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, WRITE)
    const input = jsonBody(req, segmentInputSchema)
    const seg = await createSegment(db, workspaceId, input, ctx.clock())
    return reply.code(201).send(segmentView(seg))
  })

  app.post('/api/v1/segments/preview', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    const input = jsonBody(req, previewSchema)
    return previewSegment(db, workspaceId, input.definition, ctx.clock(), input.sampleSize ?? 20)
  })

  app.get<{ Params: { id: string } }>('/api/v1/segments/:id', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    const seg = await getSegment(db, workspaceId, req.params.id)
    if (seg === undefined) throw notFound(`segment ${req.params.id}`)
    return segmentView(seg)
  })

  app.put<{ Params: { id: string } }>('/api/v1/segments/:id', async (req) => {
    const { workspaceId } = await auth.admin(req, WRITE)
    const input = jsonBody(req, segmentUpdateSchema)
    const seg = await updateSegment(db, workspaceId, req.params.id, input, ctx.clock())
    if (seg === undefined) throw notFound(`segment ${req.params.id}`)
    return segmentView(seg)
  })

  app.delete<{ Params: { id: string } }>('/api/v1/segments/:id', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, WRITE)
    if (!(await deleteSegment(db, workspaceId, req.params.id)))
      throw notFound(`segment ${req.params.id}`)
    return reply.code(204).send()
  })

  app.get<{ Params: { id: string } }>('/api/v1/segments/:id/members', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    const { cursor, limit } = parseQuery(membersQuery, req.query)
    if ((await getSegment(db, workspaceId, req.params.id)) === undefined)
      throw notFound(`segment ${req.params.id}`)
    return segmentMembers(db, workspaceId, req.params.id, cursor, limit)
  })

  app.get<{ Params: { id: string } }>('/api/v1/segments/:id/members/export', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, READ)
    if ((await getSegment(db, workspaceId, req.params.id)) === undefined)
      throw notFound(`segment ${req.params.id}`)
    // The file name is the id made filename-safe; the id itself may hold any characters.
    const file = req.params.id.replace(/[^A-Za-z0-9_-]/g, '_')
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="kindred-segment-${file}.csv"`)
      .send(Readable.from(segmentMembersCsv(db, workspaceId, req.params.id)))
  })

  app.get<{ Params: { id: string } }>('/api/v1/segments/:id/sizes', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    if ((await getSegment(db, workspaceId, req.params.id)) === undefined)
      throw notFound(`segment ${req.params.id}`)
    return { data: await segmentSizes(db, workspaceId, req.params.id) }
  })

  app.get<{ Params: { id: string; profileId: string } }>(
    '/api/v1/segments/:id/members/:profileId/history',
    async (req) => {
      const { workspaceId } = await auth.admin(req, READ)
      if ((await getSegment(db, workspaceId, req.params.id)) === undefined)
        throw notFound(`segment ${req.params.id}`)
      return {
        data: await membershipHistory(db, workspaceId, req.params.id, req.params.profileId),
      }
    },
  )
}

export function segmentRoutes(): RouteModule {
  return registerSegmentRoutes
}
