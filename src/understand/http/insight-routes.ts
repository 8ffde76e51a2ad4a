/**
 * Insights API (`/api/v1/insights`): run a definition (`POST /query`), list who converted or
 * dropped at a funnel step (`POST /query/profiles`, also needs `read:profiles`), saved insights
 * (list, create, get, update, delete, run: `POST /:id/query`), and the published JSON schema.
 * A result is JSON, or CSV with `Accept: text/csv` or `?format=csv`.
 *
 * Queries are reads, but POSTs: the audit hook would copy their answers into the log, so the
 * query routes record a summary instead (kind, backend, time), never the result.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { stringify } from 'csv-stringify/sync'
import { z } from 'zod'
import {
  insightCsv,
  insightDefinitionJsonSchema,
  INSIGHT_LIMITS,
  RFM_GROUPS,
  type InsightResult,
} from '../core/insights/index.js'
import {
  backendChoiceSchema,
  createInsight,
  deleteInsight,
  funnelProfiles,
  funnelProfilesSchema,
  getInsight,
  insightInputSchema,
  insightUpdateSchema,
  listInsights,
  runInsight,
  updateInsight,
  type InsightsDeps,
  type RunMeta,
} from '../engine/insights/insights-service.js'
import type { RouteModule } from '../../platform/http/app.js'
import { annotateAudit } from '../../platform/http/audit.js'
import { jsonBody, notFound, parseQuery } from '../../platform/http/http-helpers.js'

const READ = 'read:insights'
const WRITE = 'write:insights'

const backendSchema = backendChoiceSchema.optional()
const querySchema = z.object({ definition: z.unknown(), backend: backendSchema })
const runSavedSchema = z.object({ backend: backendSchema })
const formatQuery = z.object({ format: z.enum(['json', 'csv']).optional() })

function wantsCsv(req: FastifyRequest): boolean {
  const { format } = parseQuery(formatQuery, {
    format: (req.query as Record<string, unknown> | undefined)?.format,
  })
  if (format !== undefined) return format === 'csv'
  const accept = req.headers.accept ?? ''
  return /\btext\/csv\b/.test(accept) && !/\bapplication\/json\b/.test(accept)
}

function answer(
  req: FastifyRequest,
  reply: FastifyReply,
  out: { result: InsightResult; meta: RunMeta },
  filename: string,
) {
  annotateAudit(req, { after: { kind: out.result.kind, ...out.meta } })
  void reply.header('x-kindred-insight-backend', out.meta.backend)
  void reply.header('x-kindred-insight-ms', String(out.meta.elapsedMs))
  if (!wantsCsv(req)) return { result: out.result, meta: out.meta }
  const csv = stringify(insightCsv(out.result))
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${filename}.csv"`)
    .send(csv)
}

/** The routes, over the insights service's dependencies (built by the insights module). */
export function insightRoutes(d: InsightsDeps): RouteModule {
  return (app, ctx, auth) => {
    app.get('/api/v1/insights/schema', async (req) => {
      await auth.admin(req, READ)
      return { schema: insightDefinitionJsonSchema, limits: INSIGHT_LIMITS, rfmGroups: RFM_GROUPS }
    })

    app.post('/api/v1/insights/query', async (req, reply) => {
      const { workspaceId } = await auth.admin(req, READ)
      const input = jsonBody(req, querySchema)
      const out = await runInsight(d, workspaceId, input.definition, { backend: input.backend })
      return answer(req, reply, out, `insight-${out.result.kind}`)
    })

    app.post('/api/v1/insights/query/profiles', async (req) => {
      const { workspaceId } = await auth.admin(req, READ)
      await auth.admin(req, 'read:profiles')
      const input = jsonBody(req, funnelProfilesSchema)
      const page = await funnelProfiles(d, workspaceId, input)
      annotateAudit(req, {
        after: { step: page.step, outcome: page.outcome, profiles: page.profileIds.length },
      })
      return page
    })

    app.get('/api/v1/insights', async (req) => {
      const { workspaceId } = await auth.admin(req, READ)
      return { data: await listInsights(ctx.db, workspaceId) }
    })

    app.post('/api/v1/insights', async (req, reply) => {
      const { workspaceId } = await auth.admin(req, WRITE)
      const input = jsonBody(req, insightInputSchema)
      const saved = await createInsight(ctx.db, workspaceId, input, ctx.clock())
      return reply.code(201).send(saved)
    })

    app.get<{ Params: { id: string } }>('/api/v1/insights/:id', async (req) => {
      const { workspaceId } = await auth.admin(req, READ)
      const saved = await getInsight(ctx.db, workspaceId, req.params.id)
      if (saved === undefined) throw notFound(`insight ${req.params.id}`)
      return saved
    })

    app.put<{ Params: { id: string } }>('/api/v1/insights/:id', async (req) => {
      const { workspaceId } = await auth.admin(req, WRITE)
      const input = jsonBody(req, insightUpdateSchema)
      const changed = await updateInsight(ctx.db, workspaceId, req.params.id, input, ctx.clock())
      if (changed === undefined) throw notFound(`insight ${req.params.id}`)
      annotateAudit(req, { before: changed.before })
      return changed.after
    })

    app.delete<{ Params: { id: string } }>('/api/v1/insights/:id', async (req, reply) => {
      const { workspaceId } = await auth.admin(req, WRITE)
      const gone = await deleteInsight(ctx.db, workspaceId, req.params.id)
      if (gone === undefined) throw notFound(`insight ${req.params.id}`)
      annotateAudit(req, { before: gone })
      return reply.code(204).send()
    })

    app.post<{ Params: { id: string } }>('/api/v1/insights/:id/query', async (req, reply) => {
      const { workspaceId } = await auth.admin(req, READ)
      const input = jsonBody(req, runSavedSchema)
      const saved = await getInsight(ctx.db, workspaceId, req.params.id)
      if (saved === undefined) throw notFound(`insight ${req.params.id}`)
      // Parsed again: a stored definition meets today's schema and limits like a new one.
      const out = await runInsight(d, workspaceId, saved.definition, { backend: input.backend })
      return answer(req, reply, out, saved.id)
    })
  }
}
