/**
 * HTTP API of probabilistic matching: settings, runs (on demand), each run's merges and their
 * undo, and the review queue. See README.md "Identity review".
 */
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { KindredError } from '../../protocol/index.js'
import type { RouteModule } from '../../platform/http/app.js'
import { cursorCodec, cursorField } from '../../protocol/cursor.js'
import type { Auth } from '../../platform/http/auth.js'
import { jsonBody, notFound, parseQuery } from '../../platform/http/http-helpers.js'
import { annotateAudit } from '../../platform/http/audit.js'
import type { MatchingService } from '../engine/matching/matching-service.js'
import {
  listPairs,
  acceptPair,
  rejectPair,
  getPair,
  PAIR_STATUSES,
} from '../engine/matching/review.js'
import { undoRun } from '../engine/matching/run-undo.js'
import { getRun, listRuns } from '../engine/matching/runs.js'
import {
  loadMatchingSettings,
  matchingSettingsSchema,
  saveMatchingSettings,
} from '../engine/matching/matching-settings.js'

const READ = 'read:identity'
const WRITE = 'write:identity'

/** Review pages are ordered by `[probability, id]`. */
const cursor = cursorCodec(cursorField.number(), cursorField.text(100))

const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
})

export function matchingRoutes(service: MatchingService): RouteModule {
  return (app, _ctx, auth) => registerMatchingRoutes(app, auth, service)
}

function registerMatchingRoutes(app: FastifyInstance, auth: Auth, service: MatchingService): void {
  const { db } = service

  app.get('/api/v1/identity/matching/settings', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    const { settings, updatedAt } = await loadMatchingSettings(db, workspaceId)
    return { data: settings, updatedAt }
  })

  app.put('/api/v1/identity/matching/settings', async (req) => {
    const { workspaceId } = await auth.admin(req, WRITE)
    const settings = jsonBody(req, matchingSettingsSchema)
    const now = service.clock()
    await saveMatchingSettings(db, workspaceId, settings, now)
    return { data: settings, updatedAt: now.toISOString() }
  })

  app.post('/api/v1/identity/matching/runs', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, WRITE)
    // No options yet: an empty body or `{}`; anything else is a mistake worth a 400.
    jsonBody(req, z.strictObject({}))
    const run = await service.start(workspaceId, 'manual')
    if (run === undefined)
      throw new KindredError(
        'CONFLICT',
        'a matching run is already running in this workspace; poll GET /api/v1/identity/matching/runs',
      )
    return reply.code(202).send({ data: run })
  })

  app.get('/api/v1/identity/matching/runs', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    const q = parseQuery(
      z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }),
      req.query,
    )
    return { data: await listRuns(db, workspaceId, q.limit) }
  })

  app.get<{ Params: { id: string } }>('/api/v1/identity/matching/runs/:id', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    const run = await getRun(db, workspaceId, req.params.id)
    if (!run) throw notFound(`matching run ${req.params.id}`)
    return { data: run }
  })

  app.post<{ Params: { id: string } }>('/api/v1/identity/matching/runs/:id/cancel', async (req) => {
    const { workspaceId } = await auth.admin(req, WRITE)
    const r = await service.cancel(workspaceId, req.params.id)
    if (r.ok) return { data: r.run }
    if (r.reason === 'not_found') throw notFound(`matching run ${req.params.id}`)
    throw new KindredError(
      'CONFLICT',
      `matching run ${req.params.id} is already ${r.run.status}: nothing to cancel`,
      { details: { status: r.run.status } },
    )
  })

  // A run's merges: what it joined on its own, with the scores and explanations (merged or undone).
  app.get<{ Params: { id: string } }>('/api/v1/identity/matching/runs/:id/merges', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    const q = parseQuery(pageQuery, req.query)
    const run = await getRun(db, workspaceId, req.params.id)
    if (!run) throw notFound(`matching run ${req.params.id}`)
    const page = await listPairs(db, workspaceId, {
      runId: run.id,
      autoMerged: true,
      limit: q.limit,
      after: cursor.decode(q.cursor),
    })
    return {
      run,
      data: page.data,
      nextCursor: page.next === null ? null : cursor.encode(page.next),
    }
  })

  app.post<{ Params: { id: string } }>('/api/v1/identity/matching/runs/:id/undo', async (req) => {
    const { workspaceId, key } = await auth.admin(req, WRITE)
    jsonBody(req, z.strictObject({}))
    const out = await undoRun(service, workspaceId, req.params.id, key.id)
    // The audit row names the run and the counts, not the identifiers that moved.
    annotateAudit(req, {
      action: 'identity.matching.run.undo',
      target: { type: 'matching_run', id: out.run.id },
      after: {
        undone: out.undone.length,
        alreadyUndone: out.alreadyUndone,
        failed: out.failed.length,
      },
    })
    return { data: out }
  })

  app.get('/api/v1/identity/review', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    const q = parseQuery(
      pageQuery.extend({
        status: z.enum(PAIR_STATUSES).default('pending'),
        runId: z.string().min(1).max(100).optional(),
      }),
      req.query,
    )
    const page = await listPairs(db, workspaceId, {
      status: q.status,
      runId: q.runId,
      limit: q.limit,
      after: cursor.decode(q.cursor),
    })
    return {
      data: page.data,
      nextCursor: page.next === null ? null : cursor.encode(page.next),
    }
  })

  app.get<{ Params: { id: string } }>('/api/v1/identity/review/:id', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    const pair = await getPair(db, workspaceId, req.params.id)
    if (!pair) throw notFound(`review pair ${req.params.id}`)
    return { data: pair }
  })

  app.post<{ Params: { id: string } }>('/api/v1/identity/review/:id/accept', async (req) => {
    const { workspaceId, key } = await auth.admin(req, WRITE)
    const data = await acceptPair(db, workspaceId, req.params.id, {
      decidedBy: key.id,
      now: service.clock(),
      identitySettings: service.identitySettings,
      profileHooks: service.profileHooks,
    })
    return { data }
  })

  app.post<{ Params: { id: string } }>('/api/v1/identity/review/:id/reject', async (req) => {
    const { workspaceId, key } = await auth.admin(req, WRITE)
    const data = await rejectPair(db, workspaceId, req.params.id, {
      decidedBy: key.id,
      now: service.clock(),
    })
    return { data }
  })
}
