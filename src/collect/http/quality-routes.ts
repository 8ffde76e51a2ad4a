/**
 * Data quality and PII API: tracking plans per source, their
 * violations, the quarantine and its replay, and the workspace's PII settings.
 */
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { MAX_JSON_DEPTH, nestsDeeperThan, stringifyTotal } from '../../protocol/index.js'
import { cursorCodec, cursorField } from '../../protocol/cursor.js'
import type { KindredEvent } from '../../protocol/event-schema.js'
import { piiSettingsSchema } from '../../govern/core/index.js'
import { compilePlan, trackingPlanSchema, type Violation } from '../core/tracking-plan.js'
import { deletePlan, getPlan, savePlan } from '../engine/tracking-plans.js'
import { qualityRepository, type QuarantinedEvent } from '../engine/quality-repository.js'
import { sourcesRepository } from '../../platform/store/repositories/sources-repository.js'
import type { RouteModule } from '../../platform/http/app.js'
import type { Auth } from '../../platform/http/auth.js'
import type { AppContext } from '../../platform/http/context.js'
import { jsonBody, notFound, parseQuery } from '../../platform/http/http-helpers.js'
import { savePiiSettings } from '../../govern/index.js'
import { loadPiiSettings, piiPoliciesFor } from '../../govern/index.js'

const DAY_MS = 86_400_000
/** Events appended to the log per replay record (the log's own batch limit). */
const REPLAY_CHUNK = 500

const violationsQuery = z.object({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  event: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
})
const quarantineQuery = z.object({
  cursor: z.string().max(2000).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  reason: z.enum(['plan', 'poison']).optional(),
})
const replayBody = z.object({
  messageIds: z.array(z.string().min(1).max(1024)).min(1).max(5_000).optional(),
  limit: z.number().int().min(1).max(5_000).default(1_000),
})
// Strict: a misspelt key must be a 400, not a silent reset of the settings to their defaults.
const putPiiBody = z.strictObject({
  ...piiSettingsSchema.shape,
  // Write-only: omitted keeps the stored salt, null removes it.
  hashSalt: z.string().min(8).max(200).nullable().optional(),
})

/** Quarantine pages are ordered by `[quarantinedAt, messageId]`. */
const cursor = cursorCodec(cursorField.timestamp(), cursorField.text(2000))

function registerQualityRoutes(app: FastifyInstance, ctx: AppContext, auth: Auth): void {
  async function sourceOf(workspaceId: string, id: string) {
    const source = await sourcesRepository.get(ctx.db, workspaceId, id)
    if (!source) throw notFound(`source ${id}`)
    return source
  }

  app.get<{ Params: { id: string } }>('/api/v1/sources/:id/tracking-plan', async (req) => {
    const { workspaceId } = await auth.admin(req, 'read:tracking-plans')
    await sourceOf(workspaceId, req.params.id)
    const stored = await getPlan(ctx.db, workspaceId, req.params.id)
    // No plan yet: version 0, checks nothing, so the console can start from it.
    return (
      stored ?? {
        sourceId: req.params.id,
        version: 0,
        plan: trackingPlanSchema.parse({ mode: 'allow' }),
        updatedAt: null,
      }
    )
  })

  app.put<{ Params: { id: string } }>('/api/v1/sources/:id/tracking-plan', async (req) => {
    const { workspaceId } = await auth.admin(req, 'write:tracking-plans')
    const plan = jsonBody(req, trackingPlanSchema)
    await sourceOf(workspaceId, req.params.id)
    // A schema that is not JSON Schema is refused here (PlanSchemaError), not at ingest.
    compilePlan(plan, 0)
    return savePlan(ctx.db, workspaceId, req.params.id, plan, ctx.clock())
  })

  app.delete<{ Params: { id: string } }>(
    '/api/v1/sources/:id/tracking-plan',
    async (req, reply) => {
      const { workspaceId } = await auth.admin(req, 'write:tracking-plans')
      await sourceOf(workspaceId, req.params.id)
      if (!(await deletePlan(ctx.db, workspaceId, req.params.id))) {
        throw notFound(`tracking plan of source ${req.params.id}`)
      }
      return reply.code(204).send()
    },
  )

  app.get<{ Params: { id: string } }>('/api/v1/sources/:id/violations', async (req) => {
    const { workspaceId } = await auth.admin(req, 'read:tracking-plans')
    const q = parseQuery(violationsQuery, req.query)
    await sourceOf(workspaceId, req.params.id)
    const to = q.to ? new Date(q.to) : ctx.clock()
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - 7 * DAY_MS)
    const summary = await qualityRepository.violationSummary(
      ctx.db,
      workspaceId,
      req.params.id,
      { from, to, event: q.event },
      q.limit,
    )
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      total: summary.byEvent.reduce((n, r) => n + r.count, 0),
      byEvent: summary.byEvent,
      byProperty: summary.byProperty,
      recent: summary.recent,
    }
  })

  app.get<{ Params: { id: string } }>('/api/v1/sources/:id/quarantine', async (req) => {
    const { workspaceId } = await auth.admin(req, 'read:tracking-plans')
    const q = parseQuery(quarantineQuery, req.query)
    const after = cursor.decode(q.cursor)
    await sourceOf(workspaceId, req.params.id)
    const page = await qualityRepository.quarantinePage(ctx.db, workspaceId, req.params.id, {
      reason: q.reason,
      after,
      limit: q.limit,
    })
    return {
      data: page.data.map((r) => ({
        messageId: r.messageId,
        reason: r.reason,
        type: r.type,
        event: r.event,
        payload: shownPayload(r),
        violations: r.violations,
        error: r.error,
        planVersion: r.planVersion,
        attempts: r.attempts,
        quarantinedAt: r.quarantinedAt,
        replayedAt: r.replayedAt,
      })),
      total: page.total,
      nextCursor: page.next ? cursor.encode(page.next) : null,
    }
  })

  /**
   * Re-validates quarantined events against the current plan and appends those that pass to the
   * event log with their messageId. The processor removes each from quarantine in the
   * transaction that applies it, so a replay is applied once even if it is asked for twice. A
   * replay whose append was lost (crash) is offered again after ten minutes.
   */
  app.post<{ Params: { id: string } }>('/api/v1/sources/:id/quarantine/replay', async (req) => {
    const { workspaceId } = await auth.admin(req, 'write:tracking-plans')
    const body = jsonBody(req, replayBody)
    const source = await sourceOf(workspaceId, req.params.id)
    const now = ctx.clock()
    const stored = await getPlan(ctx.db, workspaceId, source.id)
    const compiled = stored ? compilePlan(stored.plan, stored.version) : undefined
    const picked = await ctx.db.transaction(async (tx) => {
      const rows = await qualityRepository.pickForReplay(tx, workspaceId, source.id, {
        messageIds: body.messageIds,
        limit: body.limit,
        now,
      })
      const passing: KindredEvent[] = []
      const failing: Array<{ messageId: string; violations: Violation[] }> = []
      for (const r of rows) {
        const payload = r.payload as KindredEvent
        const verdict = compiled ? compiled.check(payload) : { action: 'pass' as const }
        if (verdict.action === 'quarantine') {
          failing.push({ messageId: r.messageId, violations: verdict.violations })
        } else passing.push(payload)
      }
      if (passing.length > 0) {
        await qualityRepository.markReplayed(
          tx,
          source.id,
          passing.map((e) => e.messageId),
          now,
        )
      }
      return { passing, failing }
    })
    for (let i = 0; i < picked.passing.length; i += REPLAY_CHUNK) {
      const events = picked.passing.slice(i, i + REPLAY_CHUNK)
      await ctx.eventLog.append({
        workspaceId,
        sourceId: source.id,
        receivedAt: now.toISOString(),
        events,
        eventsJson: stringifyTotal(events),
      })
    }
    return {
      replayed: picked.passing.length,
      stillFailing: picked.failing.length,
      failures: picked.failing.slice(0, 50),
      planVersion: compiled?.version ?? 0,
    }
  })

  app.get('/api/v1/privacy/pii', async (req) => {
    const { workspaceId } = await auth.admin(req, 'read:tracking-plans')
    const { hashSalt, ...rest } = await loadPiiSettings(ctx.db, workspaceId)
    return { ...rest, hasHashSalt: hashSalt !== undefined }
  })

  // Admins only (not editors, who maintain tracking plans): a short retention deletes the
  // workspace's older events, and hashing changes how identities link.
  app.put('/api/v1/privacy/pii', async (req) => {
    const { workspaceId } = await auth.admin(req, 'write:privacy')
    const body = jsonBody(req, putPiiBody)
    const saved = await savePiiSettings(ctx.db, workspaceId, body)
    piiPoliciesFor(ctx).invalidate(workspaceId)
    const { hashSalt, ...rest } = saved
    return { ...rest, hasHashSalt: hashSalt !== undefined }
  })
}

/**
 * The payload as the API shows it: the event, or its JSON text when it nests too deep to be
 * answered as JSON (a poison event kept aside from an old log).
 */
function shownPayload(row: Pick<QuarantinedEvent, 'payload' | 'payloadText'>): unknown {
  return nestsDeeperThan(row.payload, MAX_JSON_DEPTH) ? row.payloadText : row.payload
}

export function qualityRoutes(): RouteModule {
  return registerQualityRoutes
}
